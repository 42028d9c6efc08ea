"""Figure builders: plain functions from rows to Plotly figures (unit-tested;
no Dash, no database)."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

ACCENT = "#3b6cf6"
STATUS_COLOURS = {"success": "#2f9e44", "failure": "#e03131", "neutral": "#868e96"}


def _layout(fig: go.Figure, *, dark: bool, height: int = 280) -> go.Figure:
    fig.update_layout(
        template="plotly_dark" if dark else "plotly_white",
        height=height,
        margin={"l": 40, "r": 16, "t": 16, "b": 36},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        showlegend=False,
        uirevision="keep",
    )
    return fig


def activity(rows: list[dict[str, Any]], *, dark: bool = False) -> go.Figure:
    """Events per bucket: ``rows`` of ``{"bucket": iso, "value": n}``.

    >>> f = activity([{"bucket": "2026-01-01T00:00:00+00:00", "value": 3}])
    >>> list(f.data[0].y)
    [3]
    """
    fig = go.Figure(
        go.Bar(x=[r["bucket"] for r in rows], y=[r["value"] for r in rows], marker_color=ACCENT, name="events",
               hovertemplate="%{x}<br>%{y} events<extra></extra>")  # fmt: skip
    )
    return _layout(fig, dark=dark)


def breakdown_bar(rows: list[dict[str, Any]], *, label: str, dark: bool = False) -> go.Figure:
    """Horizontal bars of ``{label: name, "count": n}`` rows, largest on top."""
    rows = sorted(rows, key=lambda r: r["count"])
    fig = go.Figure(go.Bar(x=[r["count"] for r in rows], y=[r[label] for r in rows], orientation="h", marker_color=ACCENT))
    return _layout(fig, dark=dark, height=max(160, 34 * len(rows) + 60))


def live_stream(*, dark: bool = False) -> go.Figure:
    """An empty swimlane chart (one lane per source) that the browser extends
    point by point as events arrive (``extendData``)."""
    fig = go.Figure(go.Scatter(x=[], y=[], text=[], mode="markers", marker={"size": 7, "color": []},
                               hovertemplate="%{x}<br>%{y}: %{text}<extra></extra>"))  # fmt: skip
    fig.update_yaxes(type="category")
    return _layout(fig, dark=dark, height=200)
