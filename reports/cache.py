"""A short-lived cache for heavy read results, invalidated by new data: an
entry is reused only while no event has been stored since it was computed
(the newest event id is unchanged) and it is younger than its TTL.

Beside its own entries, the cache holds named caches (:meth:`ResultCache.named`),
each with its own TTL, entries and hit/miss counters, so that what one
family of routes caches can be counted on its own; clearing the cache
clears them too."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from data.queries import last_event_id

T = TypeVar("T")


class ResultCache:
    def __init__(self, max_entries: int = 256, ttl: float | None = None) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, int, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._named: dict[str, ResultCache] = {}
        self.max_entries = max_entries
        self.ttl = ttl  # a named cache's longest entry life; None: each call gives its own
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

    def named(self, name: str, ttl: float, max_entries: int = 64) -> ResultCache:
        """The named cache ``name``, made on first use with ``ttl`` (seconds) as
        the longest life of its entries."""
        with self._lock:
            cache = self._named.get(name)
            if cache is None:
                cache = self._named[name] = ResultCache(max_entries, ttl)
            return cache

    def named_caches(self) -> dict[str, ResultCache]:
        """The named caches made so far, by name."""
        with self._lock:
            return dict(self._named)

    def clear(self) -> int:
        """Drop every entry, the named caches' included; returns how many went."""
        with self._lock:
            dropped = len(self._entries)
            self._entries.clear()
            named = list(self._named.values())
        return dropped + sum(cache.clear() for cache in named)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._entries), "hits": self.hits, "misses": self.misses}


def cached(services: Any, key: Hashable, compute: Callable[[], T], ttl: float = 5.0, *, name: str | None = None) -> T:
    """``compute()``, or its result kept since no event was stored and for at
    most ``ttl`` seconds. With ``name``, kept in that named cache (made with
    ``ttl`` on first use, whose own TTL bounds the entries after that)."""
    with services.db.read() as conn:
        version = last_event_id(conn)
    cache: ResultCache = services.cache if name is None else services.cache.named(name, ttl)
    limit = ttl if cache.ttl is None else min(ttl, cache.ttl)
    result: T = cache.get_or_compute(key, version, compute, limit)
    return result
