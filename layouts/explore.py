"""The Explore page: filters, metric, group-by, top groups, bucket, chart
type and the overlays (baseline band, anomalies, forecast), all in the URL;
the chart, the table of exactly what is shown, CSV and JSON. The time range
is the time bar's (layouts/timebar.py). Chart types and overlays that do not
fit the query are shown disabled with the reason (core/charts.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from core import charts
from core.charts import CHART_TYPES, OVERLAYS
from core.query import Query
from layouts import format as fmt
from layouts import ids, timebar
from layouts.executions import columns as grid_columns
from layouts.executions import grid

FILTER_DIMENSIONS = ("source", "type", "entity", "user", "status")
METRICS = (
    ("count", "Count"),
    ("rate", "Rate / min"),
    ("sum", "Sum"),
    ("avg", "Average"),
    ("min", "Min"),
    ("max", "Max"),
    ("p50", "p50"),
    ("p90", "p90"),
    ("p95", "p95"),
    ("p99", "p99"),
    ("success_rate", "Success rate %"),
    ("unique_users", "Unique users"),
)
FIELDS = (("value", "value"), ("duration_ms", "duration (ms)"))
GROUPS = (
    ("none", "nothing"),
    ("source", "source"),
    ("type", "type"),
    ("entity", "entity"),
    ("user", "user"),
    ("status", "status"),
)
BUCKETS = (
    ("auto", "auto"),
    ("none", "none"),
    ("1min", "minute"),
    ("15min", "15 min"),
    ("1h", "hour"),
    ("D", "day"),
    ("W", "week"),
)
DEFAULTS = {
    "metric": "count",
    "field": "value",
    "group_by": "none",
    "bucket": "auto",
    "chart": "line",
    "overlays": "",
    "top": str(charts.TOP_N),
}
_RULES_DAY = datetime(2026, 1, 1, tzinfo=timezone.utc)  # chart rules read no time, only whether there are buckets


def state_from_query(query: dict[str, str]) -> dict[str, Any]:
    """The view's state from the URL, unknown values replaced by defaults.

    >>> state_from_query({"metric": "p95", "chart": "nope", "source": "a,b"})["chart"], state_from_query({"source": "a,b"})["source"]
    ('line', ['a', 'b'])
    """
    allowed = {"metric": METRICS, "field": FIELDS, "bucket": BUCKETS}
    out: dict[str, Any] = {}
    for key, default in DEFAULTS.items():
        value = query.get(key, default)
        if key in allowed and value not in dict(allowed[key]):
            value = default
        out[key] = value
    if out["chart"] not in CHART_TYPES:
        out["chart"] = "line"
    group = query.get("group_by", "none")
    out["group_by"] = (
        group if group in dict(GROUPS) or (group.startswith("attrs.") and 6 < len(group) <= 100) else "none"
    )
    out["overlays"] = [o for o in out["overlays"].split(",") if o in OVERLAYS]
    out["top"] = top_from(out["top"])
    for dim in FILTER_DIMENSIONS:
        out[dim] = [v for v in query.get(dim, "").split(",") if v][:50]
    out["attr_key"] = query.get("attr_key", "")[:100]
    out["attr_value"] = query.get("attr_value", "")[:200]
    return out


def top_from(raw: Any) -> str:
    """How many groups to draw, from the URL or the input: 1 to
    ``MAX_TOP_N``, else the default.

    >>> top_from("25"), top_from("0"), top_from("x"), top_from(None), top_from(7)
    ('25', '10', '10', '10', '7')
    """
    try:
        n = int(str(raw))
    except ValueError:
        return DEFAULTS["top"]
    return str(n) if 1 <= n <= charts.MAX_TOP_N else DEFAULTS["top"]


def rules_query(s: dict[str, Any]) -> Query:
    """The query the chart rules judge: metric, field, group-by and bucket of ``s``."""
    group = s.get("group_by")
    return Query(
        since=_RULES_DAY,
        until=_RULES_DAY + timedelta(days=1),
        metric=s.get("metric") or "count",
        field=s.get("field") or "value",
        group_by=None if group in ("", "none", None) else group,
        bucket=s.get("bucket") or "auto",
    )


def guarded(s: dict[str, Any], wanted_chart: str | None = None) -> dict[str, Any]:
    """What the chart-type buttons and overlay switches show for the view
    ``s``: each option (disabled ones titled with why), the chart drawn
    (``wanted_chart``, else the first that fits) and the overlays kept, and
    the notes that say what was refused.

    >>> g = guarded({"metric": "count", "group_by": "none", "bucket": "auto", "overlays": []}, "pie")
    >>> g["chart"], g["chart_note"]
    ('line', 'Pie needs a group-by (it shows each group’s share); showing Line.')
    >>> g = guarded({"metric": "p95", "group_by": "user", "bucket": "auto", "chart": "line", "overlays": ["baseline"]})
    >>> g["overlays"], g["overlay_note"]
    ([], 'Baseline band off: the overlays judge one series; remove the group-by to use them.')
    """
    q = rules_query(s)
    chart, chart_note = charts.resolve_chart(q, wanted_chart or DEFAULTS["chart"])
    if wanted_chart is None:  # nothing asked for: the first type that fits, without a note
        chart_note = None
    wanted = list(s.get("overlays") or [])
    kept = charts.usable_overlays(q, wanted)
    overlay_opts = charts.overlay_options(q)
    reason = next((o.reason for o in overlay_opts if not o.enabled), "")
    dropped = [charts.OVERLAY_LABELS[o] for o in wanted if o not in kept]
    overlay_note = (
        f"{', '.join(dropped).capitalize()} off: the overlays {reason}."
        if dropped
        else f"The overlays {reason}."
        if reason
        else None
    )
    return {
        "chart": chart,
        "chart_note": chart_note,
        "chart_options": [
            {
                "label": html.Span(o.chart.title(), title=f"{o.chart.title()} {o.reason}" if o.reason else None),
                "value": o.chart,
                "disabled": not o.enabled,
            }
            for o in charts.chart_options(q)
        ],
        "overlays": kept,
        "overlay_options": [
            {"label": charts.OVERLAY_LABELS[o.chart], "value": o.chart, "disabled": not o.enabled} for o in overlay_opts
        ],
        "overlay_note": overlay_note,
    }


def url_state(s: dict[str, Any]) -> dict[str, Any]:
    """The view ``s`` as the URL keeps it: the chart type only when it is not
    the one the query gets by default (line, else the first type that fits).

    >>> url_state({"metric": "count", "group_by": "none", "bucket": "none", "chart": "bar"})["chart"]
    ''
    """
    natural = guarded(s)["chart"]
    return {**s, "chart": "" if s.get("chart") == natural else s.get("chart")}


def _select(id_: str, options: tuple[tuple[str, str], ...], value: str, label: str) -> dbc.Col:
    return dbc.Col(
        [
            dbc.Label(label, html_for=id_, className="small text-body-secondary mb-1"),
            dbc.Select(id=id_, options=[{"label": l, "value": v} for v, l in options], value=value, size="sm"),
        ],
        md=2,
    )


def page(_pathname: str, query: dict[str, str]) -> html.Div:
    s = state_from_query(query)
    filters = [
        dbc.Col(
            [
                dbc.Label(dim, className="small text-body-secondary mb-1"),
                dcc.Dropdown(
                    id=ids.ex_filter(dim),
                    options=[{"label": v, "value": v} for v in s[dim]],
                    value=s[dim],
                    multi=True,
                    placeholder=f"any {dim}",
                    className="pb-dropdown",
                ),
            ],
            md=2,
        )
        for dim in FILTER_DIMENSIONS
    ]
    attrs = dbc.Col(
        [
            dbc.Label("attrs key = value", className="small text-body-secondary mb-1"),
            dbc.InputGroup(
                [
                    dbc.Input(id=ids.EX_ATTR_KEY, value=s["attr_key"], placeholder="key", size="sm", debounce=True),
                    dbc.Input(
                        id=ids.EX_ATTR_VALUE, value=s["attr_value"], placeholder="value", size="sm", debounce=True
                    ),
                ],
                size="sm",
            ),
        ],
        md=2,
    )
    g = guarded(s, query["chart"][:40] if query.get("chart") else None)
    controls = [
        _select(ids.EX_METRIC, METRICS, s["metric"], "metric"),
        _select(ids.EX_FIELD, FIELDS, s["field"], "of field"),
        _select(
            ids.EX_GROUP,
            GROUPS if s["group_by"] in dict(GROUPS) else (*GROUPS, (s["group_by"], s["group_by"])),
            s["group_by"],
            "group by",
        ),
        dbc.Col(
            html.Div(
                [
                    dbc.Label("top groups", html_for=ids.EX_TOP, className="small text-body-secondary mb-1"),
                    dbc.Input(
                        id=ids.EX_TOP,
                        type="number",
                        min=1,
                        max=charts.MAX_TOP_N,
                        step=1,
                        value=int(s["top"]),
                        size="sm",
                        debounce=True,
                    ),
                ],
                title=f"With a group-by, draw the largest groups only (1 to {charts.MAX_TOP_N});"
                " counts and sums of the rest become one series, other",
            ),
            md=1,
        ),
        _select(ids.EX_BUCKET, BUCKETS, s["bucket"], "bucket"),
        dbc.Col(
            [
                dbc.Label("show", className="small text-body-secondary mb-1"),
                dbc.Checklist(
                    id=ids.EX_OVERLAYS,
                    options=g["overlay_options"],
                    value=g["overlays"],
                    inline=True,
                    switch=True,
                ),
                html.Div(g["overlay_note"], id=ids.EX_OVERLAY_NOTE, className="small text-body-secondary"),
            ],
            md=3,
        ),
    ]
    chart_types = dbc.RadioItems(
        id=ids.EX_CHART_TYPE,
        options=g["chart_options"],
        value=g["chart"],
        inline=True,
        className="ms-auto pb-chart-types",
        input_class_name="btn-check",
        label_class_name="btn btn-sm btn-outline-primary",
        label_checked_class_name="active",
    )
    return html.Div(
        [
            timebar.page_location("explore"),
            dbc.Card(
                dbc.CardBody([dbc.Row(filters + [attrs], className="g-2 mb-2"), dbc.Row(controls, className="g-2")]),
                className="mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(
                        html.Div(
                            [html.Span(id=ids.EX_SUMMARY, className="fw-semibold"), chart_types],
                            className="d-flex align-items-center gap-2",
                        )
                    ),
                    dbc.CardBody(
                        [
                            html.Div(
                                g["chart_note"],
                                id=ids.EX_CHART_NOTE,
                                className="small alert alert-info py-1 px-2 mb-2" if g["chart_note"] else None,
                                role="status",
                            ),
                            html.Div(id=ids.EX_ERROR),
                            dcc.Loading(
                                dcc.Graph(id=ids.EX_CHART, config={"displaylogo": False}),
                                type="dot",
                                delay_show=800,  # a refresh tick redraws in place, without a spinner
                            ),
                            html.Div(id=ids.EX_NOTES, className="small text-body-secondary"),
                            html.Div(id=ids.EX_FORECAST, className="small text-body-secondary"),
                        ]
                    ),
                ],
                className="mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(
                        html.Div(
                            [
                                html.Span("Result", className="fw-semibold"),
                                dbc.Button(
                                    "Download CSV",
                                    id=ids.EX_CSV,
                                    size="sm",
                                    color="primary",
                                    outline=True,
                                    className="ms-auto",
                                ),
                                dbc.Button("Download JSON", id=ids.EX_JSON, size="sm", color="secondary", outline=True),
                                dbc.Button(
                                    "Schedule…",
                                    id=ids.EX_SCHEDULE,
                                    href="/exports",
                                    size="sm",
                                    color="secondary",
                                    outline=True,
                                    title="Write this query to a CSV file on a schedule",
                                ),
                                dbc.Button(
                                    "Add to board…",
                                    id=ids.EX_ADD_BOARD,
                                    size="sm",
                                    color="secondary",
                                    outline=True,
                                    title="Save this view as a panel on a board",
                                ),
                                dcc.Download(id=ids.EX_DOWNLOAD),
                                add_to_board(),
                            ],
                            className="d-flex align-items-center gap-2",
                        )
                    ),
                    dbc.CardBody(grid(ids.EX_TABLE, [])),
                ]
            ),
        ]
    )


def add_to_board() -> dbc.Modal:
    """Save the view (its URL parameters) as a panel on a new or an existing board."""
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Add to board")),
            dbc.ModalBody(
                [
                    dbc.Label("Board", html_for=ids.EX_AB_BOARD, className="small mb-1"),
                    dbc.Select(id=ids.EX_AB_BOARD, options=[], value="", size="sm", className="mb-2"),
                    dbc.Input(
                        id=ids.EX_AB_NEW_TITLE, placeholder="Title of the new board", size="sm", className="mb-2"
                    ),
                    dbc.Label("Panel title", html_for=ids.EX_AB_TITLE, className="small mb-1"),
                    dbc.Input(id=ids.EX_AB_TITLE, placeholder="Panel title", size="sm", className="mb-2"),
                    html.Div(id=ids.EX_AB_MESSAGE, role="status"),
                ]
            ),
            dbc.ModalFooter(dbc.Button("Save panel", id=ids.EX_AB_SAVE, color="primary", size="sm")),
        ],
        id=ids.EX_AB_MODAL,
        is_open=False,
    )


FORECAST_FILL = {80: "rgba(245,159,0,0.30)", 95: "rgba(245,159,0,0.15)"}
FORECAST_LINE = "#f59f00"


BUCKET_WIDTH = 150  # px: a bucket's "2026-12-01 10:00" whole, with the cell's padding, on a phone too


def result_columns(names: list[str], unit: str = "number") -> list[dict[str, Any]]:
    """The result table's columns: a bucket to the minute, numbers grouped in
    thousands; the values of a metric with a unit (durations, percentages,
    rates) as :func:`result_rows` wrote them (the rows keep their exact
    values for sorting and the downloads).

    >>> [c.get("valueFormatter") for c in result_columns(["bucket", "value"])]
    [{'function': 'bucketTime(params)'}, {'function': 'groupedNumber(params)'}]
    >>> result_columns(["value"], "duration")[0]["valueFormatter"]
    {'function': 'shownText(params)'}
    """

    def formatter(name: str) -> str:
        if name == "bucket":
            return "bucketTime(params)"
        return "shownText(params)" if name == "value" and unit in TEXT_UNITS else "groupedNumber(params)"

    return grid_columns(
        [
            {
                "field": c,
                "headerName": c,
                "valueFormatter": {"function": formatter(c)},
                **({"minWidth": BUCKET_WIDTH} if c == "bucket" else {}),
            }
            for c in names
        ]
    )


TEXT_UNITS = ("duration", "percent", "rate")  # values the table shows as text written for their unit


def result_rows(rows: list[dict[str, Any]], unit: str, digits: int) -> list[dict[str, Any]]:
    """Each row with its value also written for ``unit`` (``value_text``), which the table shows.

    >>> result_rows([{"bucket": "t", "value": 1_574_000.0}], "duration", 4)
    [{'bucket': 't', 'value': 1574000.0, 'value_text': '26 min 14 s'}]
    >>> result_rows([{"value": 3.0}], "count", 4)
    [{'value': 3.0}]
    """
    if unit not in TEXT_UNITS:
        return rows
    return [{**r, "value_text": fmt.by_unit(r.get("value"), unit, digits)} if "value" in r else r for r in rows]


def add_forecast(fig: go.Figure, points: list[dict[str, Any]], *, name: str = "forecast") -> go.Figure:
    """Draw forecast ``points`` (``bucket``, ``value``, ``lower_80``/``upper_80``,
    ``lower_95``/``upper_95``) on ``fig``: the 95 % and 80 % bands, then the
    dashed point forecast. Pages that forecast share it.

    >>> pts = [{"bucket": "t1", "value": 2.0, "lower_80": 1.0, "upper_80": 3.0, "lower_95": 0.5, "upper_95": 3.5}]
    >>> [t.name for t in add_forecast(go.Figure(), pts).data]
    ['forecast 95 %', 'forecast 95 %', 'forecast 80 %', 'forecast 80 %', 'forecast']
    """
    if not points:
        return fig
    xs = [p["bucket"] for p in points]
    for level in (95, 80):
        lower, upper = [p[f"lower_{level}"] for p in points], [p[f"upper_{level}"] for p in points]
        if all(v is None for v in lower):
            continue
        label = f"{name} {level} %"
        fig.add_trace(
            go.Scatter(x=xs, y=upper, mode="lines", line={"width": 0}, hoverinfo="skip", showlegend=False, name=label)
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=lower,
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=FORECAST_FILL[level],
                name=label,
                customdata=upper,
                hovertemplate=f"{level} % band: %{{y:.4g}} to %{{customdata:.4g}}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=[p["value"] for p in points],
            mode="lines",
            line={"color": FORECAST_LINE, "dash": "dash"},
            name=name,
            hovertemplate="%{x}<br>forecast %{y:.4g}<extra></extra>",
        )
    )
    fig.update_layout(showlegend=True)
    return fig
