"""Explore's chart rules (core/charts.py): which chart types and overlays fit
a query, the fallback for one that does not, and the metric's domain."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from core import charts
from core.query import Query

T = datetime(2026, 11, 19, tzinfo=timezone.utc)


def q(**kw: Any) -> Query:
    return Query(since=T - timedelta(hours=24), until=T, **kw)


def enabled(query: Query) -> list[str]:
    return [o.chart for o in charts.chart_options(query) if o.enabled]


def test_an_ungrouped_time_series_draws_as_line_bar_or_area_not_pie_or_heatmap() -> None:
    options = {o.chart: o for o in charts.chart_options(q())}
    assert enabled(q()) == ["line", "bar", "area"]
    assert "group-by" in options["pie"].reason and "group-by" in options["heatmap"].reason


def test_a_grouped_count_fits_every_chart_type() -> None:
    assert enabled(q(group_by="source")) == list(charts.CHART_TYPES)


def test_a_breakdown_over_the_whole_range_is_bars_or_pie() -> None:
    assert enabled(q(group_by="source", bucket="none")) == ["bar", "pie"]
    assert enabled(q(bucket="none")) == ["bar"]
    options = {o.chart: o for o in charts.chart_options(q(bucket="none"))}
    assert "buckets" in options["line"].reason


@pytest.mark.parametrize("metric", ["avg", "p95", "success_rate", "unique_users", "max"])
def test_metrics_that_do_not_add_up_over_groups_neither_stack_nor_make_a_pie(metric: str) -> None:
    options = {o.chart: o for o in charts.chart_options(q(metric=metric, group_by="user"))}
    assert not options["pie"].enabled and "does not add up over groups" in options["pie"].reason
    assert not options["area"].enabled and "stacks the groups" in options["area"].reason
    assert options["line"].enabled and options["heatmap"].enabled
    assert options["area"].chart in enabled(q(metric=metric))  # one series does not stack


def test_an_impossible_or_unknown_chart_type_falls_back_with_a_note() -> None:
    assert charts.resolve_chart(q(), "heatmap") == (
        "line",
        "Heatmap needs a group-by (groups against time); showing Line.",
    )
    chart, note = charts.resolve_chart(q(bucket="none"), "line")
    assert chart == "bar" and note is not None and note.startswith("Line needs buckets")
    chart, note = charts.resolve_chart(q(), "<b>radar</b>")
    assert chart == "line" and note == "There is no chart type ‘<b>radar</b>’; showing Line."
    assert charts.resolve_chart(q(group_by="status"), "pie") == ("pie", None)


def test_overlays_judge_one_ungrouped_time_series() -> None:
    assert all(o.enabled for o in charts.overlay_options(q()))
    grouped = charts.overlay_options(q(group_by="user"))
    assert not any(o.enabled for o in grouped) and "group-by" in grouped[0].reason
    assert not charts.overlay_options(q(bucket="none"))[0].enabled
    assert charts.usable_overlays(q(group_by="user"), ["baseline", "forecast"]) == []
    assert charts.usable_overlays(q(), ["forecast", "nonsense"]) == ["forecast"]


@pytest.mark.parametrize(
    ("query", "low", "high"),
    [
        (q(metric="count"), 0.0, None),
        (q(metric="p95", field="duration_ms"), 0.0, None),
        (q(metric="p50"), None, None),  # of value, which may be negative
        (q(metric="unique_users"), 0.0, None),
        (q(metric="avg", field="duration_ms"), 0.0, None),
        (q(metric="success_rate"), 0.0, 100.0),
        (q(metric="avg"), None, None),  # a value may be negative
        (q(metric="sum"), None, None),
        (q(metric="sum", field="duration_ms"), 0.0, None),
    ],
)
def test_the_domain_of_each_metric(query: Query, low: float | None, high: float | None) -> None:
    assert (charts.lower_bound(query), charts.upper_bound(query)) == (low, high)


def test_clamp_keeps_a_band_inside_the_domain() -> None:
    assert charts.clamp(-12.0, q(metric="p95", field="duration_ms")) == 0.0
    assert charts.clamp(-12.0, q(metric="min")) == -12.0
    assert charts.clamp(101.0, q(metric="success_rate")) == 100.0
    assert charts.clamp(None, q()) is None


def test_percentiles_from_rollups_come_from_histograms_and_from_raw_events_do_not() -> None:
    assert charts.from_histogram(q(metric="p95", field="duration_ms"))
    assert not charts.from_histogram(q(metric="p95", field="duration_ms", group_by="user"))
    assert not charts.from_histogram(q(metric="avg", field="duration_ms"))
