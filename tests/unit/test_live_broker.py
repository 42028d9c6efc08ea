"""live.broker on its own: topics and what they match, bounded subscriber
queues and overflow, the subscriber cap, close, and each event encoded once."""

from __future__ import annotations

import threading
import types
from collections.abc import Callable
from typing import Any

import orjson
import pytest

import live.broker as broker_module
from live.broker import MAX_TOPICS, Broker, Subscriber, TooManyClients, TopicError, matches, parse_topics


def ev(event_id: int, type_: str = "scan", **fields: Any) -> dict[str, Any]:
    return {"id": event_id, "type": type_, **fields}


def ids(events: list[dict[str, Any]]) -> list[int]:
    return [e["id"] for e in events]


# ------------------------------------------------------------------ topics

MIXED = [
    ev(1, source="scanner"),
    ev(2, source="runner", session_id="sess_1"),
    ev(3, entity="MATLAB"),
    ev(4, execution_id="exe_1"),
    ev(5, "component", source="scanner"),
    ev(6, "alert"),
    ev(7, "request", source="app", session_id="sess_2", entity="/api/a", execution_id="exe_2"),
]


@pytest.mark.parametrize(
    ("topics", "expected"),
    [
        (["all"], [1, 2, 3, 4, 5, 6, 7]),
        (["source:scanner"], [1, 5]),
        (["session:sess_1"], [2]),
        (["entity:MATLAB"], [3]),
        (["execution:exe_1"], [4]),
        (["type:request"], [7]),
        (["components"], [5]),
        (["alerts"], [6]),
        (["source:runner", "entity:MATLAB", "alerts"], [2, 3, 6]),  # any topic matches
        (["source:nobody"], []),
        (["session:sess_1", "all"], [1, 2, 3, 4, 5, 6, 7]),
    ],
)
def test_a_subscriber_gets_exactly_the_events_its_topics_match_in_order(topics: list[str], expected: list[int]) -> None:
    broker = Broker()
    sub = broker.subscribe(parse_topics(topics))
    broker.publish(MIXED)
    events, overflowed = sub.take(0)
    assert ids(events) == expected and not overflowed
    assert [e for e in MIXED if matches(parse_topics(topics), e)] == events


def test_topic_values_match_the_whole_field_not_a_prefix_or_another_field() -> None:
    topics = parse_topics(["source:scan", "entity:sess_1"])
    assert not matches(topics, ev(1, source="scanner"))
    assert not matches(topics, ev(2, session_id="sess_1"))  # entity:, not session:
    assert not matches(topics, ev(3))  # fields absent
    assert matches(parse_topics(["source:a:b"]), ev(4, source="a:b"))  # the value may hold a colon


def test_parse_topics_accepts_every_kind_and_drops_repeats() -> None:
    topics = ["all", "source:s", "session:x", "entity:e", "execution:r", "type:t", "components", "alerts", "all"]
    assert parse_topics(topics) == frozenset(topics)
    assert len(parse_topics(topics)) == 8


@pytest.mark.parametrize(
    ("topics", "needle"),
    [
        (["planet:mars"], "unknown topic kind 'planet'"),
        (["source"], "topic 'source' needs a value"),
        (["session:"], "topic 'session' needs a value"),
        ([""], "bad topic ''"),
        ([7], "bad topic 7"),
        ([None], "bad topic None"),
        (["entity:" + "x" * 300], "bad topic"),
        ([f"source:s{i}" for i in range(MAX_TOPICS + 1)], f"at most {MAX_TOPICS} topics"),
    ],
)
def test_parse_topics_rejects_bad_topics_saying_why(topics: list[Any], needle: str) -> None:
    with pytest.raises(TopicError) as info:
        parse_topics(topics)
    assert needle in str(info.value)


def test_exactly_max_topics_are_allowed() -> None:
    assert len(parse_topics([f"source:s{i}" for i in range(MAX_TOPICS)])) == MAX_TOPICS


def test_a_subscriber_without_topics_holds_a_place_but_receives_nothing() -> None:
    broker = Broker(max_subscribers=1)
    place = broker.subscribe(frozenset())
    broker.publish([ev(1), ev(2)])
    assert place.take(0) == ([], False)
    assert broker.client_count == 1
    with pytest.raises(TooManyClients):
        broker.subscribe(parse_topics(["all"]))


def test_changed_topics_apply_from_the_next_publish() -> None:
    broker = Broker()
    sub = broker.subscribe(frozenset())
    broker.publish([ev(1, source="a")])
    sub.topics = parse_topics(["source:a"])  # what a WebSocket subscribe message does
    broker.publish([ev(2, source="a"), ev(3, source="b")])
    sub.topics = sub.topics - parse_topics(["source:a"]) | parse_topics(["source:b"])
    broker.publish([ev(4, source="a"), ev(5, source="b")])
    assert ids(sub.take(0)[0]) == [2, 5]


# ---------------------------------------------------------- bounded queues


def test_a_queue_holds_up_to_its_bound_and_take_empties_it() -> None:
    broker = Broker(queue_size=5)
    sub = broker.subscribe(parse_topics(["all"]))
    broker.publish([ev(1), ev(2), ev(3)])
    broker.publish([ev(4), ev(5)])  # exactly full
    assert sub.take(0) == ([ev(1), ev(2), ev(3), ev(4), ev(5)], False)
    assert sub.take(0) == ([], False)
    broker.publish([ev(i) for i in range(6, 11)])  # full again after the take
    assert ids(sub.take(0)[0]) == [6, 7, 8, 9, 10]


def test_overflow_drops_the_queue_once_and_tells_the_subscriber_then_it_resumes() -> None:
    broker = Broker(queue_size=5)
    slow = broker.subscribe(parse_topics(["all"]))
    fast = broker.subscribe(parse_topics(["all"]))
    broker.publish([ev(1), ev(2), ev(3)])
    assert ids(fast.take(0)[0]) == [1, 2, 3]
    broker.publish([ev(4), ev(5), ev(6)])  # slow would hold 6 > 5
    assert slow.overflowed and list(slow.queue) == []
    broker.publish([ev(7)])  # dropped too: the subscriber must resync from the database first
    assert ids(fast.take(0)[0]) == [4, 5, 6, 7]  # the other subscriber is not disturbed
    assert slow.take(0) == ([], True)
    assert slow.take(0) == ([], False)  # reported once
    broker.publish([ev(8)])
    assert slow.take(0) == ([ev(8)], False)
    assert broker.delivered == 8 and broker.last_id == 8


def test_one_batch_larger_than_the_queue_overflows_an_empty_queue() -> None:
    broker = Broker(queue_size=3)
    sub = broker.subscribe(parse_topics(["all"]))
    broker.publish([ev(i) for i in range(1, 5)])
    assert sub.take(0) == ([], True)


def test_only_matching_events_count_against_the_bound() -> None:
    broker = Broker(queue_size=2)
    sub = broker.subscribe(parse_topics(["source:a"]))
    broker.publish([ev(i, source="b") for i in range(1, 50)] + [ev(50, source="a"), ev(51, source="a")])
    assert sub.take(0) == ([ev(50, source="a"), ev(51, source="a")], False)


# ------------------------------------------------------ subscriber cap, close


def test_the_subscriber_cap_refuses_one_more_until_a_place_frees() -> None:
    broker = Broker(max_subscribers=2)
    first = broker.subscribe(parse_topics(["all"]))
    broker.subscribe(parse_topics(["alerts"]))
    with pytest.raises(TooManyClients) as info:
        broker.subscribe(parse_topics(["all"]))
    assert info.value.code == "too_many_clients" and info.value.retry_after == 5
    assert "limit 2" in str(info.value)
    assert isinstance(info.value, TopicError)  # the endpoints' error path handles it
    assert broker.client_count == 2
    broker.unsubscribe(first)
    assert broker.client_count == 1 and first.closed
    third = broker.subscribe(parse_topics(["all"]))
    assert third.id not in (first.id,) and broker.client_count == 2


def test_an_unsubscribed_client_gets_nothing_more_and_unsubscribing_twice_is_harmless() -> None:
    broker = Broker()
    sub = broker.subscribe(parse_topics(["all"]))
    broker.unsubscribe(sub)
    broker.unsubscribe(sub)
    broker.publish([ev(1)])
    assert sub.take(10.0) == ([], False)  # closed: returns at once, empty
    assert broker.client_count == 0 and broker.delivered == 1


def take_meanwhile(sub: Subscriber, then: Callable[[], None]) -> tuple[list[dict[str, Any]], bool]:
    """What ``sub.take`` (waiting up to a minute) returns in another thread while ``then`` runs here."""
    got: list[tuple[list[dict[str, Any]], bool]] = []
    taker = threading.Thread(target=lambda: got.append(sub.take(timeout=60)))
    taker.start()
    then()
    taker.join(timeout=30)
    assert not taker.is_alive(), "take did not return"
    return got[0]


def test_take_returns_when_events_arrive_from_another_thread() -> None:
    broker = Broker()
    sub = broker.subscribe(parse_topics(["all"]))
    assert take_meanwhile(sub, lambda: broker.publish([ev(1), ev(2)])) == ([ev(1), ev(2)], False)


def test_take_returns_on_overflow_and_on_close() -> None:
    broker = Broker(queue_size=1)
    sub = broker.subscribe(parse_topics(["all"]))
    assert take_meanwhile(sub, lambda: broker.publish([ev(1), ev(2)])) == ([], True)
    waiting = broker.subscribe(parse_topics(["all"]))
    assert take_meanwhile(waiting, broker.close) == ([], False)


def test_close_closes_every_subscriber_and_frees_every_place() -> None:
    broker = Broker(max_subscribers=3)
    subs = [broker.subscribe(parse_topics(["all"])) for _ in range(3)]
    broker.close()
    assert all(s.closed for s in subs) and broker.client_count == 0
    broker.publish([ev(1)])
    assert [s.take(0) for s in subs] == [([], False)] * 3
    assert len([broker.subscribe(parse_topics(["all"])) for _ in range(3)]) == 3  # the places are free again


# --------------------------------------------------------- publish, encode


def test_publish_moves_last_id_and_counts_what_it_delivered() -> None:
    broker = Broker()
    broker.publish([])
    assert broker.last_id == 0 and broker.delivered == 0
    broker.publish([ev(3), ev(9)])
    broker.last_id = 20  # the tail moved the mark without publishing
    broker.publish([ev(10)])
    assert broker.last_id == 20 and broker.delivered == 3


def test_hooks_see_each_batch_and_a_failing_hook_stops_nothing(caplog: pytest.LogCaptureFixture) -> None:
    broker = Broker()
    seen: list[list[int]] = []

    def bad(events: list[dict[str, Any]]) -> None:
        raise RuntimeError("hook broke")

    broker.on_publish += [bad, lambda events: seen.append(ids(events))]
    sub = broker.subscribe(parse_topics(["all"]))
    broker.publish([ev(1), ev(2)])
    broker.publish([ev(3)])
    assert seen == [[1, 2], [3]]
    assert ids(sub.take(0)[0]) == [1, 2, 3]
    assert [r.getMessage() for r in caplog.records] == ["publish hook failed"] * 2


def test_each_event_is_encoded_once_however_many_subscribers(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []

    def dumps(obj: Any, option: int | None = None) -> bytes:
        calls.append(obj)
        return orjson.dumps(obj, option=option)

    monkeypatch.setattr(
        broker_module, "orjson", types.SimpleNamespace(dumps=dumps, OPT_NON_STR_KEYS=orjson.OPT_NON_STR_KEYS)
    )
    broker = Broker()
    subs = [broker.subscribe(parse_topics(["all"])) for _ in range(50)]
    events = [ev(1, attrs={"rows": 7, 3: "int key"}), ev(2, value=1.5)]
    broker.publish(events)
    assert calls == events  # once per event, not once per subscriber
    for sub in subs:
        for event in sub.take(0)[0]:
            data = broker.encoded(event)
            assert data is broker.encoded(event)  # the same bytes for every client
            assert orjson.loads(data) == orjson.loads(orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS))
    assert len(calls) == 2  # handing them out encoded nothing again
    assert orjson.loads(broker.encoded(events[0]))["attrs"] == {"rows": 7, "3": "int key"}


def test_nothing_is_encoded_when_no_subscriber_listens_and_a_miss_is_encoded_on_demand() -> None:
    broker = Broker()
    broker.subscribe(frozenset())  # a place only
    broker.publish([ev(1)])
    assert broker._json == {}
    assert orjson.loads(broker.encoded(ev(1, value=2.0))) == {"id": 1, "type": "scan", "value": 2.0}


def test_the_encoded_cache_keeps_the_newest_queue_size_events() -> None:
    broker = Broker(queue_size=3)
    broker.subscribe(parse_topics(["all"]))
    for i in range(1, 6):
        broker.publish([ev(i)])
    assert list(broker._json) == [3, 4, 5]
    assert orjson.loads(broker.encoded(ev(1))) == ev(1)  # evicted: still encoded correctly


def test_the_encoded_events_it_keeps_take_their_own_size_not_the_encoder_s_buffer() -> None:
    import tracemalloc

    broker = Broker(queue_size=2_000)
    sub = broker.subscribe(frozenset({"all"}))
    events = [ev(i, source="scanner", entity="e1", value=float(i), attrs={"x": i}) for i in range(1, 2_001)]
    size = sum(len(orjson.dumps(e)) for e in events)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        broker.publish(events)
        sub.take(0)  # the subscriber's queue is not what is measured
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(broker._json) == 2_000
    # Each cached event costs about its JSON plus object and dict overheads, not orjson's 4 KB buffer.
    assert kept < 3 * size, (kept, size)
