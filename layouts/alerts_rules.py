"""The Alerts page's rules: the table (an enable switch and an Edit button
per rule) and the rule form, whose controls ``alerts.form`` maps to a rule
and back.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from alerts.form import ADVANCED_FIELDS, DURATION_EXAMPLES, FILTER_DIMENSIONS, FORM_DEFAULTS, HELP, LABELS
from alerts.rules import GROUP_DIMENSIONS, SEVERITIES
from alerts.rules import OPS as RULE_OPS
from layouts import ids
from layouts.alerts_active import SEVERITY_COLOUR, badge, loading
from layouts.alerts_format import describe
from layouts.executions import card

KINDS = (
    ("threshold", "threshold"),
    ("absence", "absence (dead-man)"),
    ("anomaly", "anomaly"),
    ("duration", "run duration"),
    ("forecast", "forecast (about to cross)"),
)
BOUNDS = (
    ("value", "central forecast"),
    ("upper", "upper 95 % bound (earliest plausible)"),
    ("lower", "lower 95 % bound"),
)
METRICS = (
    ("count", "count"),
    ("rate", "rate / min"),
    ("sum", "sum"),
    ("avg", "average"),
    ("min", "min"),
    ("max", "max"),
    ("p50", "p50"),
    ("p90", "p90"),
    ("p95", "p95"),
    ("p99", "p99"),
    ("success_rate", "success rate %"),
    ("failures", "failures"),
    ("latest", "latest value (gauge)"),
    ("unique_users", "unique users"),
)
FIELDS = (("value", "value"), ("duration_ms", "duration (ms)"))
OPS = tuple(RULE_OPS)
ADVANCED_HELP = (
    "Less common fields as YAML (or JSON), e.g.\nlabels: {team: ops}\nfilter: {attrs: {site: north}, user: [ana]}\n"
    "samples_filter: {type: [scan]}\nbucket: 5m   # anomaly and forecast rules\nhistory: 7d"
)
NO_RULES = "No rules yet — add one with the form below, or start Pulseboard with --rules rules.yaml."


def rules_table(rules: list[dict[str, Any]], editing: int | None = None) -> Any:
    """Every rule with its enable switch and an Edit button."""
    if not rules:
        return html.Div(NO_RULES, className="text-body-secondary pb-rules-empty")
    rows = []
    for r in rules:
        spec = r.get("spec") or {}
        targets = (
            ", ".join("webhook" if t.get("type") == "webhook" else t.get("type", "") for t in spec.get("targets") or [])
            or "none"
        )
        severity = spec.get("severity", "warning")
        rows.append(
            html.Tr(
                [
                    html.Td(
                        dbc.Switch(
                            id={"type": ids.AL_RULE_ENABLED, "index": r["id"]},
                            value=bool(r.get("enabled")),
                            className="mb-0",
                            label="",
                            input_class_name="pb-rule-switch",
                        )
                    ),
                    html.Td(
                        [
                            html.Div(r["name"], className="fw-semibold"),
                            html.Div(spec.get("description") or "", className="small text-body-secondary"),
                        ]
                    ),
                    html.Td(describe(spec), className="small"),
                    html.Td(badge(severity, SEVERITY_COLOUR.get(severity, "secondary"))),
                    html.Td(targets, className="small"),
                    html.Td(html.Span(r.get("origin") or "", className="small text-body-secondary")),
                    html.Td(
                        html.Div(
                            [
                                dbc.Button(
                                    "Edit",
                                    id={"type": ids.AL_RULE_EDIT, "index": r["id"]},
                                    size="sm",
                                    color="primary",
                                    outline=editing != r["id"],
                                    className="me-1",
                                ),
                                html.A(
                                    "history",
                                    href=f"/alerts?tab=history&rule={r['id']}",
                                    className="btn btn-sm btn-link",
                                ),
                                html.A(
                                    "backtest",
                                    href=f"/alerts?tab=backtest&backtest={r['id']}",
                                    className="btn btn-sm btn-link",
                                ),
                            ],
                            className="d-flex text-nowrap",
                        )
                    ),
                ],
                id=ids.al_rule_row(r["id"]),
                className="" if r.get("enabled") else "text-body-secondary",
            )
        )
    head = html.Thead(
        html.Tr(
            [
                html.Th("on"),
                html.Th("rule"),
                html.Th("condition"),
                html.Th("severity"),
                html.Th("targets"),
                html.Th("origin"),
                html.Th(""),
            ]
        )
    )
    return dbc.Table([head, html.Tbody(rows)], size="sm", hover=True, responsive=True, className="mb-0 align-middle")


def _field(name: str, control: Any, md: int, hint: str | None = None, label: str | None = None) -> dbc.Col:
    """A control with its label above it, what is wrong with it (filled by the
    Save callback) and its hint below it."""
    parts = [
        dbc.Label(label or LABELS.get(name, name), html_for=control.id, className="small text-body-secondary mb-1"),
        control,
        html.Div(id=ids.al_field_error(name), className="invalid-feedback d-block pb-field-error"),
    ]
    if hint:
        parts.append(dbc.FormText(hint, className="d-block"))
    return dbc.Col(parts, md=md)


def _input(name: str, placeholder: str = "", **kw: Any) -> dbc.Input:
    return dbc.Input(id=ids.al_field(name), value=FORM_DEFAULTS[name], placeholder=placeholder, size="sm", **kw)


def _select(name: str, options: Any) -> dbc.Select:
    opts = [{"label": o[1], "value": o[0]} if isinstance(o, tuple) else {"label": o, "value": o} for o in options]
    return dbc.Select(id=ids.al_field(name), options=opts, value=FORM_DEFAULTS[name], size="sm")


def rule_form() -> dbc.Card:
    checks = {"className": "small", "inline": True}
    delete = dcc.ConfirmDialogProvider(
        dbc.Button("Delete rule", color="danger", outline=True, size="sm"),
        id=ids.AL_DELETE,
        message="Delete this rule with all its alerts and their history?",
    )
    return dbc.Card(
        [
            dbc.CardHeader(html.Span("New rule", id=ids.AL_FORM_TITLE), className="fw-semibold"),
            dbc.CardBody(
                [
                    dbc.Row(
                        [
                            _field("name", _input("name", "errors burst", maxLength=200), 3),
                            _field(
                                "description",
                                _input("description", "shown in notifications instead of the name", maxLength=2000),
                                5,
                            ),
                            _field("kind", _select("kind", KINDS), 2),
                            _field("severity", _select("severity", SEVERITIES), 2),
                        ],
                        className="g-2 mb-2",
                    ),
                    dbc.Row(
                        [
                            _field("metric", _select("metric", METRICS), 2),
                            _field("field", _select("field", FIELDS), 2, label="of field"),
                            _field("window", _input("window", "5m"), 2, HELP["window"]),
                            _field("op", _select("op", OPS), 1, label="is"),
                            _field("threshold", _input("threshold", "e.g. 3", inputMode="decimal"), 2),
                            _field("min_samples", _input("min_samples", "0", inputMode="numeric"), 1),
                            _field(
                                "group_by",
                                dbc.Checklist(
                                    id=ids.al_field("group_by"), options=list(GROUP_DIMENSIONS), value=[], **checks
                                ),
                                2,
                                "one alert per value",
                            ),
                        ],
                        className="g-2 mb-2",
                    ),
                    dbc.Row(
                        [
                            _field("horizon", _input("horizon", "3d"), 3, HELP["horizon"]),
                            _field(
                                "bound",
                                _select("bound", BOUNDS),
                                4,
                                "which forecast line must meet the condition (is / threshold) within the horizon",
                            ),
                        ],
                        id=ids.AL_FORECAST_ROW,
                        className="g-2 mb-2",
                        style={"display": "none"},
                    ),
                    dbc.Row(
                        [
                            *[_field(dim, _input(dim, f"any {dim}"), 3) for dim in FILTER_DIMENSIONS],
                            dbc.Col(
                                dbc.FormText(
                                    "Filter: comma-separated values; an event matches when it has any of them."
                                ),
                                md=12,
                            ),
                        ],
                        className="g-2 mb-2",
                    ),
                    dbc.Row(
                        [
                            _field("for", _input("for", "0s"), 2, HELP["for"]),
                            _field("keep_firing_for", _input("keep_firing_for", "0s"), 2, HELP["keep_firing_for"]),
                            _field("repeat_interval", _input("repeat_interval", "4h"), 2, HELP["repeat_interval"]),
                            _field(
                                "targets",
                                dbc.Checklist(
                                    id=ids.al_field("targets"),
                                    options=[
                                        {"label": "live toast", "value": "live"},
                                        {"label": "log", "value": "log"},
                                    ],
                                    value=FORM_DEFAULTS["targets"],
                                    **checks,
                                ),
                                2,
                                label="notify",
                            ),
                            _field(
                                "webhook",
                                _input("webhook", "https://hooks.example.com/alerts"),
                                4,
                                "JSON POST; separate several with commas",
                            ),
                        ],
                        className="g-2 mb-2",
                    ),
                    dbc.Row(
                        [
                            _field(
                                "advanced",
                                dbc.Textarea(
                                    id=ids.al_field("advanced"),
                                    value="",
                                    rows=3,
                                    size="sm",
                                    placeholder=ADVANCED_HELP,
                                    className="font-monospace",
                                ),
                                12,
                                ADVANCED_FIELDS + f"; durations like {DURATION_EXAMPLES}",
                            ),
                        ],
                        className="g-2 mb-2",
                    ),
                    html.Div(id=ids.AL_FORM_MESSAGE),
                    html.Div(
                        [
                            dbc.Button("Save rule", id=ids.AL_SAVE, color="primary", size="sm"),
                            dbc.Button(
                                "Backtest this rule",
                                id=ids.AL_FORM_BACKTEST,
                                color="secondary",
                                outline=True,
                                size="sm",
                            ),
                            dbc.Button("New rule", id=ids.AL_NEW, color="secondary", outline=True, size="sm"),
                            html.Div(delete, id=ids.AL_DELETE_WRAP, hidden=True, className="ms-auto"),
                        ],
                        className="d-flex gap-2",
                    ),
                ]
            ),
        ],
        className="mb-3",
    )


def rules_tab() -> list[Any]:
    """The "Rules" tab: the table (filled by a callback) above the form."""
    return [card("Rules", loading(html.Div(id=ids.AL_RULES)), className="mb-3"), rule_form()]
