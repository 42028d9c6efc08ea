"""live.tail on its own over a real SQLite database: it publishes rows that
another connection or process commits, each once and in id order, from an
empty table, across stop and start, and at once when woken."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

import live.tail as tail_module
from data.db import Database
from data.ingest import event_row, ingest
from live.broker import Broker, Subscriber, parse_topics
from live.tail import Tail
from tests.conftest import ROOT, migrated, wait_until

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    with migrated(sqlite_url) as database:
        yield database


@pytest.fixture
def other(sqlite_url: str, db: Database) -> Iterator[Database]:
    """Another writer on the same file: its own engine, so its own connections."""
    database = Database(sqlite_url)
    yield database
    database.dispose()


@pytest.fixture
def make_tail(db: Database) -> Iterator[Any]:
    started: list[Tail] = []

    def factory(broker: Broker | None = None, poll_interval: float = 0.05) -> Tail:
        tail = Tail(db, broker or Broker(), poll_interval=poll_interval)
        started.append(tail)
        return tail

    yield factory
    for tail in started:
        tail.stop()


@pytest.fixture
def following(make_tail: Any) -> Any:
    """Factory: a tail over ``db`` with one subscriber to ``topic``, started unless told not to."""

    def factory(topic: str = "all", poll_interval: float = 0.05, start: bool = True) -> tuple[Tail, Subscriber]:
        tail = make_tail(poll_interval=poll_interval)
        sub = tail.broker.subscribe(parse_topics([topic]))
        if start:
            tail.start()
        return tail, sub

    return factory


def store(database: Database, n: int, tag: str = "t") -> list[int]:
    rows = [event_row(T0, "tail", "tick", entity=tag, value=float(i)) for i in range(n)]
    return ingest(database, rows).ids


def collect(sub: Subscriber, n: int) -> list[dict[str, Any]]:
    """Take from ``sub`` until ``n`` events have arrived (no more are asked for)."""
    got: list[dict[str, Any]] = []

    def enough() -> bool:
        events, overflowed = sub.take(timeout=0.05)
        assert not overflowed
        got.extend(events)
        return len(got) >= n

    wait_until(enough, message=f"{n} events from the tail")
    return got


def ids(events: list[dict[str, Any]]) -> list[int]:
    return [e["id"] for e in events]


def test_rows_committed_by_another_connection_are_published_once_in_order(other: Database, following: Any) -> None:
    tail, sub = following()
    stored: list[int] = []
    writers = [threading.Thread(target=lambda k=k: stored.extend(store(other, 25, f"w{k}"))) for k in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    events = collect(sub, 100)
    assert ids(events) == sorted(stored) == list(range(1, 101))
    first = events[0]
    assert first["source"] == "tail" and first["type"] == "tick" and first["value"] == 0.0
    assert first["ts"] == first["timestamp"] == T0.isoformat()
    # Nothing is repeated: what comes next is only the next commit.
    (nxt,) = store(other, 1)
    assert ids(collect(sub, 1)) == [nxt] == [101]
    assert tail.last_id == tail.broker.last_id == 101 and tail.broker.delivered == 101


def test_rows_committed_by_another_process_are_published(sqlite_url: str, following: Any) -> None:
    _, sub = following("source:other-process")
    script = (
        "import sys; from datetime import datetime, timezone; sys.path.insert(0, sys.argv[2])\n"
        "from data.db import Database; from data.ingest import event_row, ingest\n"
        "db = Database(sys.argv[1]); t = datetime(2026, 5, 1, tzinfo=timezone.utc)\n"
        "for k in range(3):\n"
        "    ingest(db, [event_row(t, 'other-process', 'p', value=float(k * 10 + j)) for j in range(10)])\n"
    )
    subprocess.run([sys.executable, "-c", script, sqlite_url, str(ROOT)], check=True, timeout=120)
    events = collect(sub, 30)
    assert ids(events) == list(range(1, 31))
    assert [e["value"] for e in events] == [float(v) for v in range(30)]


def test_an_empty_table_is_no_error_and_the_first_rows_arrive(other: Database, following: Any) -> None:
    tail, sub = following(start=False)
    assert tail.poll_once() == 0 and tail.last_id == 0  # before start, on an empty table
    tail.start()
    assert tail.running and tail.last_id == 0
    assert tail.poll_once() == 0
    assert store(other, 2) == [1, 2]
    assert ids(collect(sub, 2)) == [1, 2]


def test_it_starts_after_the_rows_already_stored(db: Database, other: Database, following: Any) -> None:
    store(db, 5)
    tail, sub = following()
    assert tail.last_id == tail.broker.last_id == 5
    assert store(other, 1) == [6]
    assert ids(collect(sub, 1)) == [6]  # the five old rows are not replayed


def test_with_no_subscriber_it_only_moves_the_mark(other: Database, make_tail: Any) -> None:
    tail = make_tail()
    broker = tail.broker
    store(other, 3)
    assert tail.poll_once() == 0
    assert tail.last_id == broker.last_id == 3 and broker.delivered == 0
    sub = broker.subscribe(parse_topics(["all"]))
    store(other, 2)
    assert tail.poll_once() == 2
    assert ids(sub.take(0)[0]) == [4, 5]  # a later subscriber starts from its arrival


def test_a_backlog_larger_than_one_batch_is_drained_on_one_wake(
    monkeypatch: pytest.MonkeyPatch, other: Database, following: Any, make_tail: Any
) -> None:
    monkeypatch.setattr(tail_module, "BATCH", 3)
    tail, sub = following(start=False)
    assert tail.poll_once() == 0
    store(other, 10)
    assert [tail.poll_once() for _ in range(5)] == [3, 3, 3, 1, 0]
    assert ids(sub.take(0)[0]) == list(range(1, 11))

    tail = make_tail(tail.broker, poll_interval=3600)  # only a wake makes it read
    tail.start()
    store(other, 10)
    tail.wake()
    assert ids(collect(sub, 10)) == list(range(11, 21))


def test_wake_publishes_at_once_without_waiting_for_the_poll(other: Database, following: Any) -> None:
    tail, sub = following(poll_interval=3600)  # an hour: the test's timeout passes first
    for expected in ([1, 2], [3, 4]):
        assert store(other, 2) == expected
        tail.wake()
        assert ids(collect(sub, 2)) == expected


def test_stop_ends_the_thread_and_start_resumes_from_what_is_stored_then(other: Database, following: Any) -> None:
    tail, sub = following()
    threads = list(tail._threads)
    store(other, 2)
    assert ids(collect(sub, 2)) == [1, 2]
    tail.stop()
    assert not tail.running and not any(t.is_alive() for t in threads)
    tail.stop()  # stopping twice is fine

    store(other, 3)  # committed while stopped: start() takes the stored mark (clients resync on reconnect)
    tail.start()
    assert tail.running and tail.last_id == 5
    assert store(other, 1) == [6]
    assert ids(collect(sub, 1)) == [6]
    assert tail.broker.delivered == 3


def test_each_subscriber_gets_its_topics_from_the_tail(other: Database, following: Any) -> None:
    tail, a = following("entity:a", start=False)
    b = tail.broker.subscribe(parse_topics(["entity:b"]))
    tail.start()
    store(other, 2, "a")
    store(other, 3, "b")
    store(other, 1, "a")
    assert ids(collect(a, 3)) == [1, 2, 6]
    assert ids(collect(b, 3)) == [3, 4, 5]
