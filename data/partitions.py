"""Daily range partitions of ``events`` on PostgreSQL.

On PostgreSQL ``events`` is partitioned by ``RANGE (ts)``, one partition per
UTC day (``ts`` is integer microseconds, so a day is ``[midnight, next
midnight)`` in microseconds), plus a default partition that takes any row no
day partition covers, so an insert never fails for want of a partition. The
partitions live in their own schema, :data:`SCHEMA`, beside the table of
stored uids: the models describe ``public`` and the partitions are not part of
them.

A partitioned table's unique indexes must contain the partition key, and a
uid does not imply its ts (an event sent without ts gets the time it
arrives, so a retry has another ts). The uid guarantee is therefore kept by
:data:`UIDS_TABLE`, a plain table with ``uid`` as its primary key that ingest
writes in the same transaction as the events (``data/ingest.py``).

Maintenance creates the partitions ahead (:func:`ensure_partitions`, at start
after migrating and with every retention run) and retention drops whole days
(:func:`drop_partitions_before`). SQLite keeps one table; every function here
does nothing there.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

SCHEMA = "event_partitions"
UIDS_TABLE = f"{SCHEMA}.uids"
DEFAULT_PARTITION = "events_default"
DAY_MICROS = 86_400_000_000
AHEAD_DAYS = 7  # days after today that always have a partition
LOCK_TIMEOUT_MS = 3000  # how long a partition change waits for the table; the next run tries again
_LOCK_KEY = 0x5055_4C53_4550  # advisory lock: one process changes partitions at a time
_BOUND = re.compile(r"FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")
_EPOCH_DAY = date(1970, 1, 1)


@dataclasses.dataclass(frozen=True)
class Partition:
    name: str  # without the schema
    lower: int | None  # micros, inclusive; None for the default partition
    upper: int | None  # micros, exclusive

    @property
    def qualified(self) -> str:
        return f"{SCHEMA}.{self.name}"


def day_start(day: date) -> int:
    """Microseconds of the UTC midnight starting ``day``.

    >>> day_start(date(1970, 1, 2))
    86400000000
    """
    return (day - _EPOCH_DAY).days * DAY_MICROS


def day_of(micros: int) -> date:
    """The UTC day holding the instant ``micros``.

    >>> day_of(86400000000 - 1), day_of(86400000000)
    (datetime.date(1970, 1, 1), datetime.date(1970, 1, 2))
    """
    return _EPOCH_DAY + timedelta(days=micros // DAY_MICROS)


def partition_name(day: date) -> str:
    """The name of the partition of ``day``.

    >>> partition_name(date(2026, 12, 6))
    'events_20261206'
    """
    return f"events_{day:%Y%m%d}"


def is_partitioned(conn: Connection) -> bool:
    """Whether ``events`` is a partitioned table here (never on SQLite)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass('public.events')")).scalar()
    return kind == "p"


def partitions(conn: Connection) -> list[Partition]:
    """The partitions of ``events``, the day partitions by time, the default one last."""
    rows = conn.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'public.events'::regclass"
        )
    ).all()
    found = []
    for name, bound in rows:
        match = _BOUND.search(bound)
        if match:
            found.append(Partition(name, int(match[1]), int(match[2])))
        else:
            found.append(Partition(name, None, None))
    return sorted(found, key=lambda p: (p.lower is None, p.lower or 0))


def _lock(conn: Connection) -> None:
    """Queue behind any other process changing partitions, and give up
    (:class:`LockTimeout`) rather than hold up readers and writers of
    ``events`` for long: attaching, creating and detaching a partition
    lock the whole table until the transaction ends, and a lock request
    waiting on a long query blocks every query that comes after it."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'"))


def _lock_timed_out(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "55P03"  # lock_not_available


def create_day_partition(conn: Connection, day: date) -> str | None:
    """Create the partition of ``day`` unless it exists; returns its name if created.

    Rows of that day already in the default partition move into the new one
    (a partition cannot be attached while the default one holds rows of its
    range)."""
    name = partition_name(day)
    lower, upper = day_start(day), day_start(day + timedelta(days=1))
    if any(p.name == name for p in partitions(conn)):
        return None
    qualified = f"{SCHEMA}.{name}"
    bounds = f"FOR VALUES FROM ({lower}) TO ({upper})"
    stray = conn.execute(
        text(f"SELECT 1 FROM {SCHEMA}.{DEFAULT_PARTITION} WHERE ts >= :lo AND ts < :hi LIMIT 1"),
        {"lo": lower, "hi": upper},
    ).first()
    if stray is None:
        conn.execute(text(f"CREATE TABLE {qualified} PARTITION OF events {bounds}"))
        return name
    conn.execute(text(f"CREATE TABLE {qualified} (LIKE events INCLUDING DEFAULTS)"))
    conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {SCHEMA}.{DEFAULT_PARTITION} WHERE ts >= :lo AND ts < :hi RETURNING *) "
            f"INSERT INTO {qualified} SELECT * FROM moved"
        ),
        {"lo": lower, "hi": upper},
    )
    conn.execute(text(f"ALTER TABLE events ATTACH PARTITION {qualified} {bounds}"))
    return name


def ensure_partitions(db: Any, now: datetime | None = None, *, ahead: int = AHEAD_DAYS) -> list[str]:
    """Create the partitions of today and of the ``ahead`` days after it that
    are missing; returns the names created. Safe to call from several
    processes at once (they queue on an advisory lock). Nothing on SQLite."""
    if db.is_sqlite:
        return []
    today = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).date()
    created: list[str] = []
    try:
        with db.write() as conn:
            if not is_partitioned(conn):
                return []
            _lock(conn)
            for offset in range(ahead + 1):
                name = create_day_partition(conn, today + timedelta(days=offset))
                if name:
                    created.append(name)
    except DBAPIError as exc:
        if not _lock_timed_out(exc):
            raise
        log.warning("events are busy: the partitions ahead are made on the next run (until then, the default one)")
        return []
    return created


def drop_partitions_before(db: Any, cutoff: int) -> tuple[list[str], int]:
    """Detach and drop the day partitions that end at or before ``cutoff``
    (micros), each in its own short transaction; returns their names and the
    number of events they held. Rows older than ``cutoff`` in the partition
    that straddles it, or in the default one, are left for a row delete."""
    if db.is_sqlite:
        return [], 0
    dropped: list[str] = []
    rows = 0
    with db.read() as conn:
        if not is_partitioned(conn):
            return [], 0
        old = [p for p in partitions(conn) if p.upper is not None and p.upper <= cutoff]
    for partition in old:
        try:
            with db.write() as conn:
                _lock(conn)
                if not any(p.name == partition.name for p in partitions(conn)):
                    continue  # another process dropped it meanwhile
                n = int(conn.execute(text(f"SELECT count(*) FROM {partition.qualified}")).scalar() or 0)
                conn.execute(text(f"ALTER TABLE events DETACH PARTITION {partition.qualified}"))
                conn.execute(text(f"DROP TABLE {partition.qualified}"))
        except DBAPIError as exc:
            if not _lock_timed_out(exc):
                raise
            log.warning("events are busy: %s is dropped on the next run", partition.name)
            break
        rows += n
        dropped.append(partition.name)
    return dropped, rows


def purge_uids(db: Any, cutoff: int, batch: int = 5000) -> int:
    """Forget the uids of events older than ``cutoff`` (micros), in batches:
    once its event is removed, a uid may be stored again, as on SQLite."""
    if db.is_sqlite:
        return 0
    total = 0
    while True:
        with db.write() as conn:
            if not is_partitioned(conn):
                return total
            n: int = conn.execute(
                text(
                    f"DELETE FROM {UIDS_TABLE} WHERE uid IN (SELECT uid FROM {UIDS_TABLE} WHERE ts < :cutoff LIMIT :n)"
                ),
                {"cutoff": cutoff, "n": batch},
            ).rowcount
        total += n
        if n < batch:
            return total


def include_object(dialect: str) -> Callable[..., bool] | None:
    """An Alembic ``include_object`` hook for comparing the database with the
    models: on PostgreSQL the unique uid index of ``events`` is kept by
    :data:`UIDS_TABLE` instead (see the module docstring), so it is left out
    of the comparison there; everything else is compared."""
    if dialect != "postgresql":
        return None

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        table = getattr(getattr(obj, "table", None), "name", None)
        return not (type_ == "index" and name == "ix_events_uid" and table == "events")

    return include
