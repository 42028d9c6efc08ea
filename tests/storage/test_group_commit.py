"""data.ingest.GroupCommit: concurrent batches share transactions, each caller
gets its own ids once committed, and a bad batch fails only its own caller."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import event, func, select, text

from data.ingest import GroupCommit, event_row
from data.models import EVENTS, ROLLUPS
from tests.conftest import wait_until

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)


def batch(n: int, tag: str) -> list[dict[str, Any]]:
    return [event_row(T0, "gc", "tick", entity=tag, uid=f"{tag}-{i}", value=float(i)) for i in range(n)]


def test_batches_that_queue_behind_a_transaction_share_the_next_one_with_their_own_ids(db: Any) -> None:
    group = GroupCommit(db)
    results: dict[int, Any] = {}
    threads = [
        threading.Thread(target=lambda k=k: results.__setitem__(k, group.submit(batch(3, f"c{k}")))) for k in range(16)
    ]
    commits = []
    with db.write() as blocker:  # another writer: the first batch's transaction waits for it
        if db.dialect == "postgresql":  # (on SQLite the process's write lock already does)
            blocker.execute(text("LOCK TABLE events IN EXCLUSIVE MODE"))
        for t in threads:
            t.start()
        wait_until(lambda: len(group.queue) == 15, message="15 batches queued behind the first")
        event.listen(db.write_engine, "commit", lambda conn: commits.append(1))
    for t in threads:
        t.join()
    assert len(commits) == 3  # the blocker's, the first batch's, then the 15 that queued meanwhile, together
    ids = [i for r in results.values() for i in r.ids]
    assert len(results) == 16 and len(ids) == len(set(ids)) == 48 and all(len(r.stored) == 3 for r in results.values())
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(EVENTS)).scalar() == 48
        assert conn.execute(select(func.sum(ROLLUPS.c.count))).scalar() == 48
        for k, r in results.items():  # each caller's ids are its own events
            stored = (
                conn.execute(select(EVENTS.c.uid).where(EVENTS.c.id.in_(r.ids)).order_by(EVENTS.c.id)).scalars().all()
            )
            assert stored == [f"c{k}-{i}" for i in range(3)]


def test_a_retried_uid_in_a_concurrent_batch_is_stored_once(db: Any) -> None:
    group = GroupCommit(db)
    start = threading.Barrier(8)
    out: list[Any] = []

    def send() -> None:
        start.wait()
        out.append(group.submit(batch(5, "same")))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(r.stored) for r in out) == 5 and sum(r.duplicates for r in out) == 35
    assert {tuple(r.ids) for r in out} == {tuple(out[0].ids)}


def test_a_bad_batch_fails_only_its_caller(db: Any) -> None:
    group = GroupCommit(db)
    bad = [dict(batch(1, "bad")[0], ts="not a time")]
    start = threading.Barrier(6)
    outcomes: dict[str, Any] = {}

    def send(name: str, events: list[dict[str, Any]]) -> None:
        start.wait()
        try:
            outcomes[name] = group.submit(events)
        except Exception as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=send, args=(f"ok{i}", batch(2, f"ok{i}"))) for i in range(5)]
    threads.append(threading.Thread(target=send, args=("bad", bad)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert isinstance(outcomes.pop("bad"), Exception)
    assert all(len(r.stored) == 2 for r in outcomes.values())
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(EVENTS)).scalar() == 10
