"""The live demo: a daemon thread that keeps the five scenarios streaming at
the rates of the backfilled history for the time of day (times ``scale``),
with short bursts, components' heartbeats, and a rotating incident every
``incident_every`` seconds so that alerts fire live. The first one, after
``first_incident_after`` seconds, is the scanner's ``sync_outage``: its cloud
component reports ``offline`` for four minutes, then recovers."""

from __future__ import annotations

import logging
import math
import random
import threading
from datetime import datetime

from data import queries
from demo.backfill import advance_all, make_scenarios
from demo.model import FINISH, HEARTBEAT, SESSION_END, Act, Incident, Incidents, live_mode
from demo.writer import Writer
from services import Services

log = logging.getLogger(__name__)

MAX_CATCH_UP = 30.0  # seconds: a late tick (sleep, debugger) does not replay more
MAX_RESUME = 3600.0  # seconds: the most the first step writes when resuming after a backfill
# kind, duration (s): what the alert rules and the feed should see, in this order
LIVE_INCIDENTS = (
    ("sync_outage", 240.0),  # cloud offline, failed syncs, the queue grows
    ("payment_failures", 120.0),  # failed payments, checkout 502/504
    ("license_outage", 90.0),  # tool failures
    ("latency_spike", 120.0),  # /api/vectorize p95 x5
    ("runner_failures", 180.0),  # failed executions
)
THREAD_NAME = "pulseboard-demo"


class Simulator:
    """Live demo events. ``step(now)`` writes one tick (what happened since
    the previous step); ``start()`` runs steps every ``tick`` seconds in a
    daemon thread until ``stop()``. ``since`` (a backfill's end) makes the
    first step write from there, so history and live data meet without a
    gap. Components send a heartbeat at most ``heartbeat`` seconds apart.
    Deterministic given the seed and the sequence of ``now`` values."""

    def __init__(
        self,
        services: Services,
        *,
        seed: int = 7,
        scale: float = 1.0,
        tick: float = 0.5,
        heartbeat: float = HEARTBEAT,
        incident_every: float = 900.0,
        first_incident_after: float = 120.0,
        since: datetime | None = None,
    ) -> None:
        if not scale > 0:
            raise ValueError("scale must be > 0 (1: the history's rates)")
        if not tick > 0:
            raise ValueError("tick must be > 0 seconds")
        if not heartbeat > 0:
            raise ValueError("heartbeat must be > 0 seconds")
        self.services = services
        self.seed = seed
        self.scale = scale
        self.tick = tick
        self.incident_every = incident_every
        self.first_incident_after = first_incident_after
        self.scenarios = make_scenarios(seed, live_mode(seed, scale, heartbeat))
        # The backfill's regression (etl_sync.py slower) has happened for good.
        self.incidents = Incidents([Incident("regression", -math.inf, math.inf)])
        self._rng = random.Random(seed * 7919 + 17)
        self._kind = 0
        self._next_incident: float | None = None
        self._last: float | None = None
        self._since = since.timestamp() if since is not None else None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.steps = 0
        self.stored = 0

    # ------------------------------------------------------------- ticking
    def step(self, now: datetime | None = None) -> int:
        """Generate and write what happened since the last step, up to
        ``now`` (default: the services' clock); the number of events stored."""
        with self._lock:
            now = now or self.services.now()
            if now.tzinfo is None:
                raise ValueError("now must be a timezone-aware datetime")
            t1 = now.timestamp()
            writer = Writer(self.services, batch=10_000, publish=True)
            catch_up = MAX_CATCH_UP
            if self._last is None:
                self._last = t1 - self.tick if self._since is None else self._since
                catch_up = MAX_RESUME
                writer.add(self._tidy_previous_run(self._last))
                self._next_incident = t1 + self.first_incident_after
            t0 = max(self._last, t1 - catch_up)
            if t1 <= t0:
                return 0
            self._plan_incidents(t1)
            writer.add(advance_all(self.scenarios, t0, t1, self.incidents))
            self._last = t1
            stored = writer.flush()
            self.steps += 1
            self.stored += stored
            return stored

    def _plan_incidents(self, t1: float) -> None:
        """Keep the next incident planned ahead of the clock (components
        change at its start and end)."""
        if self.incident_every <= 0 or self._next_incident is None:
            return
        while self._next_incident <= t1 + self.incident_every:
            kind, duration = LIVE_INCIDENTS[self._kind % len(LIVE_INCIDENTS)]
            self.incidents.add(Incident(kind, self._next_incident, self._next_incident + duration))
            self._kind += 1
            self._next_incident += self.incident_every * self._rng.uniform(0.8, 1.2)
        self.incidents.prune(t1 - 3600.0)

    def _tidy_previous_run(self, t: float) -> list[Act]:
        """End the sessions and runs a previous simulator left open (it starts its own)."""
        at = t - 0.001
        with self.services.db.read() as conn:
            sessions = queries.list_sessions(conn, open_only=True, limit=100)
            running = queries.executions_frame(conn, status="running", limit=100)
            runs = [queries.get_execution(conn, str(i)) for i in running["id"]]
        acts = [
            Act(max(at, s["started_at"].timestamp()), SESSION_END, {"session_id": s["id"]})
            for s in sessions
            if s["source"] == "macro" and (s.get("attrs") or {}).get("generator") == "demo"
        ]
        interrupted = {"exit_code": 143, "attrs": {"error": "interrupted: the demo simulator stopped"}}
        acts += [
            Act(max(at, r["started_at"].timestamp()), FINISH, {"execution_id": r["id"], "fields": interrupted})
            for r in runs
            if r is not None and r["source"] == "runner" and (r["attrs"] or {}).get("generator") == "demo"
        ]
        return acts

    # ------------------------------------------------------------- threads
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Stream in a daemon thread (no-op when already running)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the thread; True when it has ended within ``timeout`` seconds."""
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            return False
        self._thread = None
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # a failed tick (database busy, disk full) must not end the demo
                log.exception("demo simulator: tick failed")
            if self._stop.wait(self.tick):
                break
