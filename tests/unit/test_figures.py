"""Figure builders: rows in, Plotly figures out."""

from __future__ import annotations

import pytest

from layouts import figures

ROWS = [
    {"bucket": "2026-11-22T10:00:00+00:00", "group": "pay", "value": 3},
    {"bucket": "2026-11-22T11:00:00+00:00", "group": "pay", "value": 5},
    {"bucket": "2026-11-22T10:00:00+00:00", "group": "scan", "value": 2},
]


def test_explore_draws_one_trace_per_group_for_time_series() -> None:
    fig = figures.explore(ROWS, chart="line")
    assert [t.name for t in fig.data] == ["pay", "scan"]
    assert list(fig.data[0].y) == [3, 5]


def test_explore_area_fills_to_zero_and_bar_groups_bars() -> None:
    assert figures.explore(ROWS, chart="area").data[0].fill == "tozeroy"
    bar = figures.explore(ROWS, chart="bar")
    assert bar.data[0].type == "bar" and bar.layout.barmode == "group"


def test_explore_pie_sums_values_per_group() -> None:
    pie = figures.explore(ROWS, chart="pie").data[0]
    assert dict(zip(pie.labels, pie.values)) == {"pay": 8.0, "scan": 2.0}


def test_explore_heatmap_lays_groups_against_buckets_with_gaps_empty() -> None:
    heat = figures.explore(ROWS, chart="heatmap").data[0]
    assert list(heat.y) == ["pay", "scan"]
    assert [list(r) for r in heat.z] == [[3, 5], [2, None]]


def test_explore_marks_anomalies_and_shades_the_baseline() -> None:
    rows = [{"bucket": "t1", "value": 1.0}, {"bucket": "t2", "value": 9.0}]
    fig = figures.explore(
        rows,
        band=[{"bucket": "t1", "lower": 0.5, "upper": 1.5}],
        anomalies=[{"bucket": "t2", "value": 9.0, "reason": "high"}],
    )
    assert [t.name for t in fig.data] == [None, "baseline band", "value", "anomaly"]
    assert list(fig.data[-1].text) == ["high"]


BUCKETS = ["2026-11-22T10:00:00+00:00", "2026-11-22T11:00:00+00:00", "2026-11-22T12:00:00+00:00"]


def test_explore_shows_a_missing_bucket_as_a_gap_for_values_and_as_zero_for_counts() -> None:
    rows = [{"bucket": BUCKETS[0], "value": 4.0}, {"bucket": BUCKETS[2], "value": 6.0}]
    gaps = figures.explore(rows, buckets=BUCKETS, missing=None).data[0]
    assert (list(gaps.x), list(gaps.y), gaps.connectgaps) == (BUCKETS, [4.0, None, 6.0], False)
    zeros = figures.explore(rows, buckets=BUCKETS, missing=0).data[0]
    assert list(zeros.y) == [4.0, 0, 6.0]


def test_explore_stacks_grouped_areas_and_bars_of_metrics_that_add_up() -> None:
    area = figures.explore(ROWS, chart="area", stack=True, buckets=BUCKETS[:2], missing=0)
    assert [t.stackgroup for t in area.data] == ["total", "total"] and area.data[0].fill is None
    assert list(area.data[1].y) == [2, 0]  # scan had no event at 11:00
    assert figures.explore(ROWS, chart="bar", stack=True).layout.barmode == "stack"


def test_explore_writes_hover_text_and_the_axis_by_unit() -> None:
    rows = [{"bucket": BUCKETS[0], "value": 469.5061}, {"bucket": BUCKETS[1], "value": 1_600_000.0}]
    fig = figures.explore(rows, unit="duration", digits=3)
    assert list(fig.data[0].text) == ["470 ms", "26 min 40 s"]
    assert fig.layout.yaxis.ticktext[-1].endswith("min")  # duration ticks, not 1.6M
    rate = figures.explore([{"bucket": BUCKETS[0], "value": 0.5}], unit="rate")
    assert list(rate.data[0].text) == ["0.5 /min"] and rate.layout.yaxis.ticksuffix == " /min"


def test_explore_draws_the_rest_of_the_groups_in_grey() -> None:
    rows = [*ROWS, {"bucket": BUCKETS[0], "group": "other", "value": 9}]
    fig = figures.explore(rows, muted=("other",))
    assert fig.data[-1].name == "other" and fig.data[-1].line.color == figures.MUTED
    assert [t.line.color for t in fig.data[:2]] == list(figures.PALETTE[:2])  # the grey takes no colour of theirs


def test_explore_with_no_rows_is_an_empty_chart() -> None:
    assert figures.explore([], chart="line").data == ()


def test_metric_trend_marks_regressions_in_red_and_improvements_in_green() -> None:
    points = [{"timestamp": f"t{i}", "value": float(i), "execution_id": f"e{i}"} for i in range(3)]
    fig = figures.metric_trend(
        points,
        steps=[
            {"start_ts": "t1", "kind": "regression", "size_pct": 40.0},
            {"start_ts": "t2", "kind": "improvement", "size_pct": -20.0},
        ],
    )
    assert [s.line.color for s in fig.layout.shapes] == ["#e03131", "#2f9e44"]
    assert [a.text for a in fig.layout.annotations] == ["regression +40 %", "improvement -20 %"]
    assert list(fig.data[0].customdata) == ["e0", "e1", "e2"]


def test_usage_bars_stack_overage_on_top_with_users_in_the_tooltip() -> None:
    fig = figures.usage_bars([{"timestamp": "t", "count": 4, "users": ["ann", "bob"], "overage_count": 1}])
    assert [t.name for t in fig.data] == ["borrows", "overage"]
    assert [list(t.y) for t in fig.data] == [[3], [1]]
    assert fig.layout.barmode == "stack"
    assert fig.data[0].customdata[0] == "ann, bob"


def test_dark_charts_use_the_dark_template() -> None:
    assert figures.activity([], dark=True).layout.template.layout.paper_bgcolor is not None
    assert figures.activity([], dark=True).layout.font.color == "#c9d1d9"
    assert figures.activity([], dark=False).layout.font.color is None


@pytest.mark.parametrize("dark", [False, True])
def test_the_theme_set_without_validation_is_the_template_plotly_validates(dark: bool) -> None:
    import json

    import plotly.graph_objects as go

    name = "plotly_dark" if dark else "plotly_white"
    validated = go.Figure(go.Scatter(y=[1, 2])).update_layout(template=name)
    themed = figures.theme(go.Figure(go.Scatter(y=[1, 2])), dark=dark)
    assert json.loads(themed.to_json()) == json.loads(validated.to_json())
    assert themed.layout.template.layout.paper_bgcolor == validated.layout.template.layout.paper_bgcolor
    themed.update_layout(height=123)  # the layout validates again afterwards
    with pytest.raises(ValueError):
        themed.update_layout(height="tall")
