"""The offline spool file: a local SQLite database that holds requests the
server has not acknowledged yet, replayed oldest first, plus a dead-letter
table for requests the server refused as invalid.

One file per source (``spool-<source>.db``), shared by every process that logs
under that source; an advisory lock file lets one process at a time replay
it, so rows are sent in order and never twice at once. Rows are ordered by
``seq``: each process numbers its requests from its start time in
nanoseconds, so replay order is per-process FIFO, processes by start time.

The size bound (default 100 MB) counts the spooled request bodies; the file
is somewhat larger (SQLite pages, the WAL, dead letters up to a tenth of the
bound). When it is reached the *newest* requests are dropped and the oldest
kept, until replay drains it below 90 %: what is stored stays one unbroken
run of the oldest data. A warning says so, at most once a minute.

Its command line is ``python -m client.spool`` (``spool.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("pulseboard.client")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body BLOB NOT NULL,
    events INTEGER NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS ix_spool_seq ON spool (seq, id);
CREATE TABLE IF NOT EXISTS dead (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body BLOB NOT NULL,
    events INTEGER NOT NULL,
    created REAL NOT NULL,
    failed_at REAL NOT NULL,
    status INTEGER NOT NULL,
    error TEXT NOT NULL
);
"""


@dataclasses.dataclass
class Request:
    """One HTTP write: an events batch (``events`` > 0) or a single record."""

    seq: int
    method: str
    path: str
    body: bytes
    events: int = 0

    def items(self) -> list[Any]:
        value = json.loads(self.body)
        return value if isinstance(value, list) else [value]

    def with_items(self, items: Sequence[Any]) -> Request:
        body = json.dumps(list(items), separators=(",", ":")).encode()
        return Request(self.seq, self.method, self.path, body, len(items))


@dataclasses.dataclass
class Row:
    id: int
    request: Request
    attempts: int


class Spool:
    """The spool file. Thread-safe; every method commits before it returns."""

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = 100_000_000) -> None:
        self.path = str(path)
        self.max_bytes = max_bytes
        self.dead_max_bytes = max(max_bytes // 10, 1024 * 1024)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # only takes effect on a new file
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives a killed process
        self._db.executescript(_SCHEMA)
        self._bytes = self._pending_bytes()
        self._full_warned = 0.0
        self._full = False

    # ------------------------------------------------------------ writing

    def put(self, requests: Sequence[Request]) -> int:
        """Append ``requests``; returns how many events were dropped because the spool is full.

        Once full, it takes nothing until replay has drained it below 90 %: what
        it keeps stays one run of the oldest data, without holes."""
        dropped = 0
        rows: list[tuple[int, str, str, bytes, int, float]] = []
        now = time.time()
        with self._lock:
            if self._full and self._pending_bytes() < 0.9 * self.max_bytes:
                self._full = False
            for r in requests:
                if not self._full and self._bytes + len(r.body) > self.max_bytes:  # others may have drained it
                    self._bytes = self._pending_bytes() + sum(len(row[3]) for row in rows)
                    self._full = self._bytes + len(r.body) > self.max_bytes
                if self._full:
                    dropped += max(r.events, 1)
                    continue
                self._bytes += len(r.body)
                rows.append((r.seq, r.method, r.path, r.body, r.events, now))
            if rows:
                self._db.executemany(
                    "INSERT INTO spool (seq, method, path, body, events, created) VALUES (?, ?, ?, ?, ?, ?)", rows
                )
        if dropped:
            self._warn_full(dropped)
        return dropped

    def _warn_full(self, dropped: int) -> None:
        if time.monotonic() - self._full_warned > 60:
            self._full_warned = time.monotonic()
            log.warning(
                "pulseboard spool %s is full (%g MB): dropping the newest data (%d events now), the oldest is kept; "
                "the server has been unreachable for too long",
                self.path,
                self.max_bytes / 1e6,
                dropped,
            )

    def replace(self, row_id: int, requests: Sequence[Request], error: str) -> None:
        """Put ``requests`` (what is left of row ``row_id``) in its place, same position."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM spool WHERE id = ?", (row_id,))
                self._db.executemany(
                    "INSERT INTO spool (seq, method, path, body, events, created, attempts, last_error) "
                    "VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
                    [(r.seq, r.method, r.path, r.body, r.events, time.time(), error) for r in requests],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._bytes = self._pending_bytes()

    def failed(self, row_id: int, error: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE spool SET attempts = attempts + 1, last_error = ? WHERE id = ?", (error[:2000], row_id)
            )

    def delete(self, row_id: int) -> None:
        with self._lock:
            found = self._db.execute("SELECT LENGTH(body) FROM spool WHERE id = ?", (row_id,)).fetchone()
            self._db.execute("DELETE FROM spool WHERE id = ?", (row_id,))
            if found:
                self._bytes -= int(found[0])
            if self._bytes <= 0 and not self.has_pending():
                self._bytes = 0
                self._db.execute("PRAGMA incremental_vacuum")

    def dead(self, request: Request, status: int, error: str) -> None:
        """Keep a request the server refused (4xx) for inspection; oldest dead letters go first when full."""
        with self._lock:
            self._db.execute(
                "INSERT INTO dead (seq, method, path, body, events, created, failed_at, status, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request.seq,
                    request.method,
                    request.path,
                    request.body,
                    request.events,
                    time.time(),
                    time.time(),
                    status,
                    error[:4000],
                ),
            )
            total = self._db.execute("SELECT COALESCE(SUM(LENGTH(body)), 0) FROM dead").fetchone()[0]
            if total > self.dead_max_bytes:
                log.warning(
                    "pulseboard spool %s: dead-letter table over %d bytes; removing the oldest",
                    self.path,
                    self.dead_max_bytes,
                )
                self._db.execute(
                    "DELETE FROM dead WHERE id IN (SELECT id FROM dead ORDER BY id LIMIT "
                    "(SELECT MAX(COUNT(*) / 4, 1) FROM dead))"
                )

    def requeue_dead(self) -> int:
        """Move every dead letter back to the end of the spool; returns how many."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.execute(
                "INSERT INTO spool (seq, method, path, body, events, created) "
                "SELECT (SELECT COALESCE(MAX(seq), 0) FROM spool) + id, method, path, body, events, created "
                "FROM dead ORDER BY id"
            )
            self._db.execute("DELETE FROM dead")
            self._db.execute("COMMIT")
            self._bytes = self._pending_bytes()
            return int(cur.rowcount)

    # ------------------------------------------------------------ reading

    def has_pending(self) -> bool:
        with self._lock:
            return bool(self._db.execute("SELECT EXISTS (SELECT 1 FROM spool)").fetchone()[0])

    def peek(self, limit: int = 16) -> list[Row]:
        with self._lock:
            cur = self._db.execute(
                "SELECT id, seq, method, path, body, events, attempts FROM spool ORDER BY seq, id LIMIT ?", (limit,)
            )
            return [Row(i, Request(s, m, p, bytes(b), e), a) for i, s, m, p, b, e, a in cur]

    def _pending_bytes(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(SUM(LENGTH(body)), 0) FROM spool").fetchone()[0])

    def stats(self) -> dict[str, Any]:
        with self._lock:
            rows, events, size = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(events), 0), COALESCE(SUM(LENGTH(body)), 0) FROM spool"
            ).fetchone()
            dead_rows, dead_events = self._db.execute("SELECT COUNT(*), COALESCE(SUM(events), 0) FROM dead").fetchone()
        return {
            "path": self.path,
            "pending_requests": rows,
            "pending_events": events,
            "pending_bytes": size,
            "max_bytes": self.max_bytes,
            "dead_requests": dead_rows,
            "dead_events": dead_events,
        }

    def rows_for_export(self, *, include_dead: bool = True) -> list[tuple[Any, ...]]:
        """``(id, state, method, path, body, http status, error)``: pending rows in replay order, then dead letters."""
        with self._lock:
            pending = self._db.execute(
                "SELECT id, 'pending', method, path, body, NULL, last_error FROM spool ORDER BY seq, id"
            ).fetchall()
            if not include_dead:
                return pending
            dead = self._db.execute("SELECT id, 'dead', method, path, body, status, error FROM dead ORDER BY id")
            return pending + dead.fetchall()

    # ------------------------------------------------------------ replay lock

    @contextlib.contextmanager
    def replay_lock(self) -> Iterator[bool]:
        """Yields True when this process may replay now (no other process is)."""
        if self.path == ":memory:":
            yield True
            return
        fh = open(self.path + ".lock", "a+b")
        try:
            got = _try_lock(fh)
            yield got
        finally:
            fh.close()  # closing the file releases the lock

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _try_lock(fh: IO[bytes]) -> bool:
    """A non-blocking exclusive lock on ``fh``, held until it is closed."""
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
