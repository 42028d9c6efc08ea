"""The cross-process tail: a thread that reads events committed after the
last one it saw and publishes them to this process's broker.

Every process (gunicorn worker, ingest-only or dashboard-only process) runs
one, so every subscriber sees every event once, whoever stored it. Ingest in
the same process wakes it at once; on PostgreSQL a LISTEN connection wakes it
when another process commits (ingest sends NOTIFY in its transaction); on
SQLite it polls, every ``poll_interval`` seconds.

On SQLite ids are allocated under the write lock, so they commit in order. On
PostgreSQL a transaction that drew lower ids can commit after one with higher
ids; the tail therefore re-reads a window of ``PG_LOOKBACK`` ids below its
high-water mark and skips ids it has already published.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque

from data.db import Database
from data.queries import last_event_id, live_rows
from live.broker import Broker

log = logging.getLogger(__name__)

PG_LOOKBACK = 2000
BATCH = 5000
COALESCE = 0.02
NOTIFY_CHANNEL = "pulse_events"


class Tail:
    def __init__(self, db: Database, broker: Broker, *, poll_interval: float = 0.25) -> None:
        self.db = db
        self.broker = broker
        self.poll_interval = poll_interval
        self.wake_event = threading.Event()
        self.stop_event = threading.Event()
        self.last_id = 0
        self._seen: deque[int] = deque(maxlen=4 * PG_LOOKBACK)
        self._seen_set: set[int] = set()
        self._threads: list[threading.Thread] = []
        self.pid = 0

    def start(self) -> None:
        with self.db.read() as conn:
            self.last_id = last_event_id(conn)
        self.broker.last_id = self.last_id
        self.pid = os.getpid()
        self.stop_event.clear()
        self._threads = [threading.Thread(target=self._run, name="pulse-tail", daemon=True)]
        if not self.db.is_sqlite:
            self._threads.append(threading.Thread(target=self._listen, name="pulse-listen", daemon=True))
        for t in self._threads:
            t.start()

    def wake(self) -> None:
        self.wake_event.set()

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.wake_event.set()
        for t in self._threads:
            t.join(timeout)
        self._threads = []

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def poll_once(self) -> int:
        """Publish what was committed since the last call; returns how many."""
        if self.broker.client_count == 0:
            # Nobody listens: only move the mark, so a later subscriber starts from now.
            with self.db.read() as conn:
                self.last_id = max(self.last_id, last_event_id(conn))
            self.broker.last_id = self.last_id
            return 0
        low = self.last_id if self.db.is_sqlite else max(0, self.last_id - PG_LOOKBACK)
        with self.db.read() as conn:
            rows = live_rows(conn, after_id=low, limit=BATCH)
        fresh = [r for r in rows if int(r["id"]) not in self._seen_set]
        for event in fresh:
            self._remember(int(event["id"]))
        if fresh:
            self.last_id = max(self.last_id, max(int(e["id"]) for e in fresh))
            self.broker.publish(fresh)
        return len(fresh)

    def _remember(self, event_id: int) -> None:
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(event_id)
        self._seen_set.add(event_id)

    def _run(self) -> None:
        while not self.stop_event.is_set():
            self.wake_event.wait(self.poll_interval)
            self.wake_event.clear()
            if self.stop_event.is_set():
                break
            try:
                while self.poll_once() >= BATCH:
                    pass
            except Exception:  # a database hiccup must not end the live feed
                log.exception("live tail failed; retrying")
                self.stop_event.wait(1.0)
            # Coalesce: commits arriving within this pause are read together.
            self.stop_event.wait(COALESCE)

    def _listen(self) -> None:
        """PostgreSQL: wake the tail on NOTIFY from any process."""
        import psycopg

        url = self.db.engine.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while not self.stop_event.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    while not self.stop_event.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self.wake_event.set()
            except Exception:
                if not self.stop_event.is_set():
                    log.warning("LISTEN connection lost; falling back to polling until it is back")
                    self.stop_event.wait(2.0)
