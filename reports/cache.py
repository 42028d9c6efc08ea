"""A short-lived cache for heavy read results, invalidated by new data: an
entry is reused only while no event has been stored since it was computed
(the newest event id is unchanged) and it is younger than its TTL."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from data.queries import last_event_id

T = TypeVar("T")


class ResultCache:
    def __init__(self, max_entries: int = 256) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, int, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: Hashable, version: int, compute: Callable[[], T], ttl: float) -> T:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry and entry[1] == version and now - entry[0] < ttl:
                self.hits += 1
                self._entries.move_to_end(key)
                return entry[2]  # type: ignore[no-any-return]
            self.misses += 1
        value = compute()
        with self._lock:
            self._entries[key] = (now, version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._entries), "hits": self.hits, "misses": self.misses}


def cached(services: Any, key: Hashable, compute: Callable[[], T], ttl: float = 5.0) -> T:
    with services.db.read() as conn:
        version = last_event_id(conn)
    result: T = services.cache.get_or_compute(key, version, compute, ttl)
    return result
