"""Rate-limit counters in the database, for the ``limits`` library: every
node on the database counts a client's requests in one shared window.

``DatabaseStorage`` is a ``limits`` storage for its fixed-window strategy:
one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per request (a new window
when the old one has expired), so concurrent nodes never lose a hit. On
PostgreSQL it runs on a pool of its own in autocommit, through the driver:
one round trip and ~90 µs of CPU a check, where a Core transaction costs
~400 µs (bench/rate_limits.py). Times
are seconds since the epoch from this host's clock (hosts of one
installation keep their clocks in sync, e.g. with NTP).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from limits.storage import Storage
from sqlalchemy import Engine, create_engine, delete, select, text
from sqlalchemy.exc import SQLAlchemyError

from data.db import Database
from data.models import RATE_LIMITS

# Portable: PostgreSQL and SQLite (3.35+) both take ON CONFLICT … RETURNING.
_HIT = text(
    "INSERT INTO rate_limits (key, hits, expires_at) VALUES (:key, :amount, :expires) "
    "ON CONFLICT (key) DO UPDATE SET "
    "hits = CASE WHEN rate_limits.expires_at <= :now THEN :amount ELSE rate_limits.hits + :amount END, "
    "expires_at = CASE WHEN rate_limits.expires_at <= :now THEN :expires ELSE rate_limits.expires_at END "
    "RETURNING hits"
)
_HIT_PG = (
    _HIT.text.replace(":key", "%(key)s")
    .replace(":amount", "%(amount)s")
    .replace(":expires", "%(expires)s")
    .replace(":now", "%(now)s")
)


class DatabaseStorage(Storage):
    """The ``limits`` fixed-window storage on Pulseboard's database."""

    STORAGE_SCHEME = ["pulseboard+database"]

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(None, wrap_exceptions=False)
        self.db = db
        self.clock = clock
        # Sized for a node's request threads; connections are opened when first needed, and a
        # server that does not answer fails the check within seconds (the request then goes on).
        self.engine: Engine | None = (
            create_engine(
                db.url,
                isolation_level="AUTOCOMMIT",
                pool_size=8,
                max_overflow=56,
                pool_timeout=5,
                connect_args={"connect_timeout": 2},
            )
            if db.dialect == "postgresql"
            else None
        )

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.clock()
        values = {"key": key, "amount": amount, "expires": now + expiry, "now": now}
        if self.engine is None:
            with self.db.write() as conn:
                return int(conn.execute(_HIT, values).scalar() or 0)
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(_HIT_PG, values)
            row = cursor.fetchone()
            cursor.close()
        except Exception:
            raw.invalidate()  # a broken connection is not handed out again
            raise
        finally:
            raw.close()
        return int(row[0]) if row else 0

    def get(self, key: str) -> int:
        with self.db.read() as conn:
            row = conn.execute(
                select(RATE_LIMITS.c.hits).where(RATE_LIMITS.c.key == key, RATE_LIMITS.c.expires_at > self.clock())
            ).first()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        with self.db.read() as conn:
            row = conn.execute(
                select(RATE_LIMITS.c.expires_at).where(
                    RATE_LIMITS.c.key == key, RATE_LIMITS.c.expires_at > self.clock()
                )
            ).first()
        return float(row[0]) if row else self.clock()

    def check(self) -> bool:
        return self.db.check()

    def dispose(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def reset(self) -> int | None:
        with self.db.write() as conn:
            return int(conn.execute(delete(RATE_LIMITS)).rowcount)

    def clear(self, key: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(RATE_LIMITS).where(RATE_LIMITS.c.key == key))


def purge_expired(db: Database, now: datetime, *, older_than: timedelta = timedelta(hours=1)) -> int:
    """Delete counters whose window ended more than ``older_than`` before ``now``; how many."""
    with db.write() as conn:
        result: Any = conn.execute(delete(RATE_LIMITS).where(RATE_LIMITS.c.expires_at < (now - older_than).timestamp()))
    return int(result.rowcount)
