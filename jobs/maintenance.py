"""Retention and self-monitoring.

Retention deletes raw events older than ``retention_days`` and rollups older
than ``rollup_retention_days`` in small batches, each its own short write
transaction, so ingest is never held up for long; e-mail of the outbox that
was sent or failed goes after ``retention_days`` too (pending mail stays).
On PostgreSQL, where events are partitioned by day (``data/partitions.py``),
it first makes sure the partitions of the coming days exist, then detaches
and drops the days wholly older than the cutoff; only the day that straddles
the cutoff (and the default partition) lose rows one batch at a time.

Self-monitoring records the server's own figures as ordinary events of source
``pulseboard`` (shown on the System page): a ``request`` event per HTTP request
(entity = route, duration_ms), and every minute ``cpu_percent``,
``memory_mb``, ``db_size_mb``, ``disk_percent`` (the share of the data
directory's filesystem in use, as the System page reports it) and
``live_clients`` gauges: enough for a forecast rule to say "disk used above
90 % within 3 days" before it happens.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections import deque
from datetime import datetime, timedelta
from typing import Any

import psutil
from sqlalchemy import delete, select

from data import partitions
from data.ingest import event_row, ingest
from data.models import EVENTS, OUTBOX, ROLLUP_HIST, ROLLUP_HIST_HOURLY, ROLLUPS, ROLLUPS_HOURLY, to_micros

log = logging.getLogger(__name__)

SOURCE = "pulseboard"
BATCH = 2000
MAX_PENDING = 20_000  # requests recorded between flushes; beyond this they are counted, not stored
FLUSH_CHUNK = 250  # request events per write: ingest waiting behind a flush waits for one chunk, not for all


def purge(db: Any, *, now: datetime, retention_days: int, rollup_retention_days: int) -> dict[str, int]:
    """Delete old rows in batches; returns how many per table."""
    removed = {}
    event_cutoff = to_micros(now - timedelta(days=retention_days))
    partitions.ensure_partitions(db, now)
    _dropped, in_dropped = partitions.drop_partitions_before(db, event_cutoff)
    removed["events"] = in_dropped + _purge(db, EVENTS, EVENTS.c.ts, event_cutoff)
    partitions.purge_uids(db, event_cutoff)
    minute_cutoff = int((now - timedelta(days=rollup_retention_days)).timestamp())
    for table in (ROLLUPS, ROLLUP_HIST, ROLLUPS_HOURLY, ROLLUP_HIST_HOURLY):
        removed[table.name] = _purge(db, table, table.c.minute, minute_cutoff)
    # E-mail that was sent or given up on goes with the raw events; pending mail stays.
    removed["outbox"] = _purge(db, OUTBOX, OUTBOX.c.created, event_cutoff, OUTBOX.c.state.in_(("sent", "failed")))
    return removed


def _purge(db: Any, table: Any, column: Any, cutoff: int, *where: Any) -> int:
    """Delete the rows of ``table`` whose ``column`` (its time) is below
    ``cutoff`` (and that match ``where``), oldest first, ``BATCH`` rows per transaction."""
    total = 0
    while True:
        with db.write() as conn:
            old = select(table.c.id, column).where(column < cutoff, *where)
            rows = conn.execute(old.order_by(column).limit(BATCH)).all()
            if rows:
                # Bounded by the batch's own time range too: the delete reads that range of the time index,
                # not every row before the cutoff, and on PostgreSQL only the partitions it overlaps.
                ids = [r[0] for r in rows]
                conn.execute(delete(table).where(table.c.id.in_(ids), column >= rows[0][1], column <= rows[-1][1]))
        total += len(rows)
        if len(rows) < BATCH:
            return total


class SelfMonitor:
    """Collects request timings as they happen and stores them with the gauges."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self.pending: deque[dict[str, Any]] = deque()
        self.dropped = 0
        self.lock = threading.Lock()
        self.process = psutil.Process(os.getpid())

    def request(self, route: str, method: str, status: int, seconds: float, now: datetime) -> None:
        with self.lock:
            if len(self.pending) >= MAX_PENDING:
                self.dropped += 1
                return
            self.pending.append(
                _event(
                    now,
                    "request",
                    entity=route,
                    status=str(status),
                    duration_ms=seconds * 1000.0,
                    attrs={"method": method},
                )
            )

    def flush(self) -> int:
        with self.lock:
            rows = list(self.pending)
            self.pending.clear()
        for start in range(0, len(rows), FLUSH_CHUNK):
            result = ingest(self.services.db, rows[start : start + FLUSH_CHUNK])
            self.services.committed(result.stored)
        return len(rows)

    def gauges(self) -> int:
        now = self.services.now()
        with self.process.oneshot():
            cpu = self.process.cpu_percent(interval=None)
            rss = self.process.memory_info().rss / 1048576
        size = (self.services.db.size_bytes() or 0) / 1048576
        rows = [
            _event(now, "cpu_percent", value=cpu),
            _event(now, "memory_mb", value=round(rss, 2)),
            _event(now, "db_size_mb", value=round(size, 3)),
            _event(now, "disk_percent", value=disk_percent(self.services.settings.data_dir)),
            _event(now, "live_clients", value=float(self.services.live.broker.client_count)),
        ]
        result = ingest(self.services.db, rows)
        self.services.committed(result.stored)
        return len(rows)


def disk_percent(path: str) -> float:
    """The share (percent) of the filesystem holding ``path`` in use, space
    reserved for the superuser counted as used (as the System page counts it)."""
    usage = shutil.disk_usage(path if os.path.isdir(path) else ".")
    return round(100.0 * (usage.total - usage.free) / usage.total, 2) if usage.total else 0.0


def _event(ts: datetime, type_: str, **fields: Any) -> dict[str, Any]:
    return event_row(ts, SOURCE, type_, **fields)
