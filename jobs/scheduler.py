"""The serving process's scheduler: self-monitoring every few seconds and every
minute, retention every hour, a verified SQLite backup every day.

Self-monitoring runs in every process (each measures itself). Alert
evaluation, scheduled exports, retention and backups run in one process of
all those on the database: the holder of the job lease (``data.leases``),
renewed every ``LEASE_RENEWAL`` seconds. When the holder ends, even killed,
another process takes the lease at its next renewal and runs them from its
next tick on; the state they work from is in the database."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from data import backup
from data.leases import JobLease
from data.rate_limits import purge_expired
from jobs import exports, reports
from jobs.exports import Written
from jobs.maintenance import SelfMonitor, purge

log = logging.getLogger(__name__)

LEASE_RENEWAL = 5.0  # seconds


class Jobs:
    def __init__(self, services: Any) -> None:
        self.services = services
        self.lease = JobLease(services.db)
        self.monitor = SelfMonitor(services)
        self.scheduler = BackgroundScheduler(
            timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60}
        )

    def start(self) -> None:
        s = self.services.settings
        # APScheduler logs every run at INFO (several lines every few seconds): only its warnings and errors.
        if s.log_level != "DEBUG":
            logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self.renew_lease()
        self.scheduler.add_job(self.renew_lease, "interval", seconds=LEASE_RENEWAL, id="job-lease")
        self.scheduler.add_job(self._safe(self.monitor.flush), "interval", seconds=10, id="self-monitor-requests")
        self.scheduler.add_job(self._safe(self.monitor.gauges), "interval", seconds=60, id="self-monitor-gauges")
        self.scheduler.add_job(
            self._once(self.retention), "interval", hours=1, id="retention", next_run_time=datetime.now(timezone.utc)
        )
        if s.sqlite_path is not None:
            self.scheduler.add_job(self._once(self.backup), "cron", hour=3, minute=17, id="backup")
        self.scheduler.add_job(self._once(self.exports), "interval", seconds=15, id="exports")
        self.scheduler.add_job(self._once(self.alerts), "interval", seconds=s.alert_interval, id="alerts")
        self.scheduler.start()

    def renew_lease(self) -> None:
        was = self.lease.held
        if self.lease.renew() != was:
            log.info("this process %s the jobs that run once", "now runs" if self.lease.held else "no longer runs")

    def exports(self) -> list[Any]:
        """Run the export schedules that are due (read from the database, so edits apply at once)."""
        s = self.services.settings
        return exports.run_due(self.services.db, s.exports_dir, now=self.services.now(), settings=s, after=self._report)

    def _report(self, schedule: dict[str, Any], written: Written, when: datetime) -> None:
        """A schedule with recipients mails its run as a report (jobs.reports)."""
        if schedule.get("recipients"):
            reports.send_report(self.services, schedule, written, when)

    def alerts(self) -> None:
        """One evaluation cycle; skipped while another process evaluates."""
        self.services.alerts.evaluate(wait=0.0)

    def retention(self) -> dict[str, int]:
        s = self.services.settings
        now = self.services.now()
        removed = purge(
            self.services.db, now=now, retention_days=s.retention_days, rollup_retention_days=s.rollup_retention_days
        )
        removed["rate_limits"] = purge_expired(self.services.db, now)
        if any(removed.values()):
            log.info("retention removed %s", removed)
        return removed

    def backup(self) -> None:
        s = self.services.settings
        path = backup.backup(s.sqlite_path, s.backup_dir, keep=s.backup_keep, now=self.services.now())
        log.info("backup written to %s", path)

    def _once(self, job: Any) -> Any:
        """``job`` as run by the lease holder only (skipped elsewhere), its failures logged."""
        safe = self._safe(job)

        def run() -> None:
            if self.lease.held:
                safe()

        return run

    @staticmethod
    def _safe(job: Any) -> Any:
        def run() -> None:
            try:
                job()
            except Exception:  # a failed run is logged; the next one tries again
                log.exception("job %s failed", getattr(job, "__name__", job))

        return run

    def stop(self, timeout: float = 5.0) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)  # let a running job finish its batch: nothing is left half done
        self.lease.release()
        self.monitor.flush()
