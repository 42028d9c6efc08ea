"""Crash safety: ``python app.py serve`` on SQLite is killed with SIGKILL
(master and worker, the whole process group) several times while clients
stream events into it, and restarted on the same database file.

Every event the server acknowledged with a 2xx must be in the events table
exactly once (by ``uid``, under the id the answer gave), retried events must
not be stored twice, and the per-minute and per-hour rollups must still equal
a GROUP BY over the raw rows.

Two variants: plain HTTP clients that retry what was not acknowledged with
the same uids, and the stdlib client (``client.Monitor``) whose spool holds
events while the server is down and replays them after the restart.
"""

from __future__ import annotations

import itertools
import random
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from client.monitor import Monitor
from tests.conftest import ProcessServer, wait_until

KILLS = 3
STEP = 300  # events that go through between a restart and the next kill
CLIENTS = 4
PACE_S = 0.01  # each client sends a request at most every 10 ms

RAW = """
    SELECT ts / {us} * {s} AS bucket, source, type, COALESCE(entity, ''), COALESCE(status, ''),
           COUNT(*), COUNT(value), ROUND(COALESCE(SUM(value), 0), 6),
           COUNT(duration_ms), ROUND(COALESCE(SUM(duration_ms), 0), 6)
    FROM events GROUP BY 1, 2, 3, 4, 5
"""
ROLLED = """
    SELECT minute, source, type, entity, status, count, value_count, ROUND(value_sum, 6),
           dur_count, ROUND(dur_sum, 6)
    FROM {table} WHERE count > 0
"""


@pytest.fixture
def crash_server(tmp_path: Path) -> Iterator[ProcessServer]:
    """A subprocess server on a fixed port and SQLite file, restartable after a kill."""
    server = ProcessServer(
        ["--data-dir", str(tmp_path), "--db", str(tmp_path / "crash.db"), "--log-level", "WARNING", "--threads", "16"]
    )
    server.start()
    try:
        yield server
    finally:
        server.stop(signal.SIGKILL)


def kill_and_restart(
    server: ProcessServer, kills: int, progress: Callable[[], int], stop: threading.Event | None = None
) -> None:
    """SIGKILL the server ``kills`` times, each once another STEP events went
    through (``progress()`` counts them), restarting it each time."""
    for _ in range(kills + 1):
        mark = progress()
        wait_until(lambda m=mark: progress() >= m + STEP, timeout=60, message=f"{STEP} more events through the server")
        if _ < kills:
            server.stop(signal.SIGKILL)
            server.start()
    if stop is not None:
        stop.set()


def stored_uids(db_path: Path) -> list[tuple[str, int]]:
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        return conn.execute("SELECT uid, id FROM events WHERE uid IS NOT NULL").fetchall()
    finally:
        conn.close()


def rollup_mismatches(db_path: Path) -> list[str]:
    """Differences between each rollup table and a GROUP BY over the events table."""
    conn = sqlite3.connect(db_path, timeout=30)
    problems: list[str] = []
    try:
        for table, seconds in (("rollups", 60), ("rollups_hourly", 3600)):
            raw = set(conn.execute(RAW.format(us=seconds * 1_000_000, s=seconds)).fetchall())
            rolled = set(conn.execute(ROLLED.format(table=table)).fetchall())
            if raw != rolled:
                problems.append(f"{table}: only raw {sorted(raw - rolled)[:3]}, only rolled {sorted(rolled - raw)[:3]}")
            if not raw:
                problems.append(f"{table}: nothing stored")
    finally:
        conn.close()
    return problems


class HttpClient(threading.Thread):
    """Posts single events and batches at a steady pace; a request without a
    2xx answer (connection refused or reset, timeout) is sent again, same
    uids, until acknowledged."""

    def __init__(self, n: int, url: str, stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"crash-client-{n}")
        self.n, self.url, self.stop = n, url, stop
        self.rng = random.Random(n)
        self.seq = itertools.count()
        self.acked: dict[str, int] = {}  # uid -> id the server answered
        self.duplicates = 0  # retried events the server had committed before its answer was lost
        self.pending: list[list[dict[str, Any]]] = []
        self.failures = 0
        self.errors: list[str] = []

    def batch(self) -> list[dict[str, Any]]:
        size = 1 if self.rng.random() < 0.5 else self.rng.randint(2, 25)
        out = []
        for _ in range(size):
            i = next(self.seq)
            out.append(
                {
                    "uid": f"c{self.n}-{i}",
                    "source": f"crash{self.n}",
                    "type": self.rng.choice(("scan", "sync", "req")),
                    "entity": f"e{i % 5}",
                    "status": self.rng.choice(("ok", "error")),
                    "value": float(i % 7),
                    "duration_ms": float(i % 50) + 0.5,
                }
            )
        return out

    def send(self, http: requests.Session, events: list[dict[str, Any]]) -> bool:
        try:
            r = http.post(self.url + "/api/events", json=events if len(events) > 1 else events[0], timeout=5)
        except requests.RequestException:
            self.failures += 1
            return False
        if r.status_code >= 500:
            self.failures += 1
            return False
        if r.status_code not in (200, 201):
            self.errors.append(f"{r.status_code} {r.text[:200]}")
            return True  # a 4xx is final: the test fails on it below
        ids = r.json()["ids"]
        self.duplicates += r.json()["duplicates"]
        for event, id_ in zip(events, ids, strict=True):
            self.acked[event["uid"]] = id_
        return True

    def run(self) -> None:
        http = requests.Session()
        next_at = time.monotonic()
        while not self.stop.is_set():
            events = self.pending.pop(0) if self.pending else self.batch()
            if not self.send(http, events):
                self.pending.append(events)
                http.close()
                http = requests.Session()
            next_at += PACE_S
            time.sleep(max(0.0, next_at - time.monotonic()))
        # The server is up for good now: deliver what was never acknowledged.
        deadline = time.monotonic() + 30
        while self.pending and time.monotonic() < deadline:
            if self.send(http, self.pending[0]):
                self.pending.pop(0)
        http.close()


def test_sigkill_mid_stream_loses_no_acknowledged_event_and_duplicates_none(
    crash_server: ProcessServer, tmp_path: Path
) -> None:
    stop = threading.Event()
    clients = [HttpClient(n, crash_server.url, stop) for n in range(CLIENTS)]
    for c in clients:
        c.start()
    kill_and_restart(crash_server, KILLS, lambda: sum(len(c.acked) for c in clients), stop)
    for c in clients:
        c.join(timeout=60)
    crash_server.stop(signal.SIGKILL)  # the store is read as a crash left it

    acked = {uid: id_ for c in clients for uid, id_ in c.acked.items()}
    dups = sum(c.duplicates for c in clients)
    failures = sum(c.failures for c in clients)
    rows = stored_uids(tmp_path / "crash.db")
    stored = dict(rows)
    missing = [u for u in acked if u not in stored]
    wrong_id = [u for u, i in acked.items() if u in stored and stored[u] != i]
    twice = len(rows) - len(stored)
    counts = (
        f"kills={KILLS} acknowledged={len(acked)} stored={len(rows)} failed_requests_retried={failures} "
        f"committed_before_the_kill_and_retried={dups} missing={len(missing)} duplicated={twice}"
    )
    print(f"\ncrash test (HTTP clients): {counts}")
    assert not [e for c in clients for e in c.errors], counts
    assert not any(c.pending for c in clients), f"never acknowledged after the restarts: {counts}"
    assert failures > 0, f"no request hit a killed server; the kills proved nothing: {counts}"
    assert len(acked) > 500, counts
    assert not missing, f"acknowledged but not stored: {missing[:5]}; {counts}"
    assert not wrong_id, f"stored under another id than acknowledged: {wrong_id[:5]}; {counts}"
    assert twice == 0 and set(stored) == set(acked), counts
    assert rollup_mismatches(tmp_path / "crash.db") == [], counts


def test_the_client_spool_carries_events_across_server_kills(crash_server: ProcessServer, tmp_path: Path) -> None:
    stop = threading.Event()
    monitors = [
        Monitor(
            crash_server.url,
            source=f"spool{n}",
            spool_dir=tmp_path / "spool",
            batch_size=20,
            flush_interval=0.05,
            timeout=3,
            max_backoff=0.5,
            close_timeout=30,
        )
        for n in range(CLIENTS)
    ]
    logged: list[list[str]] = [[] for _ in monitors]

    def produce(n: int) -> None:
        rng = random.Random(100 + n)
        next_at = time.monotonic()
        for i in itertools.count():
            if stop.is_set():
                return
            uid = f"m{n}-{i}"
            monitors[n].log_event(
                rng.choice(("scan", "sync")),
                entity=f"e{i % 3}",
                status=rng.choice(("ok", "error")),
                value=float(i % 9),
                duration_ms=float(i % 40),
                uid=uid,
            )
            logged[n].append(uid)
            next_at += PACE_S / 2
            time.sleep(max(0.0, next_at - time.monotonic()))

    producers = [threading.Thread(target=produce, args=(n,), daemon=True) for n in range(CLIENTS)]
    for p in producers:
        p.start()
    kill_and_restart(crash_server, KILLS, lambda: sum(len(u) for u in logged), stop)
    for p in producers:
        p.join(timeout=10)
    flushed = [m.flush(timeout=30) for m in monitors]
    stats = [m.stats() for m in monitors]
    for m in monitors:
        m.close(timeout=5)
    crash_server.stop(signal.SIGKILL)

    everything = [u for uids in logged for u in uids]
    rows = stored_uids(tmp_path / "crash.db")
    stored = dict(rows)
    missing = [u for u in everything if u not in stored]
    spooled = sum(s["events_spooled"] for s in stats)
    replayed = sum(s["events_replayed"] for s in stats)
    counts = (
        f"kills={KILLS} logged={len(everything)} stored={len(rows)} spooled={spooled} replayed={replayed} "
        f"resent_but_already_stored={sum(s['events_duplicate'] for s in stats)} "
        f"dead={sum(s['events_dead'] for s in stats)} dropped={sum(s['events_dropped'] for s in stats)} "
        f"missing={len(missing)} duplicated={len(rows) - len(stored)}"
    )
    print(f"\ncrash test (client spool): {counts}")
    assert all(flushed), f"the spool did not drain: {counts}"
    assert spooled > 0 and replayed > 0, f"nothing went through the spool; the kills proved nothing: {counts}"
    assert not missing, f"logged but not stored: {missing[:5]}; {counts}"
    assert len(rows) == len(stored) == len(everything), counts
    assert all(s["events_dead"] == 0 and s["events_dropped"] == 0 for s in stats), counts
    assert rollup_mismatches(tmp_path / "crash.db") == [], counts
