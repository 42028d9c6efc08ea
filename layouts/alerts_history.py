"""The Alerts page's record of the past: the history grid of alert
instances, the silences (the form and the table) and backtests (a rule
replayed over a range of stored events, with its state timeline).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from alerts.forecast_rules import describe_bound
from layouts import format as fmt
from layouts import ids
from layouts.alerts_active import badge, label_badges
from layouts.alerts_format import labels_text, span_text, value_text, when
from layouts.executions import card, grid

STATES = ("pending", "firing", "resolved", "normal")
RANGES = (("1h", "last hour"), ("24h", "last 24 h"), ("7d", "last 7 days"), ("30d", "last 30 days"))
NO_HISTORY = (
    "No alerts match. Alerts appear here once a rule goes pending or fires; clear the filters to see every rule's."
)
NO_SILENCES = "No silences. Add one above to mute a rule, or alerts with given labels, during maintenance."
NO_BACKTEST = (
    "Choose a saved rule and a range, or press “Backtest this rule” in the rule form to try one before saving it."
)


def _labelled(label: str, control: Any, md: int) -> dbc.Col:
    """A filter control with its label above it."""
    return dbc.Col(
        [dbc.Label(label, html_for=control.id, className="small text-body-secondary mb-1"), control],
        md=md,
    )


# ------------------------------------------------------------ history


def history_rows(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Grid rows for alert instances (a markdown link to each alert)."""
    return [
        {
            "id": a["id"],
            "alert": f"[#{a['id']}](/alerts?alert={a['id']})",
            "rule": a.get("rule"),
            "state": a.get("state"),
            "severity": a.get("severity"),
            "labels": labels_text(a.get("labels")),
            "value": a.get("value"),
            "started": when(a.get("started_at")),
            "fired": when(a.get("fired_at")),
            "resolved": when(a.get("resolved_at")),
            "notifications": a.get("notifications"),
            "acknowledged": (
                f"yes{' by ' + a['acknowledged_by'] if a.get('acknowledged_by') else ''}"
                if a.get("acknowledged")
                else "no"
            ),
            "summary": a.get("summary"),
        }
        for a in alerts
    ]


STATE_STYLE = {
    "styleConditions": [
        {"condition": "params.value === 'firing'", "style": {"color": "#e03131", "fontWeight": "600"}},
        {"condition": "params.value === 'pending'", "style": {"color": "#e8590c", "fontWeight": "600"}},
        {"condition": "params.value === 'resolved'", "style": {"color": "#2f9e44"}},
    ]
}
HISTORY_COLUMNS: list[dict[str, Any]] = [
    {
        "field": "alert",
        "cellRenderer": "markdown",
        "cellRendererParams": {"linkTarget": "_self"},
        "minWidth": 90,
        "maxWidth": 100,
    },
    {"field": "rule", "minWidth": 140},
    {"field": "state", "cellStyle": STATE_STYLE, "minWidth": 100},
    {"field": "severity", "minWidth": 100},
    {"field": "labels", "minWidth": 160},
    {"field": "value", "type": "numericColumn", "minWidth": 90},
    {"field": "started", "headerName": "started (UTC)", "minWidth": 170},
    {"field": "fired", "headerName": "fired (UTC)", "minWidth": 170},
    {"field": "resolved", "headerName": "resolved (UTC)", "minWidth": 170},
    {"field": "notifications", "headerName": "sent", "type": "numericColumn", "minWidth": 80},
    {"field": "acknowledged", "headerName": "ack", "minWidth": 110},
    {"field": "summary", "minWidth": 320},
]


def history_tab(rule: str, state: str) -> list[Any]:
    """The "History" tab: filters by rule and state (from the URL) above the grid."""
    history = grid(ids.AL_HISTORY, HISTORY_COLUMNS, page_size=25)
    history.getRowId = "String(params.data.id)"
    # Until the rules callback fills the options, a rule from the URL needs one of its own to stay selected.
    rule_options = [{"label": "all rules", "value": ""}] + ([{"label": f"rule {rule}", "value": rule}] if rule else [])
    state_options = [{"label": "any state", "value": ""}, *({"label": s, "value": s} for s in STATES)]
    return [
        dbc.Row(
            [
                _labelled(
                    "rule",
                    dbc.Select(id=ids.AL_H_RULE, options=rule_options, value=rule, placeholder="all rules", size="sm"),
                    3,
                ),
                _labelled(
                    "state",
                    dbc.Select(
                        id=ids.AL_H_STATE, options=state_options, value=state, placeholder="any state", size="sm"
                    ),
                    2,
                ),
            ],
            className="g-2 mb-3",
        ),
        card("Alerts started in the time range (newest first)", history),
        html.Div(id=ids.AL_HISTORY_NOTE, className="small text-body-secondary mt-2"),
    ]


# ------------------------------------------------------------ silences


def silence_form(rule: str = "", labels: str = "") -> dbc.Card:
    """The new-silence form, prefilled from an alert's "silence…" link."""
    return dbc.Card(
        [
            dbc.CardHeader("New silence", className="fw-semibold"),
            dbc.CardBody(
                [
                    dbc.Row(
                        [
                            dbc.Col(
                                [
                                    dbc.Label(
                                        "rule", html_for=ids.AL_S_RULE, className="small text-body-secondary mb-1"
                                    ),
                                    dbc.Select(
                                        id=ids.AL_S_RULE,
                                        options=[
                                            {"label": "any rule", "value": ""},
                                            *([{"label": rule, "value": rule}] if rule else []),
                                        ],
                                        value=rule,
                                        placeholder="any rule",
                                        size="sm",
                                    ),
                                ],
                                md=3,
                            ),
                            dbc.Col(
                                [
                                    dbc.Label(
                                        "labels", html_for=ids.AL_S_LABELS, className="small text-body-secondary mb-1"
                                    ),
                                    dbc.Input(
                                        id=ids.AL_S_LABELS,
                                        value=labels,
                                        placeholder="entity=scanner-3, source=north",
                                        size="sm",
                                    ),
                                    dbc.FormText("key=value, comma-separated"),
                                ],
                                md=3,
                            ),
                            dbc.Col(
                                [
                                    dbc.Label(
                                        "for", html_for=ids.AL_S_DURATION, className="small text-body-secondary mb-1"
                                    ),
                                    dbc.Input(id=ids.AL_S_DURATION, value="1h", size="sm"),
                                    dbc.FormText("30m, 2h, 1d"),
                                ],
                                md=1,
                            ),
                            dbc.Col(
                                [
                                    dbc.Label(
                                        "comment", html_for=ids.AL_S_COMMENT, className="small text-body-secondary mb-1"
                                    ),
                                    dbc.Input(
                                        id=ids.AL_S_COMMENT,
                                        placeholder="maintenance of the north site",
                                        size="sm",
                                        maxLength=2000,
                                    ),
                                ],
                                md=3,
                            ),
                            dbc.Col(
                                dbc.Button(
                                    "Add silence", id=ids.AL_S_ADD, color="primary", size="sm", className="mt-4"
                                ),
                                md=2,
                            ),
                        ],
                        className="g-2",
                    ),
                    html.Div(id=ids.AL_S_MESSAGE, className="mt-2"),
                ]
            ),
        ],
        className="mb-3",
    )


def silence_status(silence: dict[str, Any], now: datetime) -> str:
    """``in force``, ``scheduled`` or ``ended``."""
    if silence.get("active"):
        return "in force"
    ends = silence.get("ends_at")
    return "ended" if ends and datetime.fromisoformat(ends) <= now else "scheduled"


def silences_table(silences: list[dict[str, Any]], now: datetime) -> Any:
    if not silences:
        return html.Div(NO_SILENCES, className="text-body-secondary pb-silences-empty")
    rows = []
    for s in silences:
        status = silence_status(s, now)
        rows.append(
            html.Tr(
                [
                    html.Td(label_badges(s.get("matchers"))),
                    html.Td(when(s.get("starts_at"))),
                    html.Td(when(s.get("ends_at"))),
                    html.Td(badge(status, "success" if status == "in force" else "secondary")),
                    html.Td(s.get("comment") or "", className="small"),
                    html.Td(s.get("created_by") or "", className="small"),
                    html.Td(
                        dbc.Button(
                            "Delete",
                            id={"type": ids.AL_S_DELETE, "index": s["id"]},
                            size="sm",
                            color="danger",
                            outline=True,
                        )
                    ),
                ],
                id=ids.al_silence_row(s["id"]),
            )
        )
    head = html.Thead(
        html.Tr(
            [
                html.Th("matches"),
                html.Th("from (UTC)"),
                html.Th("until (UTC)"),
                html.Th(""),
                html.Th("comment"),
                html.Th("by"),
                html.Th(""),
            ]
        )
    )
    return dbc.Table([head, html.Tbody(rows)], size="sm", hover=True, responsive=True, className="mb-0 align-middle")


def silences_tab(rule: str, labels: str) -> list[Any]:
    """The "Silences" tab: the form (prefilled from an alert's link) above the table."""
    return [silence_form(rule, labels), card("Silences and maintenance windows", html.Div(id=ids.AL_SILENCES))]


# ------------------------------------------------------------ e-mail outbox

MAIL_STATE_STYLE = {
    "styleConditions": [
        {"condition": "params.value === 'failed'", "style": {"color": "#e03131", "fontWeight": "600"}},
        {"condition": "params.value === 'pending'", "style": {"color": "#e8590c"}},
        {"condition": "params.value === 'sent'", "style": {"color": "#2f9e44"}},
    ]
}
OUTBOX_COLUMNS: list[dict[str, Any]] = [
    {"field": "created", "headerName": "queued (UTC)", "minWidth": 170},
    {"field": "recipient", "minWidth": 180},
    {"field": "subject", "minWidth": 220},
    {"field": "state", "cellStyle": MAIL_STATE_STYLE, "minWidth": 90},
    {"field": "attempts", "type": "numericColumn", "minWidth": 90},
    {"field": "next", "headerName": "next try (UTC)", "minWidth": 170},
    {"field": "sent", "headerName": "sent (UTC)", "minWidth": 170},
    {"field": "last_error", "headerName": "last error", "minWidth": 260},
]
NO_MAIL = "No e-mail yet: rules with an email: target queue their messages here."


def outbox_rows(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Grid rows for outbox messages (read-only: state, attempts, last error)."""
    return [
        {
            "id": m["id"],
            "created": when(m.get("created")),
            "recipient": m.get("recipient"),
            "subject": m.get("subject"),
            "state": m.get("state"),
            "attempts": m.get("attempts"),
            "next": when(m.get("next_attempt_at")) if m.get("state") == "pending" else "",
            "sent": when(m.get("sent_at")),
            "last_error": m.get("last_error") or "",
        }
        for m in messages
    ]


def outbox_note(counts: dict[str, int], shown: int, smtp_host: str) -> str:
    """One line over the grid: how many in each state, and where they go.

    >>> outbox_note({"pending": 1, "sending": 0, "sent": 5, "failed": 2}, 8, "smtp.example")
    '8 messages: 1 pending, 5 sent, 2 failed. Sent through smtp.example.'
    >>> outbox_note({"pending": 0, "sending": 0, "sent": 0, "failed": 0}, 0, "")
    'No e-mail yet: rules with an email: target queue their messages here. No SMTP server is set (--smtp-host): messages fail at once.'
    """
    total = sum(counts.values())
    where = f"Sent through {smtp_host}." if smtp_host else "No SMTP server is set (--smtp-host): messages fail at once."
    if total == 0:
        return f"{NO_MAIL} {where}"
    parts = ", ".join(f"{n:,} {state}" for state, n in counts.items() if n)
    newest = f" (the newest {shown:,} below)" if shown < total else ""
    return f"{fmt.count(total, 'message')}{newest}: {parts}. {where}"


def outbox_tab() -> list[Any]:
    """The "Outbox" tab: the newest e-mail notifications and what became of them."""
    messages = grid(ids.AL_OUTBOX, OUTBOX_COLUMNS, page_size=25)
    messages.getRowId = "String(params.data.id)"
    return [
        html.Div(id=ids.AL_OUTBOX_NOTE, className="small text-body-secondary mb-2"),
        card("E-mail outbox (newest first)", messages),
    ]


# ------------------------------------------------------------ backtests


FIRING_FILL = {False: "rgba(224, 49, 49, 0.16)", True: "rgba(255, 107, 107, 0.30)"}  # by dark theme
PENDING_FILL = {False: "rgba(232, 89, 12, 0.10)", True: "rgba(255, 146, 43, 0.20)"}
THRESHOLD_COLOUR = "#e03131"
SERIES_COLOURS = ("#3b6cf6", "#0ca678", "#ae3ec9", "#f08c00", "#1098ad", "#d6336c", "#74b816", "#7048e8")
CHART_SERIES = 8  # groups drawn in the chart (the ones that fired first)


def spans(transitions: list[dict[str, Any]], until: str) -> list[tuple[str, str, str, str]]:
    """Pending and firing spans ``(start, end, state, labels)`` of a backtest's
    transitions; a span still open at the end runs to ``until``.

    >>> t = [{"ts": "a", "labels": {}, "from": "normal", "to": "pending"}, {"ts": "b", "labels": {}, "from": "pending", "to": "firing"},
    ...      {"ts": "c", "labels": {}, "from": "firing", "to": "resolved"}, {"ts": "d", "labels": {}, "from": "resolved", "to": "firing"}]
    >>> spans(t, "z")
    [('a', 'b', 'pending', ''), ('b', 'c', 'firing', ''), ('d', 'z', 'firing', '')]
    """
    open_at: dict[str, tuple[str, str]] = {}
    out: list[tuple[str, str, str, str]] = []
    for t in transitions:
        key = labels_text(t.get("labels"))
        if key in open_at:
            start, state = open_at.pop(key)
            if t["ts"] != start:
                out.append((start, t["ts"], state, key))
        if t["to"] in ("pending", "firing"):
            open_at[key] = (t["ts"], t["to"])
    out += [(start, until, state, key) for key, (start, state) in open_at.items()]
    return sorted(out)


def _gapped(ts: list[str], values: list[Any], step_seconds: float) -> tuple[list[Any], list[Any]]:
    """The points with a break (None) where steps are missing, so a line does
    not bridge steps at which the group had no value."""
    xs: list[Any] = []
    ys: list[Any] = []
    previous: datetime | None = None
    for t, v in zip(ts, values):
        at = datetime.fromisoformat(t)
        if previous is not None and (at - previous).total_seconds() > 1.5 * step_seconds:
            xs.append(None)
            ys.append(None)
        xs.append(at)
        ys.append(v)
        previous = at
    return xs, ys


def backtest_figure(result: dict[str, Any], spec: dict[str, Any] | None, *, dark: bool = False) -> go.Figure:
    """A backtest's metric over time, one line per group, against the
    threshold (a dashed line), with the spans it would have fired shaded
    (pending lighter)."""
    spec = spec or {}
    kind = spec.get("kind", "threshold")
    metric = "events" if kind == "absence" else spec.get("metric", "count")
    if spec.get("field") == "duration_ms" and metric not in ("count", "rate", "success_rate", "failures"):
        metric += " of duration_ms"
    if kind == "forecast":  # each step's value is the forecast bound judged at that step
        metric = f"{describe_bound(spec)} of {metric}"
    fig = go.Figure()
    series = (result.get("series") or [])[:CHART_SERIES]
    for i, s in enumerate(series):
        name = (
            labels_text({k: v for k, v in (s.get("labels") or {}).items() if k not in spec.get("labels", {})}) or metric
        )
        xs, ys = _gapped(s["ts"], s["values"], float(result.get("step_seconds") or 60))
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers" if len(xs) < 60 else "lines",
                line={"width": 2, "color": SERIES_COLOURS[i % len(SERIES_COLOURS)]},
                marker={"size": 4},
                name=name,
                hovertemplate="%{x|%Y-%m-%d %H:%M}<br>%{y:,.4~g}<extra>" + name.replace("%", "%%") + "</extra>",
            )
        )
    if kind in ("threshold", "absence", "forecast"):
        threshold = 0.0 if kind == "absence" else float(spec.get("threshold", 0))
        op = "==" if kind == "absence" else spec.get("op", ">")
        fig.add_hline(
            y=threshold,
            line={"color": THRESHOLD_COLOUR, "dash": "dash", "width": 1.5},
            annotation={
                "text": f"threshold {op} {value_text(threshold)}",
                "font": {"color": THRESHOLD_COLOUR, "size": 11},
            },
            annotation_position="top left",
        )
        fig.add_trace(  # the threshold in the legend too
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                line={"color": THRESHOLD_COLOUR, "dash": "dash"},
                name=f"threshold {op} {value_text(threshold)}",
            )
        )
    for start, end, state, _labels in spans(result.get("transitions") or [], result["until"]):
        fig.add_vrect(
            x0=start,
            x1=end,
            fillcolor=(FIRING_FILL if state == "firing" else PENDING_FILL)[dark],
            line_width=0,
            layer="below",
        )
    if any(state == "firing" for *_x, state, _l in spans(result.get("transitions") or [], result["until"])):
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                marker={"symbol": "square", "size": 12, "color": FIRING_FILL[dark].rsplit(",", 1)[0] + ", 0.6)"},
                name="would fire",
            )
        )
    grid = "rgba(128,128,128,0.2)"
    fig.update_layout(
        template="plotly_dark" if dark else "plotly_white",
        height=300,
        margin={"l": 48, "r": 16, "t": 16, "b": 36},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        showlegend=True,
        legend={"orientation": "h", "y": -0.18, "x": 0},
        uirevision="keep",
        font={"color": "#c9d1d9"} if dark else {},
        xaxis={"range": [result["since"], result["until"]], "gridcolor": grid},
        yaxis={
            "title": {"text": f"{metric} over {spec.get('window', '5m')}", "font": {"size": 11}},
            "gridcolor": grid,
            "rangemode": "tozero",
        },
    )
    return fig


def backtest_view(result: dict[str, Any], figure: Any, title: str) -> html.Div:
    """A backtest's outcome: how often it would have fired and notified, the
    state timeline, and the transitions."""
    summary = (
        f"{title}: over {when(result['since'])} – {when(result['until'])} UTC ({result['steps']} evaluations every "
        f"{span_text(result['step_seconds'])}) it would have fired {fmt.count(result['fired'], 'time')}, resolved "
        f"{fmt.count(result['resolved'], 'time')} and sent {fmt.count(result['notifications'], 'notification')} "
        f"({fmt.count(result['deliveries'], 'delivery', 'deliveries')} to its targets)."
    )
    rows = [
        html.Tr(
            [
                html.Td(when(t["ts"]), className="text-nowrap"),
                html.Td(labels_text(t.get("labels")) or "–"),
                html.Td(f"{t['from']} → {t['to']}"),
                html.Td(value_text(t.get("value")), className="text-end"),
                html.Td(t.get("notification") or ""),
            ]
        )
        for t in result["transitions"][:200]
    ]
    table: Any = html.Div(
        "It would not have left the normal state in this range.", className="text-body-secondary small"
    )
    if rows:
        head = html.Thead(
            html.Tr(
                [
                    html.Th("at (UTC)"),
                    html.Th("labels"),
                    html.Th("transition"),
                    html.Th("value", className="text-end"),
                    html.Th("notification"),
                ]
            )
        )
        table = dbc.Table([head, html.Tbody(rows)], size="sm", responsive=True, className="mb-0 small")
    shown, total = min(len(result.get("series") or []), CHART_SERIES), result.get("series_total", 0)
    more = (
        html.Div(
            f"The chart shows {shown} of {total} groups: those that would have fired first.",
            className="small text-body-secondary",
        )
        if total > shown
        else None
    )
    return html.Div(
        [
            html.Div(summary, className="mb-2 pb-backtest-summary"),
            dcc.Graph(figure=figure, config={"displayModeBar": False}, className="pb-backtest-chart"),
            more,
            table,
        ]
    )


def backtest_tab(rule: str, range_: str) -> list[Any]:
    """The "Backtest" tab: a saved rule and a range (from the URL), and the result."""
    rule_options = [{"label": "choose a rule", "value": ""}] + (
        [{"label": f"rule {rule}", "value": rule}] if rule else []
    )
    return [
        dbc.Row(
            [
                _labelled(
                    "rule",
                    dbc.Select(
                        id=ids.AL_BT_RULE, options=rule_options, value=rule, placeholder="choose a rule", size="sm"
                    ),
                    3,
                ),
                _labelled(
                    "backtest over",
                    dbc.Select(
                        id=ids.AL_BT_RANGE,
                        options=[{"label": l, "value": v} for v, l in RANGES],
                        value=range_,
                        size="sm",
                    ),
                    2,
                ),
                dbc.Col(
                    dbc.Button("Run backtest", id=ids.AL_BT_RUN, color="primary", size="sm", className="mt-4"),
                    md=2,
                ),
            ],
            className="g-2 mb-3",
        ),
        card(
            "Backtest",
            dcc.Loading(html.Div(NO_BACKTEST, id=ids.AL_BT_RESULT, className="text-body-secondary"), type="dot"),
        ),
    ]
