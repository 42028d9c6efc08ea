"""What the API, the pages and the jobs share in one running Pulseboard: the
settings, the database and the hooks that see each committed batch."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from alerts.engine import AlertEngine
from core.compute import Compute, executor
from core.pdf import PagePrinter
from data.db import Database
from jobs.mailer import Mailer
from jobs.scheduler import Jobs
from live import Live
from reports.cache import ResultCache
from settings import Settings

log = logging.getLogger(__name__)

Listener = Callable[[list[dict[str, Any]]], None]
ReadinessCheck = Callable[[], str | None]  # what is still being prepared, or None once it is done


@dataclasses.dataclass
class Services:
    settings: Settings
    db: Database
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    started_monotonic: float = dataclasses.field(default_factory=time.monotonic)
    listeners: list[Listener] = dataclasses.field(default_factory=list)
    cache: ResultCache = dataclasses.field(default_factory=ResultCache)
    live: Live = dataclasses.field(init=False)
    background: list[Any] = dataclasses.field(default_factory=list)  # things with .stop(), started by start_background
    jobs: Jobs | None = None  # once started
    alerts: AlertEngine = dataclasses.field(init=False)  # evaluation, backtests, notifications
    readiness: list[ReadinessCheck] = dataclasses.field(default_factory=list)  # see starting()
    printer: PagePrinter | None = None  # prints pages as PDFs; installed by the web layer (app.create_app)
    signing_key: str = ""  # signs links mailed out (report unsubscribe links); set by the web layer (auth)
    mailer: Mailer = dataclasses.field(init=False)  # sends the outbox's e-mail once started
    compute: Compute = dataclasses.field(init=False)  # heavy analytics: in-process, or on --dask-scheduler

    def __post_init__(self) -> None:
        self.live = Live(self.db, max_clients=self.settings.max_ws_clients)
        self.listeners.append(lambda _rows: self.live.wake())
        self.compute = executor(self.settings.dask_scheduler)
        self.alerts = AlertEngine(self, executor=self.compute)
        self.mailer = Mailer(self.db, self.settings, clock=self.now)

    def now(self) -> datetime:
        return self.clock()

    def max_window(self) -> timedelta:
        """The longest time range a query may cover (``--max-query-days``)."""
        return timedelta(days=self.settings.max_query_days)

    def starting(self) -> list[str]:
        """What the server still prepares before it is ready (empty: ready).
        The schema is upgraded before the server listens; background work
        that must finish first (the demo's backfill) adds a check to
        ``readiness``."""
        return [reason for check in self.readiness if (reason := check())]

    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_monotonic

    def committed(self, rows: list[dict[str, Any]]) -> None:
        """Tell listeners (the live feed) about rows that are now committed."""
        if not rows:
            return
        for listener in self.listeners:
            try:
                listener(rows)
            except Exception:  # a broken listener must not fail an acknowledged write
                log.exception("listener failed")

    def start_background(self) -> bool:
        """Start the scheduled jobs beside the requests in a serving process
        (after any fork); False when they run already. The caller adds what
        else runs in the background (the demo) to ``background``."""
        if self.background:
            return False
        jobs = Jobs(self)
        jobs.start()
        self.background.append(jobs)
        self.jobs = jobs
        self.mailer.start()
        self.background.append(self.mailer)
        return True

    def close(self) -> None:
        for item in self.background:
            item.stop()
        self.background.clear()
        self.mailer.stop()
        self.alerts.stop()
        self.compute.close()
        self.live.stop()
        if self.printer is not None:
            self.printer.close()
        self.db.dispose()
