"""One broker per process: it follows the events table by id and hands each
new event to every subscriber whose topics match.

The broker reads committed rows only, so what a subscriber sees is what is
stored, in id order, once. Ingest in this process wakes the tail at once;
other processes are seen by polling (SQLite) or woken by PostgreSQL
LISTEN/NOTIFY (see ``live/tail.py``). A subscriber's queue is bounded: when a
slow client lets it fill, the subscriber is marked ``overflowed`` and its
connection tells the client to resync from the database, while ingest and the
other clients go on undisturbed.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import orjson

log = logging.getLogger(__name__)

TOPIC_KINDS = {
    "all": None,
    "source": "source",
    "session": "session_id",
    "entity": "entity",
    "execution": "execution_id",
    "type": "type",
    "components": None,
    "alerts": None,
}
MAX_TOPICS = 50


class TopicError(ValueError):
    pass


class TooManyClients(TopicError):
    """The broker already serves its most subscribers (``--max-ws-clients``)."""

    code = "too_many_clients"
    retry_after = 5


def parse_topics(topics: Iterable[Any]) -> frozenset[str]:
    """Validate topics such as ``all``, ``source:scanner``, ``session:sess_1``,
    ``entity:MATLAB``, ``execution:exe_1``, ``type:scan``, ``components``, ``alerts``.

    >>> sorted(parse_topics(["all", "source:scanner"]))
    ['all', 'source:scanner']
    """
    out = set()
    for topic in topics:
        if not isinstance(topic, str) or not topic or len(topic) > 300:
            raise TopicError(f"bad topic {topic!r}")
        kind, _, value = topic.partition(":")
        if kind not in TOPIC_KINDS:
            raise TopicError(f"unknown topic kind {kind!r}; use one of {', '.join(TOPIC_KINDS)}")
        if TOPIC_KINDS[kind] and not value:
            raise TopicError(f"topic {kind!r} needs a value, e.g. {kind}:NAME")
        out.add(topic)
    if len(out) > MAX_TOPICS:
        raise TopicError(f"at most {MAX_TOPICS} topics")
    return frozenset(out)


def matches(topics: frozenset[str], event: dict[str, Any]) -> bool:
    if "all" in topics:
        return True
    if "components" in topics and event.get("type") == "component":
        return True
    if "alerts" in topics and event.get("type") == "alert":
        return True
    for topic in topics:
        kind, _, value = topic.partition(":")
        column = TOPIC_KINDS.get(kind)
        if column and event.get(column) == value:
            return True
    return False


class Subscriber:
    def __init__(self, topics: frozenset[str], maxlen: int) -> None:
        self.id = next(_ids)
        self.topics = topics
        self.maxlen = maxlen
        self.queue: deque[dict[str, Any]] = deque()
        self.overflowed = False
        self.closed = False
        self.cond = threading.Condition()

    def offer(self, events: list[dict[str, Any]]) -> None:
        if not self.topics:  # a place under the cap only (the compatible routes), or not subscribed yet
            return
        picked = [e for e in events if matches(self.topics, e)]
        if not picked:
            return
        with self.cond:
            if self.overflowed:
                return
            if len(self.queue) + len(picked) > self.maxlen:
                self.queue.clear()
                self.overflowed = True
            else:
                self.queue.extend(picked)
            self.cond.notify()

    def take(self, timeout: float) -> tuple[list[dict[str, Any]], bool]:
        """Wait up to ``timeout`` for events; returns (events, overflowed) and resets both."""
        with self.cond:
            if not self.queue and not self.overflowed and not self.closed:
                self.cond.wait(timeout)
            events = list(self.queue)
            self.queue.clear()
            overflowed, self.overflowed = self.overflowed, False
            return events, overflowed

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


_ids = itertools.count(1)


def _kept(data: bytes) -> bytes:
    """``data`` copied to an object of its own size. orjson's output keeps the
    buffer it was written into (4 KB for a 300-byte event); fine for a
    response, but the broker keeps ``queue_size`` of them: 80 MB instead of 6.

    >>> len(_kept(orjson.dumps({"id": 1}))), _kept(b"[1]") == b"[1]"
    (8, True)
    """
    return bytes(memoryview(data))


@dataclasses.dataclass
class Broker:
    queue_size: int = 20_000
    max_subscribers: int = 1000
    subscribers: dict[int, Subscriber] = dataclasses.field(default_factory=dict)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    last_id: int = 0
    delivered: int = 0
    on_publish: list[Callable[[list[dict[str, Any]]], None]] = dataclasses.field(default_factory=list)
    # Each published event's JSON, encoded once for every client (oldest evicted first).
    _json: dict[int, bytes] = dataclasses.field(default_factory=dict)

    def subscribe(self, topics: frozenset[str]) -> Subscriber:
        with self.lock:
            if len(self.subscribers) >= self.max_subscribers:
                raise TooManyClients(f"too many live clients (limit {self.max_subscribers}); try again later")
            sub = Subscriber(topics, self.queue_size)
            self.subscribers[sub.id] = sub
            return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        sub.close()
        with self.lock:
            self.subscribers.pop(sub.id, None)

    def publish(self, events: list[dict[str, Any]]) -> None:
        """Hand committed events (id order) to every subscriber; never blocks on a client."""
        if not events:
            return
        with self.lock:
            subs = list(self.subscribers.values())
            self.last_id = max(self.last_id, int(events[-1]["id"]))
        if any(sub.topics for sub in subs):
            for event in events:
                self._json[event["id"]] = _kept(orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS))
            while len(self._json) > self.queue_size:
                del self._json[next(iter(self._json))]
        for sub in subs:
            sub.offer(events)
        self.delivered += len(events)
        for hook in self.on_publish:
            try:
                hook(events)
            except Exception:
                log.exception("publish hook failed")

    def encoded(self, event: dict[str, Any]) -> bytes:
        """The event as JSON: encoded once at publish for all clients (only the
        publishing thread writes the cache; a miss is encoded here)."""
        data = self._json.get(event["id"])
        return data if data is not None else orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS)

    def close(self) -> None:
        with self.lock:
            subs = list(self.subscribers.values())
            self.subscribers.clear()
        for sub in subs:
            sub.close()

    @property
    def client_count(self) -> int:
        # Read by every socket before each frame: a dict's length is read atomically, no lock needed.
        return len(self.subscribers)
