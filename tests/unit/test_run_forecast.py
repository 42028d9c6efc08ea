"""``reports.forecast.duration_forecast``: a script's runs become the median
duration per bucket (hours when the script runs often enough, days for a
daily job), the forecast goes on beyond now with its bands, too few runs say
so, and a fit is reused until a bucket closes."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from reports.cache import ResultCache
from reports.forecast import duration_forecast, run_buckets

NOW = datetime(2026, 3, 10, 12, 20, tzinfo=timezone.utc)


@dataclasses.dataclass
class Services:
    cache: ResultCache = dataclasses.field(default_factory=ResultCache)


def runs(every: timedelta, n: int, duration: Any) -> list[dict[str, Any]]:
    """``n`` runs ``every`` apart up to NOW, the i-th (oldest first) lasting ``duration(i)`` ms."""
    first = NOW - every * n
    return [
        {"timestamp": (first + every * i).isoformat(), "value": float(duration(i)), "execution_id": f"e{i}"}
        for i in range(n)
    ]


def test_a_slowing_script_is_forecast_slower_beyond_now_with_its_bands() -> None:
    noise = np.random.default_rng(3).normal(0, 5_000, 400)
    points = runs(timedelta(minutes=20), 400, lambda i: 1_200_000 + 2_000 * i + noise[i])  # 20 min, +2 s a run
    fc = duration_forecast(Services(), script="etl.py", points=points, now=NOW)
    assert fc["step_seconds"] == 3600 and fc["points"]
    ahead = fc["points"]
    assert datetime.fromisoformat(ahead[0]["bucket"]) == NOW.replace(minute=0)  # the bucket in progress first
    assert len(ahead) == round(133 / 5)  # a fifth of the ~133 hours of runs
    last_median = float(np.median([p["value"] for p in points[-4:-1]]))
    assert ahead[-1]["value"] > last_median  # still slowing down
    for p in ahead:
        assert p["lower_95"] <= p["lower_80"] <= p["value"] <= p["upper_80"] <= p["upper_95"]
    assert ahead[-1]["upper_95"] - ahead[-1]["lower_95"] > ahead[0]["upper_95"] - ahead[0]["lower_95"]
    assert fc["model"]["name"].startswith("ets") and "frame" not in fc


def test_a_daily_job_is_bucketed_per_day() -> None:
    points = runs(timedelta(days=1), 30, lambda i: 600_000 + (i % 2) * 1_000)
    frame, step = run_buckets(points, now=NOW)
    assert step == 86400 and len(frame) == 30
    fc = duration_forecast(Services(), script="backup.sh", points=points, now=NOW)
    assert fc["step_seconds"] == 86400 and len(fc["points"]) == 6
    assert all(590_000 < p["value"] < 612_000 for p in fc["points"])


def test_too_few_runs_give_no_forecast_and_say_why() -> None:
    fc = duration_forecast(Services(), script="new.py", points=runs(timedelta(days=1), 2, lambda i: 1000), now=NOW)
    assert fc["points"] == [] and fc["model"]["reason"] == "only 2 buckets of runs"


def test_a_fit_is_kept_until_a_bucket_closes() -> None:
    services = Services()
    points = runs(timedelta(minutes=20), 200, lambda i: 60_000 + 100 * i)
    first = duration_forecast(services, script="a.py", points=points, now=NOW)
    newer_run = [*points, {"timestamp": (NOW + timedelta(minutes=5)).isoformat(), "value": 9e9, "execution_id": "x"}]
    same = duration_forecast(services, script="a.py", points=newer_run, now=NOW + timedelta(minutes=10))
    assert same is first  # the new run is in the bucket in progress
    later = duration_forecast(services, script="a.py", points=newer_run, now=NOW + timedelta(hours=1))
    assert later is not first and later["points"][0]["bucket"] > first["points"][0]["bucket"]


def test_a_short_window_of_frequent_runs_stays_hourly() -> None:
    # Six hours of runs every 10 minutes: too few buckets for the twelve wanted, but hours still say most.
    points = runs(timedelta(minutes=10), 36, lambda i: 300_000 + 1_000 * i)
    frame, step = run_buckets(points, now=NOW)
    assert step == 3600 and len(frame) == 6
    fc = duration_forecast(Services(), script="sync.py", points=points, now=NOW)
    assert fc["step_seconds"] == 3600 and len(fc["points"]) == 1
    assert fc["points"][0]["value"] > 300_000


def test_a_script_that_stopped_is_forecast_from_now_and_says_since_when() -> None:
    noise = np.random.default_rng(5).normal(0, 5_000, 200)
    points = runs(timedelta(minutes=20), 200, lambda i: 1_200_000 + noise[i])
    stopped = [p for p in points if datetime.fromisoformat(p["timestamp"]) < NOW - timedelta(hours=10)]
    fc = duration_forecast(Services(), script="etl.py", points=stopped, now=NOW)
    ahead = fc["points"]
    assert datetime.fromisoformat(ahead[0]["bucket"]) == NOW.replace(minute=0)  # not the hours since the last run
    assert len(ahead) in (11, 12)  # still a fifth of the ~57 hours the runs span
    last_run = max(datetime.fromisoformat(p["timestamp"]) for p in stopped)
    assert datetime.fromisoformat(fc["idle_since"]) == last_run.replace(minute=0) + timedelta(hours=1)
    assert 1_100_000 < ahead[0]["value"] < 1_300_000
    # A script still running has no idle_since.
    assert "idle_since" not in duration_forecast(Services(), script="etl.py", points=points, now=NOW)
