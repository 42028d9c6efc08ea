"""The job lease: which one process, of all those on the database, runs the
jobs that must run once (alert evaluation, scheduled exports, retention,
backups).

PostgreSQL: a session advisory lock held on a connection of its own. The
lock lasts as long as that connection: when its process ends, even by
SIGKILL, the server drops the connection and the lock with it; when the
process's host goes away, the server notices within ~20 s through TCP
keepalives set on that connection. ``renew`` (called every few seconds)
takes the lock when it is free and, while held, checks that the connection
still answers, within 10 s (``tcp_user_timeout``): a holder cut off from the
server stops counting itself as the holder within renewal + 10 s, before the
server gives its lock to another (keepalive: 5 s idle + 3 probes 5 s apart).

SQLite (one host): an exclusive ``flock`` on a file beside the database, held
by the process until it ends; an in-memory database has one process only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import Any

from sqlalchemy.engine import make_url

from data.db import Database

log = logging.getLogger(__name__)

LEASE_KEY = 0x50756C7366  # the advisory lock id of the job lease
# The server closes a dead holder's connection after idle + interval x count seconds.
KEEPALIVE: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,  # ms: a check the server does not acknowledge fails
}
SERVER_KEEPALIVE = "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3"


class JobLease:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.held = False
        self._conn: Any = None  # PostgreSQL: the psycopg connection holding the lock
        self._fd: int | None = None  # SQLite: the locked file
        self._lock = threading.Lock()

    def renew(self) -> bool:
        """Take the lease if it is free, or check that it is still held; whether it is held now."""
        with self._lock:
            try:
                self.held = self._renew_pg() if self.db.dialect == "postgresql" else self._renew_file()
            except Exception as exc:  # the database is away: not the holder until it is back
                if self.held:
                    log.warning("job lease lost: %s", exc)
                self._close()
                self.held = False
            return self.held

    def _renew_pg(self) -> bool:
        import psycopg

        if self._conn is not None and self.held:
            self._conn.execute("SELECT 1")
            return True
        if self._conn is None:
            url = self.db.engine.url.set(drivername="postgresql")
            self._conn = psycopg.connect(
                url.render_as_string(hide_password=False), autocommit=True, connect_timeout=5, **KEEPALIVE
            )
            self._conn.execute(SERVER_KEEPALIVE)
        row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (LEASE_KEY,)).fetchone()
        return bool(row and row[0])

    def _renew_file(self) -> bool:
        if self._fd is not None:
            return True
        path = make_url(self.db.url).database
        if not path or path == ":memory:":
            return True
        import fcntl

        try:
            fd = os.open(path + ".jobs-lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # e.g. a read-only directory: one process is the norm there
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Let go of the lease (at once: the server ends a closed session a moment later)."""
        with self._lock:
            if self._conn is not None and self.held:
                with contextlib.suppress(Exception):
                    self._conn.execute("SELECT pg_advisory_unlock(%s)", (LEASE_KEY,))
            self._close()
            self.held = False

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()  # the server releases the lock with the session
            self._conn = None
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # and the kernel the flock with the file
            self._fd = None
