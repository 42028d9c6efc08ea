"""Runs the demo in a serving process: backfill in a thread (the dashboard is
up meanwhile, ``/health`` says ``starting``), the demo's alert rules, then the
live simulator, which goes on from where the backfill ended, until stopped.

The components' heartbeats come at most a quarter of the component TTL apart
(``--component-ttl``, capped at a minute), so a healthy component never goes
offline; the first live incident starts ``--demo-incident-after`` seconds in."""

from __future__ import annotations

import logging
import threading

from demo import rules
from demo.backfill import backfill
from demo.model import HEARTBEAT
from demo.simulator import Simulator
from services import Services

log = logging.getLogger(__name__)

READINESS = "demo backfill"  # what /health waits for while the demo prepares


def heartbeat_for(ttl: float) -> float:
    """Seconds between a component's heartbeats: well under its TTL.

    >>> heartbeat_for(300.0), heartbeat_for(20.0)
    (60.0, 5.0)
    """
    return min(HEARTBEAT, ttl / 4.0)


class DemoRunner:
    def __init__(self, services: Services, *, seed: int = 7) -> None:
        settings = services.settings
        self.services = services
        self.seed = seed
        self.days = settings.demo_days
        self.heartbeat = heartbeat_for(settings.component_ttl)
        self.first_incident_after = settings.demo_incident_after
        self.simulator: Simulator | None = None
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        services.readiness.append(self.waiting_for)

    def waiting_for(self) -> str | None:
        """``/health``'s readiness check: the backfill until it is done."""
        return None if self.ready.is_set() else READINESS

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pulseboard-demo-backfill", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        end = self.services.now()
        try:
            counts = backfill(self.services, days=self.days, now=end, seed=self.seed, heartbeat=self.heartbeat)
            if counts:
                log.info("demo: backfilled %s events of history", f"{sum(counts.values()):,}")
                self.services.cache.clear()
        except Exception:
            log.exception("demo backfill failed; streaming live data only")
        try:
            if added := rules.install(self.services):
                log.info("demo: added %d alert rules", added)
        except Exception:
            log.exception("demo alert rules not installed")
        self.simulator = Simulator(
            self.services,
            seed=self.seed,
            heartbeat=self.heartbeat,
            first_incident_after=self.first_incident_after,
            since=end,
        )
        try:
            if not self._stop.is_set():
                self.simulator.step()  # the time the backfill took, so the pages see no gap
                self.simulator.start()
        except Exception:
            log.exception("demo simulator did not start")
        finally:
            self.ready.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.simulator is not None:
            self.simulator.stop(timeout)
