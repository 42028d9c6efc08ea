"""Runs the demo in a serving process: backfill in a thread (the dashboard is
up meanwhile), the demo's alert rules, then the live simulator until stopped."""

from __future__ import annotations

import logging
import threading
from typing import Any

from demo import rules
from demo.backfill import backfill
from demo.simulator import Simulator

log = logging.getLogger(__name__)


class DemoRunner:
    def __init__(self, services: Any, *, days: int = 7, rate: float = 1.5) -> None:
        self.services = services
        self.days = days
        self.simulator = Simulator(services, rate=rate)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="pulseboard-demo-backfill", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            counts = backfill(self.services, days=self.days, now=self.services.now())
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
        if not self._stop.is_set():
            self.simulator.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.simulator.stop(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
