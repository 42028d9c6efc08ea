"""Which charts and overlays fit an Explore query, and the domain of its
metric: the rules the Explore page shows (disabled options say why) and
follows (an impossible chart type falls back, with a note).

- ``line`` and ``area`` draw time series: they need buckets.
- ``bar`` draws either: bars per bucket, or per group over the whole range.
- ``pie`` shows each group's share of a total: a group-by and a metric
  that adds up over groups (count, rate, sum).
- ``heatmap`` lays groups against buckets: a group-by and buckets.
- Grouped areas stack, so they too need a metric that adds up.
- The baseline band, anomalies and forecast judge one series: no group-by,
  and buckets.

>>> from datetime import datetime, timezone
>>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> [(o.chart, o.enabled) for o in chart_options(Query(since=t, until=t, bucket="1h"))]
[('line', True), ('bar', True), ('area', True), ('pie', False), ('heatmap', False)]
>>> resolve_chart(Query(since=t, until=t), "pie")
('line', 'Pie needs a group-by (it shows each group’s share); showing Line.')
"""

from __future__ import annotations

from typing import NamedTuple

from core.query import MAX_TOP_N as MAX_TOP_N
from core.query import Query

CHART_TYPES = ("line", "bar", "area", "pie", "heatmap")
OVERLAYS = ("baseline", "anomalies", "forecast")
OVERLAY_LABELS = {"baseline": "baseline band", "anomalies": "anomalies", "forecast": "forecast"}
#: Metrics that add up over groups and buckets; a missing bucket of one is 0 (nothing happened).
COUNTING = ("count", "rate", "sum", "unique_users")
ADDITIVE = ("count", "rate", "sum")  # unique users of two groups may be the same people
#: Metrics never below zero whatever the field (a sum or a percentile of ``value`` may be).
NONNEGATIVE = ("count", "rate", "unique_users", "success_rate")
#: Top groups drawn by default; the rest are summed as one "other" series (or left out).
TOP_N = 10


class Option(NamedTuple):
    """A chart type or overlay, whether it fits the query and, if not, why."""

    chart: str
    enabled: bool
    reason: str


_NAMES = {"avg": "a mean", "min": "a minimum", "max": "a maximum", "success_rate": "a success rate"}


def _a(metric: str) -> str:
    """The metric as the reasons name it.

    >>> _a("avg"), _a("p95"), _a("unique_users")
    ('a mean', 'a p95', 'a number of unique users')
    """
    return "a number of unique users" if metric == "unique_users" else _NAMES.get(metric, f"a {metric}")


def _is_series(q: Query) -> bool:
    return q.freq is not None


def chart_options(q: Query) -> list[Option]:
    """Each chart type of :data:`CHART_TYPES` for ``q``, in that order."""
    series, grouped, adds_up = _is_series(q), q.group_by is not None, q.metric in ADDITIVE
    no_buckets = "needs buckets (a time series); pick a bucket other than none"
    rules = {
        "line": "" if series else no_buckets,
        "bar": "",
        "area": (
            no_buckets
            if not series
            else ""
            if not grouped or adds_up
            else f"stacks the groups, and {_a(q.metric)} does not add up over groups"
        ),
        "pie": (
            "needs a group-by (it shows each group’s share)"
            if not grouped
            else ""
            if adds_up
            else f"shows shares of a total, and {_a(q.metric)} does not add up over groups"
        ),
        "heatmap": "needs a group-by (groups against time)" if not grouped else "" if series else no_buckets,
    }
    return [Option(c, not rules[c], rules[c]) for c in CHART_TYPES]


def resolve_chart(q: Query, wanted: str) -> tuple[str, str | None]:
    """The chart to draw for ``wanted`` and, when it cannot be drawn, the note
    that says so: the first chart type that fits (line, else bar).

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> resolve_chart(Query(since=t, until=t, group_by="user"), "pie")
    ('pie', None)
    >>> resolve_chart(Query(since=t, until=t, bucket="none"), "sparkline")
    ('bar', 'There is no chart type ‘sparkline’; showing Bar.')
    """
    options = {o.chart: o for o in chart_options(q)}
    if wanted in options and options[wanted].enabled:
        return wanted, None
    fallback = next(o.chart for o in options.values() if o.enabled)
    why = (
        f"{wanted.title()} {options[wanted].reason}" if wanted in options else f"There is no chart type ‘{wanted[:40]}’"
    )
    return fallback, f"{why}; showing {fallback.title()}."


def overlay_options(q: Query) -> list[Option]:
    """Each overlay of :data:`OVERLAYS` for ``q``: they judge one time series."""
    reason = (
        "judge one series; remove the group-by to use them"
        if q.group_by is not None
        else ""
        if _is_series(q)
        else "need buckets (a time series)"
    )
    return [Option(o, not reason, reason) for o in OVERLAYS]


def usable_overlays(q: Query, wanted: list[str]) -> list[str]:
    """The ``wanted`` overlays that fit ``q``."""
    fits = {o.chart for o in overlay_options(q) if o.enabled}
    return [o for o in wanted if o in fits]


def lower_bound(q: Query) -> float | None:
    """The smallest value ``q``'s metric can take: 0 for counts, rates,
    percentages and anything of ``duration_ms`` (percentiles included); None
    for a statistic of ``value``, which may be negative.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> lower_bound(Query(since=t, until=t, metric="avg")), lower_bound(Query(since=t, until=t, metric="avg", field="duration_ms"))
    (None, 0.0)
    """
    return 0.0 if q.metric in NONNEGATIVE or q.field == "duration_ms" else None


def upper_bound(q: Query) -> float | None:
    """The largest value: 100 for a success rate (a percentage), else none."""
    return 100.0 if q.metric == "success_rate" else None


def clamp(value: float | None, q: Query) -> float | None:
    """``value`` within the domain of ``q``'s metric.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> clamp(-3.5, Query(since=t, until=t, metric="p95", field="duration_ms")), clamp(104.0, Query(since=t, until=t, metric="success_rate"))
    (0.0, 100.0)
    """
    if value is None:
        return None
    lo, hi = lower_bound(q), upper_bound(q)
    if lo is not None and value < lo:
        return lo
    if hi is not None and value > hi:
        return hi
    return value


def unit(q: Query) -> str:
    """How ``q``'s values read: ``count``, ``rate`` (per minute), ``percent``,
    ``duration`` (ms) or ``number``.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> unit(Query(since=t, until=t, metric="p95", field="duration_ms")), unit(Query(since=t, until=t, metric="unique_users"))
    ('duration', 'count')
    """
    if q.metric in ("count", "unique_users"):
        return "count"
    if q.metric == "rate":
        return "rate"
    if q.metric == "success_rate":
        return "percent"
    return "duration" if q.field == "duration_ms" else "number"


def from_histogram(q: Query) -> bool:
    """Whether ``q``'s percentiles come from the rollups' duration histograms,
    whose buckets resolve about 3 significant digits."""
    return q.metric.startswith("p") and q.uses_rollups()
