"""Forecasts of what Pulseboard stores: an Explore query's series
(:func:`query_forecast`, behind ``GET /api/forecast`` and the Explore
page's forecast toggle), revenue per day (:func:`revenue_forecast`, the
Revenue page), the growth of the database and of the disk
(:func:`capacity_forecast`, the System page) and a script's run duration
(:func:`duration_forecast`, the Executions page).

Each answer is kept like the other cached reads (``reports.cache.cached``):
recomputed once an event is stored, else reused for :data:`TTL` seconds.
The model and its intervals are :func:`analytics.forecast.forecast`'s.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from analytics.buckets import bucket_seconds
from analytics.forecast import first_crossing, forecast
from core.durations import parse_duration
from core.errors import InvalidInput
from core.query import Query
from data.queries import Filters
from reports import explore, usage
from reports.cache import cached

TTL = 60.0
CACHE = "forecast"
#: Most buckets a forecast covers; the horizon is also at most the query's window.
MAX_STEPS = 500
#: Metrics whose missing buckets are 0 (nothing happened) and whose values are never negative.
COUNTING = ("count", "rate", "sum", "unique_users")
NONNEGATIVE = (*COUNTING, "p50", "p90", "p95", "p99", "success_rate")
SELF_SOURCE = "pulseboard"  # the self-monitoring gauges (jobs.maintenance)
REVENUE_DAYS = 7
REVENUE_HISTORY = timedelta(weeks=8)
CAPACITY_HISTORY = timedelta(days=14)
CAPACITY_HORIZON = timedelta(days=30)
#: Bucket sizes a script's run durations are tried in, smallest first (see run_buckets).
RUN_STEPS = (3600, 6 * 3600, 86400)
RUN_GAP_SHARE = 0.9  # a bucket a little shorter than the usual gap still holds a run most times (jitter)
RUN_CACHE = "forecast-runs"
RUN_TTL = 3600.0  # a run-duration fit depends on its input buckets and the bucket in progress only


def horizon_steps(q: Query, raw: str | None) -> int:
    """Buckets to forecast for ``q``: ``raw`` (a duration, e.g. ``6h``) or one
    fifth of the window, at least one bucket, at most the window and
    :data:`MAX_STEPS` buckets; an ``InvalidInput`` naming ``horizon`` (or
    ``bucket``/``group_by`` for a query that is not one series).

    >>> from datetime import timezone
    >>> now = datetime(2026, 1, 2, tzinfo=timezone.utc)
    >>> q = Query(since=now - timedelta(days=1), until=now, bucket="1h")
    >>> horizon_steps(q, None), horizon_steps(q, "12h")
    (5, 12)
    >>> horizon_steps(q, "3d")
    Traceback (most recent call last):
    ...
    core.errors.InvalidInput: parameter 'horizon': at most the window (1 day, 0:00:00), got 3d
    """
    freq = q.freq
    if freq is None:
        raise InvalidInput("bucket", "a forecast needs a bucketed series; choose a bucket other than none")
    if q.group_by:
        raise InvalidInput("group_by", "a forecast is of one series; remove group_by or filter to one group")
    step = bucket_seconds(freq)
    window = q.until - q.since
    if raw is None:
        horizon = window / 5
    else:
        horizon = parse_duration(raw, "horizon")
        if horizon > window:
            raise InvalidInput("horizon", f"at most the window ({window}), got {raw}")
    steps = max(1, round(horizon.total_seconds() / step))
    if horizon.total_seconds() < step and raw is not None:
        raise InvalidInput("horizon", f"at least one bucket ({freq}), got {raw}")
    if steps > MAX_STEPS:
        raise InvalidInput("horizon", f"at most {MAX_STEPS} buckets of {freq}, got {steps}; choose a larger bucket")
    return steps


def series_forecast(
    history: pd.DataFrame,
    *,
    steps: int,
    step_seconds: float,
    counting: bool,
    nonnegative: bool,
    damped: bool = True,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The forecast of a ``bucket``/``value`` frame as JSON-ready parts: history
    and forecast points, the model, its reason and fit diagnostics."""
    started = time.perf_counter()
    fc = forecast(
        history,
        horizon=steps,
        step_seconds=step_seconds,
        fill=0.0 if counting else None,
        damped=damped,
        lower_bound=0.0 if nonnegative else None,
        now=pd.Timestamp(now) if now is not None else None,
    )
    fit_ms = (time.perf_counter() - started) * 1000.0
    diagnostics = dict(fc.attrs.get("diagnostics", {}))
    points = [
        {
            "bucket": b.isoformat(),
            "value": _num(r.value),
            "lower_80": _num(r.lower_80),
            "upper_80": _num(r.upper_80),
            "lower_95": _num(r.lower_95),
            "upper_95": _num(r.upper_95),
        }
        for b, r in zip(fc["bucket"], fc.itertuples(index=False))
    ]
    return {
        "model": {
            "name": str(fc["model"].iloc[0]) if len(fc) else "none",
            "season_length": int(fc["season_length"].iloc[0]) if len(fc) else 0,
            "reason": str(fc["reason"].iloc[0]) if len(fc) else str(diagnostics.get("reason", "no history")),
        },
        "diagnostics": diagnostics | {"fit_ms": round(fit_ms, 1)},
        "points": points,
        "frame": fc,
    }


def query_forecast(services: Any, q: Query, steps: int) -> dict[str, Any]:
    """The Explore query ``q`` run and its next ``steps`` buckets forecast."""

    def compute() -> dict[str, Any]:
        with services.db.replica() as conn:
            history = explore.run(conn, q)
        freq = q.freq
        assert freq is not None  # horizon_steps refused unbucketed queries
        result = series_forecast(
            history,
            steps=steps,
            step_seconds=bucket_seconds(freq),
            counting=q.metric in COUNTING,
            nonnegative=q.metric in NONNEGATIVE or bool(len(history) and (history["value"].dropna() >= 0).all()),
            now=q.until - timedelta(seconds=1),
        )
        return result | {"history": explore.to_records(history)}

    return cached(services, ("forecast", q, steps), compute, ttl=TTL, name=CACHE)


def revenue_forecast(services: Any, *, now: datetime, filters: Filters, days: int = REVENUE_DAYS) -> dict[str, Any]:
    """Successful payments' revenue of the next ``days`` days, from the daily
    totals of the last :data:`REVENUE_HISTORY` (weekly cycles show there), with
    the expected total (``total``: ``value`` and the sums of the bounds)."""

    def compute() -> dict[str, Any]:
        with services.db.replica() as conn:
            totals = usage.revenue(
                conn, since=now - REVENUE_HISTORY, until=now, freq="D", filters=filters, success_only=True
            )
        frame = pd.DataFrame(
            {"bucket": [p["period"] for p in totals["periods"]], "value": [p["total"] for p in totals["periods"]]}
        )
        frame = _trim_leading_zeros(frame)
        result = series_forecast(frame, steps=days, step_seconds=86400.0, counting=True, nonnegative=True, now=now)
        result["total"] = _total(result["points"])
        return result

    return cached(
        services,
        ("revenue-forecast", filters, now.replace(second=0, microsecond=0), days),
        compute,
        ttl=TTL,
        name=CACHE,
    )


def capacity_forecast(services: Any, *, now: datetime, disk_free_mb: float) -> dict[str, Any]:
    """The database size and the disk use (gauges of source ``pulseboard``:
    ``db_size_mb``, ``disk_percent``) over :data:`CAPACITY_HISTORY` in hourly
    maxima, extrapolated :data:`CAPACITY_HORIZON` ahead with a straight trend,
    and when each would fill the disk: the database when it has grown by the
    disk's free space, the disk when its use reaches 100 %. ``full`` is None
    when neither forecast reaches that within the horizon."""

    def compute() -> dict[str, Any]:
        out: dict[str, Any] = {}
        with services.db.replica() as conn:
            sizes = _gauge(conn, "db_size_mb", now)
            disk = _gauge(conn, "disk_percent", now)
        steps = round(CAPACITY_HORIZON / timedelta(hours=1))
        for name, history, limit in (
            ("database", sizes, None),
            ("disk", disk, 100.0),
        ):
            result = series_forecast(
                history, steps=steps, step_seconds=3600.0, counting=False, nonnegative=True, damped=False, now=now
            )
            values = history["value"].dropna()
            if limit is None and len(values):
                limit = float(values.iloc[-1]) + disk_free_mb
            result["limit"] = limit
            result["full"] = _full(result["frame"], limit, now) if limit is not None and len(values) >= 2 else None
            result["history"] = explore.to_records(history)
            out[name] = result
        return out

    return cached(
        services,
        ("capacity-forecast", now.replace(second=0, microsecond=0), round(disk_free_mb)),
        compute,
        ttl=TTL,
        name=CACHE,
    )


def run_buckets(points: list[dict[str, Any]], *, now: datetime) -> tuple[pd.DataFrame, int]:
    """A script's runs (``timestamp``, ``value`` = duration in ms) as the
    median duration per bucket of the complete buckets before ``now``, and the
    bucket size in seconds: the smallest of :data:`RUN_STEPS` that the usual
    gap between runs fits in (so most buckets hold a run), else a day.

    >>> from datetime import timezone
    >>> now = datetime(2026, 1, 3, tzinfo=timezone.utc)
    >>> runs = [{"timestamp": (now - timedelta(minutes=20 * i + 5)).isoformat(), "value": 1000.0 + i} for i in range(60)]
    >>> frame, step = run_buckets(runs, now=now)
    >>> step, len(frame), float(frame["value"].iloc[-1])
    (3600, 20, 1001.0)
    >>> run_buckets(runs[::6], now=now)[1]  # every two hours: medians of 6 hours
    21600
    """
    ts = pd.to_datetime([p["timestamp"] for p in points], utc=True, format="ISO8601")
    runs = pd.Series([float(p["value"]) for p in points], index=ts, dtype="float64").sort_index()
    gaps = runs.index.to_series().diff().dropna().dt.total_seconds()
    usual = float(gaps.median()) if len(gaps) else float(RUN_STEPS[-1])
    step = next((s for s in RUN_STEPS if s >= RUN_GAP_SHARE * usual), RUN_STEPS[-1])
    freq = f"{step}s"
    kept = runs[runs.index.floor(freq) < pd.Timestamp(now).floor(freq)]
    medians = kept.groupby(kept.index.floor(freq)).median()
    frame = pd.DataFrame({"bucket": pd.DatetimeIndex(medians.index), "value": medians.to_numpy(dtype="float64")})
    return frame, step


def duration_forecast(services: Any, *, script: str, points: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The run duration of ``script`` ahead of ``now``: its runs (``points``,
    as ``reports.scripts.history`` gives them) as the median per bucket
    (:func:`run_buckets`), forecast a fifth of their span ahead (at least one
    bucket) with 80 % and 95 % intervals. ``step_seconds`` is the bucket
    size; ``points`` is empty with fewer than 3 buckets of runs. When whole
    buckets have passed without a run, the forecast starts at the bucket in
    progress and ``idle_since`` says when the runs stopped. A fit is
    kept while its input buckets and the bucket in progress are unchanged
    (new runs of the bucket in progress do not refit it)."""
    frame, step = run_buckets(points, now=now)
    if len(frame) < 3:
        reason = f"only {len(frame)} bucket{'s' if len(frame) != 1 else ''} of runs"
        return {"model": {"name": "none", "season_length": 0, "reason": reason}, "points": [], "step_seconds": step}
    span = (frame["bucket"].iloc[-1] - frame["bucket"].iloc[0]).total_seconds() + step
    steps = max(1, min(MAX_STEPS, round(span / 5 / step)))
    current = pd.Timestamp(now).floor(f"{step}s")

    def compute() -> dict[str, Any]:
        result = public(
            series_forecast(frame, steps=steps, step_seconds=float(step), counting=False, nonnegative=True, now=now)
        )
        if result["diagnostics"].get("gap_buckets"):  # the script stopped: the forecast starts now all the same
            result["idle_since"] = (frame["bucket"].iloc[-1] + pd.Timedelta(seconds=step)).isoformat()
        return result | {"step_seconds": step}

    key = ("run-duration", script, step, steps, current, tuple(frame["bucket"].astype("int64")), tuple(frame["value"]))
    cache = services.cache.named(RUN_CACHE, RUN_TTL)
    return cache.get_or_compute(key, 0, compute, RUN_TTL)  # type: ignore[no-any-return]


def _gauge(conn: Connection, type_: str, now: datetime) -> pd.DataFrame:
    q = Query(
        since=now - CAPACITY_HISTORY,
        until=now + timedelta(seconds=1),
        metric="max",
        bucket="1h",
        filters=Filters(source=(SELF_SOURCE,), type=(type_,)),
    )
    return explore.run(conn, q)


def _full(fc: pd.DataFrame, limit: float, now: datetime) -> dict[str, Any] | None:
    """When the forecast reaches ``limit``: the expected day and the earliest
    plausible one (the 95 % upper bound), in days from ``now``."""
    expected = first_crossing(fc, threshold=limit)
    earliest = first_crossing(fc, threshold=limit, column="upper_95")
    if earliest is None:
        return None
    start = pd.Timestamp(now)
    return {
        "at": expected.isoformat() if expected is not None else None,
        "days": _days(expected, start),
        "earliest": earliest.isoformat(),
        "earliest_days": _days(earliest, start),
    }


def _days(ts: pd.Timestamp | None, start: pd.Timestamp) -> float | None:
    return None if ts is None else round(max(0.0, (ts - start).total_seconds() / 86400.0), 1)


def _total(points: list[dict[str, Any]]) -> dict[str, float | None] | None:
    """The forecast's sum over its points, with the sums of the daily bounds:
    exact when the days' errors move together and wider than the sum's own
    interval otherwise (never narrower for normal errors), so a cautious
    range for the total."""
    if not points:
        return None
    out: dict[str, float | None] = {"value": _num(sum(p["value"] or 0.0 for p in points))}
    for key in ("lower_80", "upper_80", "lower_95", "upper_95"):
        bounds = [p[key] for p in points]
        out[key] = None if any(b is None for b in bounds) else _num(sum(bounds))
    return out


def _trim_leading_zeros(frame: pd.DataFrame) -> pd.DataFrame:
    """Periods before the first payment are not history (a new installation)."""
    nonzero = frame.index[frame["value"].fillna(0) != 0]
    return frame.loc[nonzero[0] :] if len(nonzero) else frame.iloc[:0]


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if v != v else round(v, 6)


def public(result: Mapping[str, Any]) -> dict[str, Any]:
    """``result`` without its frame (for JSON)."""
    return {k: v for k, v in result.items() if k != "frame"}
