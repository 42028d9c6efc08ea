"""The database store of rate-limit counters: one window per key for every
process on the database, a new window once it has expired, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from limits import RateLimitItemPerSecond
from limits.strategies import FixedWindowRateLimiter

from data.db import Database
from data.rate_limits import DatabaseStorage, purge_expired


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_two_processes_count_in_one_window(migrated_db: Any) -> None:
    clock = Clock()
    other = Database(migrated_db.url)  # another node's connections to the same database
    stores = [DatabaseStorage(migrated_db, clock=clock), DatabaseStorage(other, clock=clock)]
    try:
        a, b = (FixedWindowRateLimiter(store) for store in stores)
        item = RateLimitItemPerSecond(4, 2)
        taken = [(a if i % 2 else b).hit(item, "key:0") for i in range(6)]
        assert taken == [True] * 4 + [False] * 2
        assert a.hit(item, "key:1") and b.hit(item, "addr:127.0.0.1")  # other keys have windows of their own
        stats = b.get_window_stats(item, "key:0")
        assert stats.remaining == 0 and stats.reset_time == clock.now + 2
        clock.now += 2.0  # the window is over: a new one starts
        assert [a.hit(item, "key:0"), b.hit(item, "key:0")] == [True, True]
        assert b.get_window_stats(item, "key:0").remaining == 2
    finally:
        for store in stores:
            store.dispose()
        other.dispose()


def test_expired_counters_are_purged(migrated_db: Any) -> None:
    storage = DatabaseStorage(migrated_db, clock=lambda: 1_800_000_000.0)
    storage.incr("old", 2)
    later = datetime.fromtimestamp(1_800_000_000.0, timezone.utc) + timedelta(hours=2)
    storage.clock = lambda: later.timestamp() - 10
    storage.incr("recent", 2)
    assert purge_expired(migrated_db, later) == 1
    assert (storage.get("old"), storage.get("recent")) == (0, 1)
    storage.dispose()
