"""The script runner: scheduled scripts recorded through
``data.records.record_execution`` with duration, exit code, attempt and the
named metrics ``rows``, ``peak_rss_mb`` and ``cpu_s``. A failed run is
retried (attempt 2, 3) a minute later.

Both modes run the same cron-like schedules. Backfill: each attempt one
finished record (and the ``execution_started`` event live runs have). Live: each attempt recorded ``running`` when it starts and
finished through ``data.records.finish_execution`` when it ends.

Incidents: ``regression`` (``etl_sync.py`` takes ~40 % longer from its
start on), ``backup_failures`` (every ``backup.sh`` attempt fails: a failing
streak) and ``runner_failures`` (live: runs of any script fail)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from demo.model import (
    DAY,
    EXECUTION,
    FINISH,
    HOUR,
    Incidents,
    Mode,
    Scenario,
    is_weekend,
    lognormal,
    to_datetime,
)

REGRESSED_SCRIPT = "etl_sync.py"
REGRESSION_FACTOR = 1.4


@dataclasses.dataclass(frozen=True)
class Script:
    name: str
    period: float  # seconds between scheduled runs
    offset: float  # seconds after the period boundary (UTC)
    median_s: float
    sigma: float
    rows: float
    rss_mb: float
    cpu_share: float
    fail_rate: float = 0.01
    weekdays_only: bool = False
    hours: tuple[int, int] = (0, 24)


SCRIPTS = (
    Script("etl_sync.py", HOUR, 300.0, 42.0, 0.07, 120_000, 180.0, 0.78),
    Script("cleanup_tmp.sh", HOUR, 2400.0, 3.2, 0.25, 0, 12.0, 0.4),
    Script("backup.sh", 6 * HOUR, 1800.0, 95.0, 0.12, 0, 64.0, 0.35),
    Script("nightly-report.py", DAY, 2 * HOUR, 310.0, 0.1, 1_200_000, 420.0, 0.9),
    Script(
        "send_invoices.py",
        HOUR,
        900.0,
        12.0,
        0.3,
        850,
        95.0,
        0.6,
        fail_rate=0.03,
        weekdays_only=True,
        hours=(8, 19),
    ),
    Script("ml_train.py", DAY, 3 * HOUR, 1750.0, 0.08, 2_400_000, 3100.0, 1.7, fail_rate=0.02),
    Script("sync_inventory.py", 2 * HOUR, 1200.0, 26.0, 0.2, 9_500, 140.0, 0.7),
)
DEFAULT_FAILURE = "Traceback (most recent call last): ... RuntimeError: upstream returned 503"
FAIL_MESSAGES = {
    "backup.sh": "rsync: write failed on /mnt/backup: No space left on device (28)",
    "send_invoices.py": "smtplib.SMTPServerDisconnected: Connection unexpectedly closed",
}


class Runner(Scenario):
    source = "runner"

    def __init__(self, seed: int, index: int, mode: Mode) -> None:
        super().__init__(seed, index, mode)
        self.next_run: list[float | None] = [None] * len(SCRIPTS)

    def generate(self, t0: float, t1: float, incidents: Incidents) -> None:
        for i, script in enumerate(SCRIPTS):
            nxt = self.next_run[i]
            if nxt is None:
                nxt = math.floor(t0 / script.period) * script.period + script.offset
                while nxt < t0:
                    nxt += script.period
            while nxt < t1:
                hour = int((nxt % DAY) // HOUR)
                if not (script.weekdays_only and is_weekend(nxt)) and script.hours[0] <= hour < script.hours[1]:
                    self._run(script, nxt, incidents)
                nxt += script.period
            self.next_run[i] = nxt

    def _outcome(self, script: Script, start: float, attempt: int, incidents: Incidents) -> dict[str, Any]:
        """How one attempt ends: duration, exit code, metrics and attrs."""
        rng = self.rng
        seconds = lognormal(rng, script.median_s, script.sigma)
        if script.name == REGRESSED_SCRIPT and incidents.active("regression", start):
            seconds *= REGRESSION_FACTOR
        failing = (
            (script.name == "backup.sh" and incidents.active("backup_failures", start) is not None)
            or incidents.active("runner_failures", start) is not None
            or rng.random() < script.fail_rate
        )
        if failing and script.name != "backup.sh" and rng.random() < 0.5:
            seconds *= rng.uniform(0.1, 0.6)  # some failures stop early
        rows = round(script.rows * rng.uniform(0.85, 1.15)) if script.rows else 0
        metrics = {
            "rows": float(rows),
            "peak_rss_mb": round(lognormal(rng, script.rss_mb, 0.06), 1),
            "cpu_s": round(seconds * script.cpu_share * rng.uniform(0.9, 1.1), 2),
        }
        trigger = "retry" if attempt > 1 else "cron"
        attrs: dict[str, Any] = {"host": "batch-01", "trigger": trigger}
        if self.mode.live:
            attrs["generator"] = "demo"
        exit_code = (28 if script.name == "backup.sh" else 1) if failing else 0
        fields: dict[str, Any] = {
            "id": f"exe_{to_datetime(start):%Y%m%d_%H%M%S}_{rng.getrandbits(32):08x}",
            "script": script.name,
            "source": self.source,
            "started_at": start,
            "finished_at": start + seconds,
            "duration_ms": round(seconds * 1000.0, 1),
            "exit_code": exit_code,
            "attempt": attempt,
            "metrics": metrics,
            "attrs": attrs,
        }
        if failing:
            fields["attrs"] = attrs | {"error": FAIL_MESSAGES.get(script.name, DEFAULT_FAILURE)}
        return fields

    def _run(self, script: Script, start: float, incidents: Incidents) -> None:
        """One scheduled run and its retries (a minute apart)."""
        for attempt in (1, 2, 3):
            fields = self._outcome(script, start, attempt, incidents)
            if self.mode.live:  # recorded running when it starts, finished when it ends
                begin = {k: fields[k] for k in ("id", "script", "source", "started_at", "attempt")}
                attrs = {k: v for k, v in fields["attrs"].items() if k != "error"}
                self.op(start, EXECUTION, fields=begin | {"attrs": attrs})
                end = {k: fields[k] for k in ("finished_at", "duration_ms", "exit_code", "metrics", "attrs")}
                self.op(fields["finished_at"], FINISH, execution_id=fields["id"], fields=end)
            else:  # one finished record, written at its end, and the start's event
                self.ev(start, "execution_started", entity=script.name, execution_id=fields["id"], status="running")
                self.op(fields["finished_at"], EXECUTION, fields=fields)
            if fields["exit_code"] == 0:
                return
            start = fields["finished_at"] + 60.0
