"""Figure builders: plain functions from rows to Plotly figures (unit-tested;
no Dash, no database)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.colors
import plotly.graph_objects as go
import plotly.io

from layouts import format

ACCENT = "#3b6cf6"
MUTED = "#868e96"
PALETTE = plotly.colors.qualitative.Plotly  # ten; a group-by draws at most the top ten by default
STATUS_COLOURS = {"success": "#2f9e44", "failure": "#e03131", "neutral": "#868e96"}


def theme(fig: go.Figure, *, dark: bool) -> go.Figure:
    """Plotly's own light or dark template on ``fig``, set as Plotly sets its default
    template: without validating it again. (``update_layout(template="plotly_white")``
    validates the whole template, some 0.1 s of CPU per figure; the figure's JSON is
    the same.)"""
    layout = fig.layout
    validate = layout._validate
    layout._validate = False
    try:
        layout.template = plotly.io.templates["plotly_dark" if dark else "plotly_white"]
    finally:
        layout._validate = validate
    return fig


def _layout(fig: go.Figure, *, dark: bool, height: int = 280) -> go.Figure:
    theme(fig, dark=dark)
    fig.update_layout(
        height=height,
        margin={"l": 40, "r": 16, "t": 16, "b": 36},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        showlegend=False,
        uirevision="keep",
    )
    # Neutral grid and text: readable on the light and the dark theme alike.
    fig.update_xaxes(gridcolor="rgba(128,128,128,0.2)", zerolinecolor="rgba(128,128,128,0.3)")
    fig.update_yaxes(gridcolor="rgba(128,128,128,0.2)", zerolinecolor="rgba(128,128,128,0.3)")
    if not fig.data:  # nothing to draw: no empty axes from -1 to 6 (the page says why there is no data)
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    if not dark:
        return fig
    fig.update_layout(font={"color": "#c9d1d9"})
    return fig


def activity(rows: list[dict[str, Any]], *, dark: bool = False) -> go.Figure:
    """Events per bucket: ``rows`` of ``{"bucket": iso, "value": n}``.

    >>> f = activity([{"bucket": "2026-01-01T00:00:00+00:00", "value": 3}])
    >>> list(f.data[0].y)
    [3]
    """
    fig = go.Figure(
        go.Bar(
            x=[r["bucket"] for r in rows],
            y=[r["value"] for r in rows],
            marker_color=ACCENT,
            name="events",
            hovertemplate="%{x}<br>%{y} events<extra></extra>",
        )
    )
    return _layout(fig, dark=dark)


def breakdown_bar(rows: list[dict[str, Any]], *, label: str, dark: bool = False) -> go.Figure:
    """Horizontal bars of ``{label: name, "count": n}`` rows, largest on top."""
    rows = sorted(rows, key=lambda r: r["count"])
    fig = go.Figure(
        go.Bar(x=[r["count"] for r in rows], y=[r[label] for r in rows], orientation="h", marker_color=ACCENT)
    )
    return _layout(fig, dark=dark, height=max(160, 34 * len(rows) + 60))


def live_stream() -> go.Figure:
    """An empty swimlane chart (one lane per source) that the browser extends
    point by point as events arrive; grey text so it reads on either theme."""
    fig = go.Figure(
        go.Scatter(
            x=[],
            y=[],
            text=[],
            mode="markers",
            marker={"size": 7, "color": []},
            hovertemplate="%{x}<br>%{y}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(type="category")
    fig = _layout(fig, dark=False, height=200)
    fig.update_layout(template="none", font={"color": "#8b949e"})
    return fig


def explore(
    rows: list[dict[str, Any]],
    *,
    chart: str = "line",
    band: list[dict[str, Any]] | None = None,
    anomalies: list[dict[str, Any]] | None = None,
    title: str = "",
    buckets: list[str] | None = None,
    missing: float | None = None,
    stack: bool = False,
    unit: str = "number",
    digits: int = format.SIGNIFICANT,
    muted: tuple[str, ...] = (),
    dark: bool = False,
) -> go.Figure:
    """The Explore chart from query rows (``bucket``? ``group``? ``value``).

    Time series draw one trace per group over ``buckets`` (every bucket of
    the range, when given): a bucket without a row is ``missing``, 0 for
    counts and None, a gap, for values measured on events. ``stack`` stacks
    grouped areas and bars (metrics that add up over groups). ``pie`` sums
    per group; ``heatmap`` lays groups against buckets. ``band`` rows
    (``bucket, lower, upper``) shade the baseline, ``anomalies`` rows
    (``bucket, value, reason``) are marked. Hover text and the value axis
    follow ``unit`` (``layouts.format.by_unit``), to ``digits`` significant
    digits. Groups named in ``muted`` (the sum of the rest) are grey.

    >>> rows = [{"bucket": "t1", "group": "a", "value": 1}, {"bucket": "t3", "group": "a", "value": 2}]
    >>> f = explore(rows, chart="line", buckets=["t1", "t2", "t3"])
    >>> list(f.data[0].y), f.data[0].connectgaps
    ([1, None, 2], False)
    """
    fig = go.Figure()
    timed = bool(rows) and "bucket" in rows[0]
    grouped = bool(rows) and "group" in rows[0]

    def text(v: Any) -> str:
        return format.by_unit(v, unit, digits)

    if chart == "pie":
        totals: dict[str, float] = {}
        for r in rows:
            label = str(r["group"]) if grouped else "all"
            totals[label] = totals.get(label, 0.0) + float(r["value"] or 0)
        fig.add_trace(
            go.Pie(
                labels=list(totals),
                values=list(totals.values()),
                hole=0.45,
                text=[text(v) for v in totals.values()],
                textinfo="percent",
                sort=False,  # the groups' own order: largest first, the rest last
                marker={"colors": _colours(list(totals), muted)},
                hovertemplate="%{label}<br>%{text} · %{percent}<extra></extra>",
            )
        )
        fig = _layout(fig, dark=dark, height=380)
        fig.update_layout(showlegend=True)
        return fig
    if chart == "heatmap" and timed and grouped:
        xs = buckets or sorted({r["bucket"] for r in rows})
        groups = list(dict.fromkeys(str(r["group"]) for r in rows))
        cell = {(r["bucket"], str(r["group"])): r["value"] for r in rows}
        z = [[cell.get((b, g), missing) for b in xs] for g in groups]
        fig.add_trace(
            go.Heatmap(
                x=xs,
                y=groups,
                z=z,
                text=[[text(v) for v in line] for line in z],
                colorscale="Blues",
                hovertemplate="%{y}<br>%{x}<br>%{text}<extra></extra>",
            )
        )
        fig.update_yaxes(autorange="reversed")  # the largest group on top, as in the legend
        return _layout(fig, dark=dark, height=max(280, 28 * len(groups) + 80))
    if band:
        xs = [b["bucket"] for b in band]
        fig.add_trace(
            go.Scatter(
                x=xs, y=[b["upper"] for b in band], mode="lines", line={"width": 0}, hoverinfo="skip", showlegend=False
            )
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[b["lower"] for b in band],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(59,108,246,0.15)",
                customdata=[text(b["upper"]) for b in band],
                text=[text(b["lower"]) for b in band],
                hovertemplate="baseline %{text} to %{customdata}<extra></extra>",
                name="baseline band",
            )
        )
    series: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        series.setdefault(str(r["group"]) if grouped else "value", []).append(r)
    colours = dict(zip(series, _colours(list(series), muted))) if grouped else {}
    for name, points in series.items():
        if timed:
            values = {p["bucket"]: p["value"] for p in points}
            x = buckets or list(values)
            y = [values.get(b, missing) for b in x]
        else:
            x, y = [name], [p["value"] for p in points]
        hover = "%{x}<br>%{text}<extra>" + name.replace("%", "%%")[:40] + "</extra>"
        labels = [text(v) for v in y]
        colour = colours.get(name, ACCENT)
        if chart == "bar" or not timed:
            fig.add_trace(
                go.Bar(x=x, y=y, name=name, text=labels, textposition="none", hovertemplate=hover, marker_color=colour)
            )
            continue
        shown = sum(v is not None for v in y)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                name=name,
                text=labels,
                hovertemplate=hover,
                connectgaps=False,
                line={"color": colour} if colour else None,
                mode="lines+markers" if shown < 60 else "lines",
                stackgroup="total" if chart == "area" and stack and grouped else None,
                fill="tozeroy" if chart == "area" and not (stack and grouped) else None,
            )
        )
    if anomalies:
        fig.add_trace(
            go.Scatter(
                x=[a["bucket"] for a in anomalies],
                y=[a["value"] for a in anomalies],
                mode="markers",
                marker={"color": "#e03131", "size": 12, "symbol": "x"},
                name="anomaly",
                text=[a["reason"] for a in anomalies],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    fig = _layout(fig, dark=dark, height=380)
    fig.update_layout(
        showlegend=grouped or bool(band) or bool(anomalies),
        barmode="stack" if stack else "group",
        title={"text": title, "x": 0.01, "font": {"size": 14}},
        # Below the plot: a phone's width goes to the chart, not to eleven names.
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0},
    )
    if unit == DURATION_UNIT:
        highest = max([float(r["value"]) for r in rows if r["value"] is not None], default=0.0)
        if stack:  # stacked groups reach the largest sum per bucket
            sums: dict[str, float] = {}
            for r in rows:
                sums[r.get("bucket", "")] = sums.get(r.get("bucket", ""), 0.0) + float(r["value"] or 0)
            highest = max(sums.values(), default=highest)
        highest = max([highest, *(float(b["upper"]) for b in band or [] if b["upper"] is not None)])
        fig.update_yaxes(**duration_axis(highest * 1.05))
    else:
        fig.update_yaxes(**format.axis(unit))
    return fig


DURATION_UNIT = "duration"


def _colours(names: list[str], muted: tuple[str, ...]) -> list[str]:
    """A colour per group: the palette in order, grey for the ``muted`` (the rest), which takes no turn.

    >>> _colours(["a", "other", "b"], ("other",)) == [PALETTE[0], MUTED, PALETTE[1]]
    True
    """
    out, turn = [], 0
    for name in names:
        if name in muted:
            out.append(MUTED)
        else:
            out.append(PALETTE[turn % len(PALETTE)])
            turn += 1
    return out


def metric_trend(
    points: list[dict[str, Any]],
    *,
    band: list[dict[str, Any]] | None = None,
    anomalies: list[dict[str, Any]] | None = None,
    steps: list[dict[str, Any]] | None = None,
    name: str = "value",
    dark: bool = False,
) -> go.Figure:
    """A per-run metric over time (``timestamp, value, execution_id``) with its
    baseline band, anomalous runs and detected steps marked.

    >>> f = metric_trend([{"timestamp": "t1", "value": 1.0, "execution_id": "e1"}], steps=[{"start_ts": "t1", "kind": "regression", "size_pct": 40.0}])
    >>> [t.name for t in f.data], len(f.layout.shapes)
    (['duration_ms'], 1)
    """
    name = name if name != "value" else "duration_ms"
    fig = go.Figure()
    if band:
        xs = [b["timestamp"] for b in band]
        fig.add_trace(
            go.Scatter(
                x=xs, y=[b["upper"] for b in band], mode="lines", line={"width": 0}, hoverinfo="skip", showlegend=False
            )
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[b["lower"] for b in band],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(59,108,246,0.15)",
                hoverinfo="skip",
                name="baseline band",
            )
        )
    is_duration = name == DURATION
    writer = format.duration if is_duration else format.number
    fig.add_trace(
        go.Scatter(
            x=[p["timestamp"] for p in points],
            y=[p["value"] for p in points],
            mode="lines+markers",
            name=name,
            marker={"size": 5, "color": ACCENT},
            line={"color": ACCENT, "width": 1.5},
            customdata=[p["execution_id"] for p in points],
            text=[writer(p["value"]) for p in points],
            hovertemplate="%{x}<br>%{text}<br>%{customdata}<extra></extra>",
        )
    )
    if anomalies:
        fig.add_trace(
            go.Scatter(
                x=[a["timestamp"] for a in anomalies],
                y=[a["value"] for a in anomalies],
                mode="markers",
                name="anomaly",
                marker={"color": "#e03131", "size": 12, "symbol": "x"},
                text=[a["reason"] for a in anomalies],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    for step in steps or []:
        colour = "#e03131" if step["kind"] == "regression" else "#2f9e44"
        pct = f" {step['size_pct']:+.0f} %" if step.get("size_pct") is not None else ""
        fig.add_vline(x=step["start_ts"], line_dash="dash", line_color=colour)
        fig.add_annotation(
            x=step["start_ts"],
            y=1,
            yref="paper",
            text=f"{step['kind']}{pct}",
            showarrow=False,
            font={"color": colour},
            xanchor="left",
        )
    fig = _layout(fig, dark=dark, height=340)
    fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.2})
    if is_duration and points:
        highest = max([p["value"] for p in points] + [b["upper"] for b in band or []])
        fig.update_yaxes(**duration_axis(highest))
    return fig


DURATION = "duration_ms"
# Steps of a duration axis (ms): each a round number in the unit it is read in.
_STEPS = [
    *(m * 10**e for e in range(0, 3) for m in (1, 2, 5)),
    *(s * 1000 for s in (1, 2, 5, 10, 15, 30)),
    *(m * 60_000 for m in (1, 2, 5, 10, 15, 30)),
    *(h * 3_600_000 for h in (1, 2, 3, 6, 12)),
    *(d * 86_400_000 for d in (1, 2, 7, 14, 30, 90, 365)),
]


def duration_axis(highest: float, *, ticks: int = 5) -> dict[str, Any]:
    """Axis settings that label durations (ms) from 0 to ``highest`` in
    human units, at round steps.

    >>> duration_axis(1_600_000)["ticktext"]
    ['0', '10 min', '20 min', '30 min']
    >>> duration_axis(0)["ticktext"], duration_axis(float("nan"))
    (['0', '1 ms'], {})
    """
    if not math.isfinite(highest) or highest < 0:
        return {}
    step = next((s for s in _STEPS if highest / s <= ticks), _STEPS[-1])
    n = max(1, int(-(-highest // step)))
    values = [i * step for i in range(n + 1)]
    text = ["0", *(format.duration(v) for v in values[1:])]
    return {"tickvals": values, "ticktext": text, "rangemode": "tozero"}


def execution_neighbours(
    runs: list[dict[str, Any]], *, band: dict[str, Any] | None = None, dark: bool = False
) -> go.Figure:
    """A run among its script's neighbours: one bar per run (``execution_id,
    started_at, duration_ms, status, current``) in start order, failures in
    red, the run itself outlined and labelled, the duration band of its
    comparable runs (``lower, centre, upper``) shaded.

    >>> runs = [{"execution_id": "a", "started_at": "t1", "duration_ms": 1000.0, "status": "success", "current": False},
    ...         {"execution_id": "b", "started_at": "t2", "duration_ms": 9000.0, "status": "failed", "current": True}]
    >>> f = execution_neighbours(runs, band={"lower": 800.0, "centre": 1000.0, "upper": 1200.0})
    >>> list(f.data[0].marker.color), f.layout.annotations[0].text, len(f.layout.shapes)
    (['#3b6cf6', '#e03131'], 'this run', 2)
    """
    failed = {"failed", "error", "timeout"}
    colours = [STATUS_COLOURS["failure"] if r["status"] in failed else ACCENT for r in runs]
    fig = go.Figure(
        go.Bar(
            x=list(range(len(runs))),
            y=[r["duration_ms"] or 0 for r in runs],
            marker={
                "color": colours,
                "opacity": [1.0 if r["current"] else 0.55 for r in runs],
                "line": {
                    "color": ["#f08c00" if r["current"] else "rgba(0,0,0,0)" for r in runs],
                    "width": [3 if r["current"] else 0 for r in runs],
                },
            },
            customdata=[
                [r["execution_id"], format.timestamp(r["started_at"]), format.duration(r["duration_ms"]), r["status"]]
                for r in runs
            ],
            hovertemplate="%{customdata[1]} UTC<br>%{customdata[2]} · %{customdata[3]}<br>%{customdata[0]}<extra></extra>",
            name="runs",
        )
    )
    here = next((i for i, r in enumerate(runs) if r["current"]), None)
    values = [r["duration_ms"] or 0 for r in runs]
    top = max(values, default=0)
    if band and band.get("lower") is not None and band.get("upper") is not None:
        fig.add_hrect(
            y0=max(0.0, band["lower"]), y1=band["upper"], fillcolor="rgba(47,158,68,0.15)", line_width=0, layer="below"
        )
        if band.get("centre") is not None:
            fig.add_hline(y=band["centre"], line_dash="dot", line_color="rgba(47,158,68,0.8)", line_width=1)
        top = max(top, band["upper"])
    if here is not None:
        fig.add_annotation(
            x=here,
            y=values[here],
            text="this run",
            showarrow=True,
            arrowhead=2,
            arrowcolor="#f08c00",
            ay=-36,
            font={"color": "#f08c00"},
            bgcolor="rgba(0,0,0,0)",
        )
    fig = _layout(fig, dark=dark, height=240)
    ends = [(0, "← earlier"), (len(runs) - 1, "later →")]
    ends = [(i, text) for i, text in ends if i != here] if len(runs) > 1 else []
    fig.update_xaxes(tickvals=[i for i, _ in ends], ticktext=[t for _, t in ends], showgrid=False, zeroline=False)
    fig.update_yaxes(**duration_axis(top * 1.15))
    fig.update_layout(bargap=0.25, margin={"l": 64, "r": 16, "t": 24, "b": 32})
    return fig


def histogram(bins: list[dict[str, Any]], *, dark: bool = False) -> go.Figure:
    """Bars of ``left, right, count`` bins."""
    fig = go.Figure(
        go.Bar(
            x=[(b["left"] + b["right"]) / 2 for b in bins],
            y=[b["count"] for b in bins],
            width=[b["right"] - b["left"] for b in bins],
            marker_color=ACCENT,
            hovertemplate="%{x:.4g}<br>%{y} runs<extra></extra>",
        )
    )
    return _layout(fig, dark=dark, height=260)


def line(
    points: list[dict[str, Any]],
    *,
    x: str = "ts",
    y: str = "value",
    name: str = "",
    dark: bool = False,
    height: int = 260,
) -> go.Figure:
    """A single line over time."""
    fig = go.Figure(
        go.Scatter(
            x=[p[x] for p in points],
            y=[p[y] for p in points],
            mode="lines+markers" if len(points) < 60 else "lines",
            name=name,
            line={"color": ACCENT},
        )
    )
    return _layout(fig, dark=dark, height=height)


def donut(labels: list[str], values: list[float], *, dark: bool = False) -> go.Figure:
    """A doughnut of shares, each written as the dashboard writes a percentage
    (upright, so that a thin slice's label stays readable).

    >>> f = donut(["ok", "failed"], [3, 1])
    >>> list(f.data[0].values), list(f.data[0].text)
    ([3, 1], ['75 %', '25 %'])
    """
    total = sum(values) or 1
    fig = go.Figure(
        go.Pie(
            labels=labels,
            values=values,
            hole=0.55,
            sort=False,
            text=[format.percent(100 * v / total) for v in values],
            textinfo="text",
            insidetextorientation="horizontal",
            hovertemplate="%{label}: %{value:,} (%{text})<extra></extra>",
        )
    )
    fig = _layout(fig, dark=dark, height=260)
    fig.update_layout(showlegend=True)
    return fig


def heatmap(z: list[list[float]], *, x: list[Any], y: list[str], dark: bool = False) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=z, x=x, y=y, colorscale="Blues", hovertemplate="%{y} %{x}:00<br>%{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, dark=dark, height=280)


def usage_bars(points: list[dict[str, Any]], *, dark: bool = False) -> go.Figure:
    """Per-minute counts with the users of each minute in the tooltip and
    flagged (overage) counts stacked in red.

    >>> f = usage_bars([{"timestamp": "t", "count": 3, "users": ["a", "b"], "overage_count": 1}])
    >>> [list(t.y) for t in f.data], f.data[0].customdata[0]
    ([[2], [1]], 'a, b')
    """
    users = [", ".join(p["users"]) for p in points]
    xs = [p["timestamp"] for p in points]
    fig = go.Figure(
        [
            go.Bar(
                x=xs,
                y=[p["count"] - p["overage_count"] for p in points],
                name="borrows",
                marker_color=ACCENT,
                customdata=users,
                hovertemplate="%{x}<br>%{y} within licence<br>users: %{customdata}<extra></extra>",
            ),
            go.Bar(
                x=xs,
                y=[p["overage_count"] for p in points],
                name="overage",
                marker_color="#e03131",
                customdata=users,
                hovertemplate="%{x}<br>%{y} overage<br>users: %{customdata}<extra></extra>",
            ),
        ]
    )
    fig = _layout(fig, dark=dark, height=300)
    fig.update_layout(barmode="stack", showlegend=True)
    return fig


ALERT_LEVELS = {"normal": 0, "resolved": 0, "pending": 1, "firing": 2}
SEVERITY_COLOURS = {"error": "#e03131", "warning": "#e8590c", "info": "#1971c2"}


def alert_timeline(transitions: list[dict[str, Any]], *, since: str, until: str, dark: bool = False) -> go.Figure:
    """A backtest's states over time, one step line per series (its labels),
    notifications marked: ``transitions`` of ``{ts, labels, from, to, value,
    notification}``.

    >>> f = alert_timeline([{"ts": "t1", "labels": {}, "from": "normal", "to": "firing", "value": 5, "notification": "firing"}],
    ...                    since="t0", until="t2")
    >>> list(f.data[0].y), list(f.data[1].x)
    ([0, 2, 2], ['t1'])
    """
    series: dict[str, list[dict[str, Any]]] = {}
    for t in transitions:
        key = ", ".join(f"{k}={v}" for k, v in sorted((t.get("labels") or {}).items())) or "all events"
        series.setdefault(key, []).append(t)
    fig = go.Figure()
    for name, items in series.items() or [("all events", [])]:
        first = ALERT_LEVELS.get(items[0]["from"], 0) if items else 0
        ys = [first, *(ALERT_LEVELS.get(t["to"], 0) for t in items)]
        xs = [since, *(t["ts"] for t in items)]
        xs.append(until)
        ys.append(ys[-1])
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"shape": "hv", "width": 2},
                name=name,
                hovertemplate="%{x}<extra>" + name.replace("%", "%%") + "</extra>",
            )
        )
    sent = [t for t in transitions if t.get("notification")]
    if sent:
        fig.add_trace(
            go.Scatter(
                x=[t["ts"] for t in sent],
                y=[ALERT_LEVELS.get(t["to"], 0) for t in sent],
                mode="markers",
                name="notification",
                marker={
                    "size": 10,
                    "symbol": "diamond",
                    "color": [
                        STATUS_COLOURS["success"] if t["notification"] == "resolved" else "#e03131" for t in sent
                    ],
                },
                text=[f"{t['notification']} · value {t['value']}" for t in sent],
                hovertemplate="%{x}<br>%{text}<extra></extra>",
            )
        )
    fig = _layout(fig, dark=dark, height=240)
    fig.update_yaxes(tickvals=[0, 1, 2], ticktext=["normal", "pending", "firing"], range=[-0.3, 2.4])
    fig.update_layout(showlegend=len(series) > 1, legend={"orientation": "h", "y": -0.25})
    return fig


def gauge(
    value: float | None,
    *,
    thresholds: Sequence[tuple[float, str]] = (),
    unit: str = "number",
    dark: bool = False,
) -> go.Figure:
    """A gauge of one value: the axis up to the highest threshold (or the
    value's next round number), each threshold step coloured from its value on.

    >>> f = gauge(42.0, thresholds=[(50.0, "#e5534b")])
    >>> f.data[0].value, f.data[0].gauge.axis.range, f.data[0].gauge.steps[0].color
    (42.0, (0, 60), '#e5534b')
    """
    steps = sorted(thresholds)
    top = max([abs(value or 0.0), *(v for v, _ in steps)], default=1.0) or 1.0
    scale = 10 ** math.floor(math.log10(top))
    highest = 100 if unit == "percent" and top <= 100 else math.ceil(top * 1.2 / scale) * scale
    fig = go.Figure(
        go.Indicator(
            mode="gauge+number",
            value=value,
            number={"valueformat": ".4~g", "suffix": " %" if unit == "percent" else ""},
            gauge={
                "axis": {"range": [0, highest]},
                "bar": {"color": ACCENT, "thickness": 0.35},
                "steps": [
                    {"range": [v, steps[i + 1][0] if i + 1 < len(steps) else highest], "color": c}
                    for i, (v, c) in enumerate(steps)
                ],
            },
        )
    )
    fig = _layout(fig, dark=dark, height=200)
    fig.update_layout(margin={"l": 24, "r": 24, "t": 24, "b": 8})
    return fig


def sparkline(values: list[float | None], *, colour: str = ACCENT, dark: bool = False) -> go.Figure:
    """A bare little line under a stat: no axes, no hover text but the value."""
    fig = go.Figure(
        go.Scatter(
            y=values,
            mode="lines",
            line={"color": colour, "width": 1.5},
            fill="tozeroy",
            hovertemplate="%{y}<extra></extra>",
        )
    )
    fig = _layout(fig, dark=dark, height=60)
    fig.update_layout(margin={"l": 0, "r": 0, "t": 0, "b": 0})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig
