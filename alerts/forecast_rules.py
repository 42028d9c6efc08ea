"""Forecast rules: the metric per ``bucket`` over ``history`` (one series per
``group_by`` value, read as anomaly rules read theirs), forecast ``horizon``
ahead by :func:`analytics.forecast.forecast`, flagged when the chosen
``bound`` crosses the threshold (``op`` ``threshold``) within the horizon.

``bound``: ``value`` (the default) is the central forecast; ``upper`` is the
upper 95 % bound (the earliest plausible crossing upward: "disk used above
90 % within 3 days" fires while the central forecast still stays below 90);
``lower`` the lower 95 % bound (for ``<`` rules: "free space below 10 %").

A fit happens once per rule and bucket: the verdict is kept in the reader's
``memory`` (the engine's, from one evaluation to the next; a backtest's,
from one step to the next) and reused until a new bucket has closed or the
rule changed. The series is of complete buckets only; the first forecast
bucket is the one in progress.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd

from alerts.baseline_rules import _COUNT_LIKE, _at, _buckets
from alerts.metrics import Key, MetricError, Reader, Sample
from alerts.rules import OPS, Rule, format_value
from analytics.forecast import forecast

COLUMN = {"value": "value", "upper": "upper_95", "lower": "lower_95"}
BOUND_TEXT = {"value": "forecast", "upper": "forecast upper 95 % bound", "lower": "forecast lower 95 % bound"}
MAX_GROUPS = 20  # series one rule forecasts: each fit takes a fraction of a second to a second or two
_NONNEGATIVE = (*_COUNT_LIKE, "p50", "p90", "p95", "p99", "success_rate")


def judge(reader: Reader, rule: Rule) -> dict[Key, Sample]:
    """Per group: the bound at the first forecast bucket where it meets the
    condition (flagged, the detail says when and which model), else its
    extreme over the horizon in the condition's direction (not flagged)."""
    step = max(60, int(rule.bucket_delta.total_seconds()) // 60 * 60)
    until_s = int(reader.now.timestamp()) // step * step
    since_s = until_s - int(rule.history_delta.total_seconds()) // step * step
    mem = reader.memory.setdefault(("forecast", rule.name), {"spec": None, "until": None, "out": {}})
    spec = rule.model_dump_json()
    if mem["spec"] == spec and mem["until"] == until_s:
        return dict(mem["out"])  # no new bucket closed: the last fit stands
    per_bucket = _buckets(reader, rule, _at(reader, since_s), _at(reader, until_s), step)
    series: dict[Key, list[tuple[int, float]]] = {}
    for b in sorted(per_bucket):
        for key, sample in per_bucket[b].items():
            if sample.value is not None:
                series.setdefault(key, []).append((b, float(sample.value)))
    if len(series) > MAX_GROUPS:
        raise MetricError(
            f"group_by: {len(series)} groups to forecast, at most {MAX_GROUPS}; narrow the filter or group by less"
        )
    if rule.metric in _COUNT_LIKE:  # no events in the newest buckets is a count of 0, not a gap
        for points in series.values():
            if points[-1][0] < until_s - step:
                points.append((until_s - step, 0.0))
    steps = max(1, round(rule.horizon_delta.total_seconds() / step))
    out = {key: _verdict(rule, points, steps, step, until_s, reader) for key, points in series.items()}
    mem.update(spec=spec, until=until_s, out=out)
    return dict(out)


def _verdict(
    rule: Rule, points: list[tuple[int, float]], steps: int, step: int, until_s: int, reader: Reader
) -> Sample:
    history = pd.DataFrame(
        {"bucket": pd.to_datetime([b for b, _ in points], unit="s", utc=True), "value": [v for _, v in points]}
    )
    counting = rule.metric in _COUNT_LIKE
    nonnegative = rule.metric in _NONNEGATIVE or all(v >= 0 for _, v in points)
    fc = forecast(
        history,
        horizon=steps,
        step_seconds=float(step),
        fill=0.0 if counting else None,
        lower_bound=0.0 if nonnegative else None,
        now=pd.Timestamp(_at(reader, until_s)),
    )
    if fc.empty:
        return Sample(None, len(points), False, "no history to forecast")
    bound = rule.bound or "value"
    column = COLUMN[bound]
    values = fc[column]
    model = str(fc["model"].iloc[0])
    if values.isna().all():  # too short a history for an interval: judge the central forecast
        bound, column, values = "value", "value", fc["value"]
    hits = values.map(lambda v: OPS[rule.op](float(v), rule.threshold))
    what = f"{BOUND_TEXT[bound]} ({model})"
    if hits.any():
        first = int(hits.to_numpy().argmax())
        end = fc["bucket"].iloc[first] + timedelta(seconds=step)
        wait = max(0.0, (end - pd.Timestamp(reader.now)).total_seconds())
        value = float(values.iloc[first])
        detail = (
            f"{BOUND_TEXT[bound]} reaches {format_value(value)} {rule.op} {format_value(rule.threshold)} "
            f"in about {about(wait)} (model {model})"
        )
        return Sample(value, len(points), True, detail)
    value = float(
        values.max() if rule.op in (">", ">=") else values.min() if rule.op in ("<", "<=") else values.iloc[-1]
    )
    detail = (
        f"{what} stays at {format_value(value)}, not {rule.op} {format_value(rule.threshold)}, "
        f"within {about(rule.horizon_delta.total_seconds())}"
    )
    return Sample(value, len(points), False, detail)


def about(seconds: float) -> str:
    """A wait in its two largest units, as the alert's reason says it.

    >>> about(2 * 86400 + 4 * 3600 + 300), about(3 * 3600 + 20 * 60), about(1500), about(20)
    ('2 d 4 h', '3 h 20 min', '25 min', 'under a minute')
    """
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute"
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days} d" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {mins} min" if mins else "")
    return f"{mins} min"


def describe_bound(spec: dict[str, Any]) -> str:
    """The bound a forecast rule judges, in words (for the Alerts page).

    >>> describe_bound({"bound": "upper"}), describe_bound({})
    ('forecast upper 95 % bound', 'forecast')
    """
    return BOUND_TEXT.get(str(spec.get("bound") or "value"), "forecast")
