"""The Alerts page: firing and pending alerts (acknowledge, links to the
events behind them), the history of alert instances, the rules (enable,
create, edit), silences and backtests. Every filter is in the URL:
``/alerts?tab=history&rule=3&state=firing``, ``/alerts?alert=12``,
``/alerts?tab=backtest&backtest=3&range=7d``.

The builders here are plain functions from the JSON that ``alerts.manage``
returns to components; the form's values map to a rule spec and back
(``form_spec``, ``form_values``) and an error's field to its control
(``control_for``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import yaml
from dash import dcc, html

from alerts.rules import GROUP_DIMENSIONS, SEVERITIES, format_value
from alerts.rules import OPS as RULE_OPS
from layouts import ids
from layouts.executions import card, grid

TABS = (
    ("active", "Firing & pending"),
    ("history", "History"),
    ("rules", "Rules"),
    ("silences", "Silences"),
    ("backtest", "Backtest"),
)
STATES = ("pending", "firing", "resolved", "normal")
RANGES = (("1h", "last hour"), ("24h", "last 24 h"), ("7d", "last 7 days"), ("30d", "last 30 days"))
KINDS = (
    ("threshold", "threshold"),
    ("absence", "absence (dead-man)"),
    ("anomaly", "anomaly"),
    ("duration", "run duration"),
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
FILTER_DIMENSIONS = ("source", "type", "entity", "status")
SEVERITY_COLOUR = {"error": "danger", "warning": "warning", "info": "info"}
SEVERITY_HEX = {"error": "#e03131", "warning": "#e8590c", "info": "#1971c2"}
STATE_COLOUR = {"firing": "danger", "pending": "warning", "resolved": "success", "normal": "secondary"}

# The rule form: its controls, their defaults, and which of them can be marked invalid.
FORM_FIELDS = (
    "name",
    "description",
    "kind",
    "severity",
    "metric",
    "field",
    "window",
    "op",
    "threshold",
    "min_samples",
    "source",
    "type",
    "entity",
    "status",
    "group_by",
    "for",
    "keep_firing_for",
    "repeat_interval",
    "targets",
    "webhook",
    "advanced",
)
FORM_DEFAULTS: dict[str, Any] = {
    "name": "",
    "description": "",
    "kind": "threshold",
    "severity": "warning",
    "metric": "count",
    "field": "value",
    "window": "5m",
    "op": ">",
    "threshold": "",
    "min_samples": "",
    "source": "",
    "type": "",
    "entity": "",
    "status": "",
    "group_by": [],
    "for": "0s",
    "keep_firing_for": "0s",
    "repeat_interval": "4h",
    "targets": ["live", "log"],
    "webhook": "",
    "advanced": "",
}
CHECKLISTS = ("group_by", "targets")
INVALIDABLE = tuple(f for f in FORM_FIELDS if f not in CHECKLISTS)
_TEXT_KEYS = (
    "name",
    "description",
    "kind",
    "severity",
    "metric",
    "field",
    "window",
    "op",
    "for",
    "keep_firing_for",
    "repeat_interval",
)
# Rule fields the form shows; everything else goes to the advanced (YAML) box.
_FORM_KEYS = {*_TEXT_KEYS, "threshold", "min_samples", "filter", "group_by", "targets", "enabled"}
_ADVANCED_DEFAULTS: dict[str, Any] = {"labels": {}, "bucket": "5m", "history": "7d"}
ADVANCED_HELP = (
    "Less common fields as YAML (or JSON), e.g.\nlabels: {team: ops}\nfilter: {attrs: {site: north}, user: [ana]}\n"
    "samples_filter: {type: [scan]}\nbucket: 5m   # anomaly rules\nhistory: 7d"
)

NO_RULES = "No rules yet — add one with the form below, or start Pulseboard with --rules rules.yaml."
NO_ACTIVE = (
    "Nothing is firing or pending. Rules are evaluated every few seconds; press Evaluate now to run them at once."
)
NO_HISTORY = (
    "No alerts match. Alerts appear here once a rule goes pending or fires; clear the filters to see every rule's."
)
NO_SILENCES = "No silences. Add one above to mute a rule, or alerts with given labels, during maintenance."
NO_BACKTEST = (
    "Choose a saved rule and a range, or press “Backtest this rule” in the rule form to try one before saving it."
)


class FormError(ValueError):
    """A form value that cannot become part of a rule; ``field`` names the control."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"invalid field '{field}': {message}")
        self.field = field
        self.message = message


# ------------------------------------------------------------ formatting


def when(iso: str | None) -> str:
    """An ISO timestamp as shown on the page (UTC, to the second).

    >>> when("2026-01-02T03:04:05.678+00:00"), when(None)
    ('2026-01-02 03:04:05', '–')
    """
    return iso[:19].replace("T", " ") if iso else "–"


def ago(iso: str | None, now: datetime) -> str:
    """How long ago, roughly.

    >>> from datetime import timezone
    >>> ago("2026-01-01T00:00:00+00:00", datetime(2026, 1, 1, 2, 5, tzinfo=timezone.utc))
    '2 h 5 min ago'
    """
    if not iso:
        return ""
    seconds = max(0, int((now - datetime.fromisoformat(iso)).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min ago"
    return f"{seconds // 86400} d ago"


def value_text(value: Any) -> str:
    """
    >>> value_text(5.0), value_text(0.123456), value_text(60096.8), value_text(None)
    ('5', '0.1235', '60,097', '–')
    """
    return "–" if value is None else format_value(value) if isinstance(value, (int, float)) else str(value)


def span_text(seconds: float) -> str:
    """
    >>> span_text(288), span_text(60), span_text(7200), span_text(45)
    ('4 min 48 s', '1 min', '2 h', '45 s')
    """
    s = int(round(seconds))
    if s % 3600 == 0:
        return f"{s // 3600} h"
    if s >= 60:
        return f"{s // 60} min" + (f" {s % 60} s" if s % 60 else "")
    return f"{s} s"


def labels_text(labels: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (labels or {}).items())


def describe(spec: dict[str, Any]) -> str:
    """A rule's condition in one line.

    >>> describe({"kind": "threshold", "metric": "count", "filter": {"type": ["error"]}, "window": "1m", "op": ">", "threshold": 3.0,
    ...           "group_by": ["source"], "for": "0s"})
    'count of type=error over 1m > 3, per source'
    >>> describe({"kind": "absence", "filter": {"source": ["cron"]}, "window": "1h", "for": "5m"})
    'no events of source=cron in 1h, for 5m'
    """
    kind = spec.get("kind", "threshold")
    filt = spec.get("filter") or {}
    parts = [f"{k}={','.join(map(str, v))}" for k, v in filt.items() if k != "attrs" and v]
    parts += [f"{k}={v}" for k, v in (filt.get("attrs") or {}).items()]
    what = " ".join(parts) or "all events"
    of = f" of {what}" if parts else ""
    metric = spec.get("metric", "count")
    if spec.get("field") == "duration_ms" and metric not in (
        "count",
        "rate",
        "success_rate",
        "failures",
        "unique_users",
    ):
        metric += " duration_ms"
    if kind == "absence":
        text = f"no events{of} in {spec.get('window', '5m')}"
    elif kind == "anomaly":
        text = f"{metric} of {what} is anomalous ({spec.get('bucket', '5m')} buckets over {spec.get('history', '7d')})"
    elif kind == "duration":
        text = f"a run of {what} outside its learned duration band"
    else:
        text = f"{metric} of {what} over {spec.get('window', '5m')} {spec.get('op', '>')} {float(spec.get('threshold', 0)):g}"
    if spec.get("group_by"):
        text += ", per " + "+".join(spec["group_by"])
    if spec.get("for") not in (None, "", "0", "0s"):
        text += f", for {spec['for']}"
    return text


# ------------------------------------------------------------ the form


def id_of(text: Any, digits: int = 9) -> int | None:
    """A row id from the URL or a control, or None (ASCII digits only, bounded).

    >>> id_of("12"), id_of("x"), id_of("²"), id_of("1" * 20), id_of(None)
    (12, None, None, None, None)
    """
    return int(text) if isinstance(text, str) and re.fullmatch(rf"[0-9]{{1,{digits}}}", text) else None


def _number(text: str, integer: bool) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text  # the rule model names the field and says what it expects
    return int(number) if integer and number.is_integer() else number


def parse_advanced(text: str | None) -> dict[str, Any]:
    """The advanced box: a YAML (or JSON) mapping of extra rule fields.

    >>> parse_advanced("labels: {team: ops}"), parse_advanced("  ")
    ({'labels': {'team': 'ops'}}, {})
    """
    if not text or not text.strip():
        return {}
    if len(text) > 10_000:
        raise FormError("advanced", "at most 10,000 characters")
    try:
        if any(isinstance(token, (yaml.AliasToken, yaml.AnchorToken)) for token in yaml.scan(text)):
            raise FormError("advanced", "YAML anchors and aliases (& and *) are not accepted here")
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FormError("advanced", f"not valid YAML: {' '.join(str(exc).split())[:200]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FormError("advanced", "write key: value lines (YAML) or a JSON object")
    return data


def form_spec(values: dict[str, Any]) -> dict[str, Any]:
    """The rule spec (as ``alerts.manage.save_rule`` takes it) for the form's
    values; empty fields are left out so the rule's defaults apply.

    >>> form_spec({"name": "errors", "type": "error, fatal", "window": "1m", "threshold": "3", "targets": ["live"],
    ...            "webhook": "http://h/x", "advanced": "labels: {team: ops}"})
    {'name': 'errors', 'window': '1m', 'threshold': 3.0, 'filter': {'type': ['error', 'fatal']}, 'targets': [{'type': 'live'}, {'type': 'webhook', 'url': 'http://h/x'}], 'labels': {'team': 'ops'}}
    """
    spec: dict[str, Any] = {}
    for key in _TEXT_KEYS:
        text = str(values.get(key) or "").strip()
        if text:
            spec[key] = text
    for key in ("threshold", "min_samples"):
        text = str(values.get(key) if values.get(key) is not None else "").strip()
        if text:
            spec[key] = _number(text, key == "min_samples")
    filt = {dim: [v.strip() for v in str(values.get(dim) or "").split(",") if v.strip()] for dim in FILTER_DIMENSIONS}
    if any(filt.values()):
        spec["filter"] = {k: v for k, v in filt.items() if v}
    if values.get("group_by"):
        spec["group_by"] = [g for g in GROUP_DIMENSIONS if g in values["group_by"]]
    targets: list[dict[str, Any]] = [{"type": t} for t in ("live", "log") if t in (values.get("targets") or [])]
    targets += [{"type": "webhook", "url": url} for url in re.split(r"[\s,]+", str(values.get("webhook") or "")) if url]
    spec["targets"] = targets
    for key, value in parse_advanced(values.get("advanced")).items():
        if key == "filter" and isinstance(value, dict) and isinstance(spec.get("filter"), dict):
            spec["filter"] = spec["filter"] | value
        else:
            spec[key] = value
    return spec


def form_values(spec: dict[str, Any] | None) -> dict[str, Any]:
    """The form's values for a stored rule spec (``None``: an empty form).

    >>> v = form_values({"name": "q", "threshold": 50.0, "filter": {"type": ["queue"], "attrs": {"site": "n"}}, "labels": {},
    ...                  "targets": [{"type": "live"}, {"type": "webhook", "url": "http://h"}], "bucket": "5m", "for": "1m"})
    >>> v["threshold"], v["type"], v["targets"], v["webhook"], v["for"], v["advanced"]
    ('50', 'queue', ['live'], 'http://h', '1m', 'filter:\\n  attrs:\\n    site: n\\n')
    """
    values = dict(FORM_DEFAULTS)
    if not spec:
        return values
    for key in _TEXT_KEYS:
        if spec.get(key) is not None:
            values[key] = str(spec[key])
    for key in ("threshold", "min_samples"):
        if spec.get(key) is not None:
            number = spec[key]
            values[key] = f"{number:g}" if isinstance(number, float) else str(number)
    if values["min_samples"] == "0":
        values["min_samples"] = ""
    filt = dict(spec.get("filter") or {})
    for dim in FILTER_DIMENSIONS:
        values[dim] = ", ".join(map(str, filt.pop(dim, None) or []))
    values["group_by"] = list(spec.get("group_by") or [])
    targets = spec.get("targets") or []
    values["targets"] = [t["type"] for t in targets if t.get("type") in ("live", "log")]
    values["webhook"] = ", ".join(t["url"] for t in targets if t.get("type") == "webhook" and t.get("url"))
    extra: dict[str, Any] = {}
    filt = {k: v for k, v in filt.items() if v}
    if filt:
        extra["filter"] = filt
    for key, value in spec.items():
        if key not in _FORM_KEYS and value is not None and _ADVANCED_DEFAULTS.get(key, object()) != value:
            extra[key] = value
    values["advanced"] = yaml.safe_dump(extra, sort_keys=False, allow_unicode=True) if extra else ""
    return values


def control_for(field: str) -> str | None:
    """The form control to mark for an error's field (``RuleError.field``);
    None when no control holds it.

    >>> [control_for(f) for f in ("threshold", "filter.type", "filter.type.0", "for", "targets.2.url", "labels.team", "group_by.0", "(body)")]
    ['threshold', 'type', 'type', 'for', 'webhook', 'advanced', 'group_by', None]
    """
    parts = field.split(".")
    head = parts[0]
    if head == "filter":
        return parts[1] if len(parts) > 1 and parts[1] in FILTER_DIMENSIONS else "advanced"
    if head == "targets":
        return "webhook" if parts[-1] == "url" else "targets"
    if head in FORM_FIELDS:
        return head
    if head in ("for_",):
        return "for"
    if head in ("labels", "samples_filter", "bucket", "history", "enabled"):
        return "advanced"
    return None


LABELS = {
    "for": "for (pending period)",
    "min_samples": "min samples",
    "keep_firing_for": "keep firing for",
    "repeat_interval": "repeat every",
    "group_by": "group by",
    "webhook": "webhook URLs",
    "advanced": "advanced",
}


def error_text(field: str, message: str) -> str:
    """A validation message that names the field as the form labels it.

    >>> error_text("filter.type", "give at least one value")
    "Check the field 'type' (filter.type): give at least one value"
    >>> error_text("threshold", "Input should be a valid number")
    "Check the field 'threshold': Input should be a valid number"
    """
    control = control_for(field)
    label = LABELS.get(control, control) if control else None
    if label is None or label == field:
        return f"Check the field '{field}': {message}"
    return f"Check the field '{label}' ({field}): {message}"


# ------------------------------------------------------------ builders


def badge(text: str, colour: str, **kw: Any) -> dbc.Badge:
    return dbc.Badge(text, color=colour, className=kw.pop("className", "me-1"), **kw)


def label_badges(labels: dict[str, Any] | None) -> list[Any]:
    return [
        html.Span(
            f"{k}={v}", className="badge rounded-pill bg-secondary-subtle text-secondary-emphasis border me-1 fw-normal"
        )
        for k, v in (labels or {}).items()
    ]


def events_link(alert: dict[str, Any], spec: dict[str, Any] | None) -> str | None:
    """Where the events (or the runs) behind an alert are: the Explore view of
    the rule's filter narrowed to the alert's group, or a duration rule's
    script on the Executions page."""
    if not spec:
        return None
    from alerts.engine import link
    from alerts.rules import RuleError, parse_rule

    labels = dict(alert.get("labels") or {})
    try:
        rule = parse_rule(spec)
    except RuleError:
        return None
    if rule.kind == "duration":
        script = labels.get("entity") or next(iter(rule.filter.entity or []), None)
        return f"/executions?script={script}" if script else "/executions"
    return link(rule, labels, None)


def alert_card(
    alert: dict[str, Any], spec: dict[str, Any] | None, now: datetime, *, ack_button: bool = True
) -> dbc.Card:
    """One pending or firing alert: severity colour, rule, labels, value, since,
    acknowledgement (or the button), links to its events and history."""
    since = alert.get("fired_at") or alert.get("started_at")
    ack: Any
    if alert.get("acknowledged"):
        by = f" by {alert['acknowledged_by']}" if alert.get("acknowledged_by") else ""
        ack = html.Span(
            f"✓ acknowledged{by} {ago(alert.get('acknowledged_at'), now)}",
            className="pb-alert-ack text-success small fw-semibold",
        )
    elif ack_button:
        ack = dbc.Button(
            "Acknowledge",
            id={"type": ids.AL_ACK, "index": alert["id"]},
            size="sm",
            color="secondary",
            outline=True,
            className="pb-alert-ack-button",
        )
    else:
        ack = html.Span("not acknowledged", className="text-body-secondary small")
    href = events_link(alert, spec)
    links = [
        html.A("events →" if not href or not href.startswith("/executions") else "runs →", href=href, className="me-3")
        if href
        else None,
        html.A("details", href=f"/alerts?alert={alert['id']}", className="me-3"),
        html.A("history", href=f"/alerts?tab=history&rule={alert['rule_id']}", className="me-3"),
        html.A(
            "silence…",
            href="/alerts?"
            + urlencode(
                {
                    "tab": "silences",
                    "silence_rule": alert.get("rule") or "",
                    "silence_labels": labels_text(alert.get("labels")),
                }
            ),
        ),
    ]
    state = alert.get("state") or "firing"
    severity = alert.get("severity") or "warning"
    head = html.Div(
        [
            badge(state, STATE_COLOUR.get(state, "secondary")),
            badge(severity, SEVERITY_COLOUR.get(severity, "secondary")),
            html.Span(alert.get("rule") or "", className="fw-semibold me-2 pb-alert-rule"),
            *label_badges(alert.get("labels")),
            # Switching a rule off resolves its open alerts; one shown meanwhile (before a refresh) says so.
            badge(
                "rule off",
                "secondary",
                title="Its rule is switched off: this alert is resolved and no longer evaluated.",
            )
            if spec is not None and spec.get("enabled") is False
            else None,
            html.Div(ack, className="ms-auto"),
        ],
        className="d-flex align-items-center flex-wrap gap-1",
    )
    sent = alert.get("notifications") or 0  # a count; get_alert's JSON holds the list instead
    sent = len(sent) if isinstance(sent, list) else sent
    facts = (
        f"value {value_text(alert.get('value'))} · {'firing' if state == 'firing' else 'pending'} since {when(since)} UTC "
        f"({ago(since, now)}) · {sent} notification(s)"
    )
    return dbc.Card(
        dbc.CardBody(
            [
                head,
                html.Div(alert.get("summary") or "", className="my-1"),
                html.Div(
                    [html.Span(facts, className="me-3"), *[l for l in links if l is not None]],
                    className="small text-body-secondary",
                ),
            ],
            className="py-2",
        ),
        id=f"alert-{alert['id']}" if ack_button else f"alert-detail-{alert['id']}",
        className="mb-2 pb-alert-card",
        style={"borderLeft": f"5px solid {SEVERITY_HEX.get(severity, '#868e96')}"},
    )


def active_list(alerts: list[dict[str, Any]], specs: dict[int, dict[str, Any]], now: datetime) -> Any:
    if not alerts:
        return html.Div(NO_ACTIVE, className="text-body-secondary pb-alerts-empty")
    return html.Div([alert_card(a, specs.get(a["rule_id"]), now) for a in alerts])


def recent_list(alerts: list[dict[str, Any]]) -> Any:
    """Alerts resolved lately, one line each."""
    if not alerts:
        return html.Div("None resolved in the last 24 hours.", className="text-body-secondary small")
    return html.Ul(
        [
            html.Li(
                [
                    badge(a.get("severity") or "", SEVERITY_COLOUR.get(a.get("severity") or "", "secondary")),
                    html.A(a.get("rule") or "", href=f"/alerts?alert={a['id']}", className="me-2"),
                    *label_badges(a.get("labels")),
                    html.Span(f"resolved {when(a.get('resolved_at'))} UTC", className="small text-body-secondary"),
                ],
                className="mb-1",
            )
            for a in alerts
        ],
        className="list-unstyled mb-0",
    )


def alert_detail(alert: dict[str, Any] | None, spec: dict[str, Any] | None, now: datetime, alert_id: Any = None) -> Any:
    """The alert a link points to (``/alerts?alert=<id>``) with every
    notification sent for it."""
    close = html.A("×", href="/alerts", className="ms-auto text-decoration-none fs-5", title="close")
    if alert is None:
        return dbc.Alert(
            [
                f"Alert {alert_id} does not exist (any more): its rule may have been deleted. ",
                html.A("Show all alerts", href="/alerts"),
            ],
            color="warning",
            className="py-2",
        )
    rows = [
        html.Tr(
            [
                html.Td(when(n.get("ts"))),
                html.Td(n.get("kind")),
                html.Td(n.get("target")),
                html.Td(
                    "ok" if n.get("ok") else f"failed: {n.get('error') or ''}",
                    className="" if n.get("ok") else "text-danger",
                ),
                html.Td(n.get("attempts"), className="text-end"),
            ]
        )
        for n in alert.get("notifications") or []
    ]
    notes: Any = html.Div("No notifications were sent for this alert.", className="text-body-secondary small")
    if rows:
        head = html.Thead(
            html.Tr(
                [
                    html.Th("sent (UTC)"),
                    html.Th("kind"),
                    html.Th("target"),
                    html.Th("result"),
                    html.Th("attempts", className="text-end"),
                ]
            )
        )
        notes = dbc.Table([head, html.Tbody(rows)], size="sm", className="mb-0 small")
    facts = [
        ("state", alert.get("state")),
        ("value", value_text(alert.get("value"))),
        ("started", when(alert.get("started_at"))),
        ("fired", when(alert.get("fired_at"))),
        ("resolved", when(alert.get("resolved_at"))),
        ("last evaluated", when(alert.get("last_eval_at"))),
    ]
    header = html.Div(
        [html.Span(f"Alert #{alert['id']}", className="fw-semibold"), close], className="d-flex align-items-center"
    )
    body = [
        alert_card(alert, spec, now, ack_button=False)
        if alert.get("state") in ("pending", "firing")
        else html.Div(
            [
                badge(alert.get("state") or "", STATE_COLOUR.get(alert.get("state") or "", "secondary")),
                badge(alert.get("severity") or "", SEVERITY_COLOUR.get(alert.get("severity") or "", "secondary")),
                html.Span(alert.get("rule") or "", className="fw-semibold me-2"),
                *label_badges(alert.get("labels")),
                html.Div(alert.get("summary") or "", className="my-1"),
            ],
            className="mb-2",
        ),
        html.Div(
            " · ".join(f"{k} {v}" for k, v in facts if v not in (None, "–")), className="small text-body-secondary mb-2"
        ),
        html.Div("Notifications", className="pb-card-label mb-1"),
        notes,
    ]
    return dbc.Card([dbc.CardHeader(header), dbc.CardBody(body)], className="mb-3", id="al-alert-detail")


def counts_badges(alerts: list[dict[str, Any]], rules: int, enabled: int, silences: int) -> list[Any]:
    firing = sum(1 for a in alerts if a.get("state") == "firing")
    pending = sum(1 for a in alerts if a.get("state") == "pending")
    return [
        badge(f"{firing} firing", "danger" if firing else "secondary", className="me-2 fs-6 fw-normal"),
        badge(f"{pending} pending", "warning" if pending else "secondary", className="me-2 fs-6 fw-normal"),
        html.Span(
            f"{enabled} of {rules} rules on · {silences} silence(s) in force", className="text-body-secondary small"
        ),
    ]


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
                id=f"rule-row-{r['id']}",
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
                id=f"silence-row-{s['id']}",
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


def backtest_view(result: dict[str, Any], figure: Any, title: str) -> html.Div:
    """A backtest's outcome: how often it would have fired and notified, the
    state timeline, and the transitions."""
    summary = (
        f"{title}: over {when(result['since'])} – {when(result['until'])} UTC ({result['steps']} evaluations every "
        f"{span_text(result['step_seconds'])}) it would have fired {result['fired']} time(s), resolved {result['resolved']} time(s) and sent "
        f"{result['notifications']} notification(s) ({result['deliveries']} deliveries to its targets)."
    )
    rows = [
        html.Tr(
            [
                html.Td(when(t["ts"])),
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
        table = dbc.Table([head, html.Tbody(rows)], size="sm", className="mb-0 small")
    return html.Div(
        [
            html.Div(summary, className="mb-2 pb-backtest-summary"),
            dcc.Graph(figure=figure, config={"displayModeBar": False}),
            table,
        ]
    )


# ------------------------------------------------------------ the page


def _field(name: str, control: Any, md: int, hint: str | None = None, label: str | None = None) -> dbc.Col:
    parts = [
        dbc.Label(label or LABELS.get(name, name), html_for=control.id, className="small text-body-secondary mb-1"),
        control,
    ]
    if hint:
        parts.append(dbc.FormText(hint))
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
                            _field("window", _input("window", "5m"), 2, "30s, 5m, 1h, 1d or today"),
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
                            _field("for", _input("for", "0s"), 2, "how long before it fires"),
                            _field("keep_firing_for", _input("keep_firing_for", "0s"), 2, "after the condition clears"),
                            _field("repeat_interval", _input("repeat_interval", "4h"), 2, "notify again while firing"),
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
                                "labels, filter.attrs, filter.user, samples_filter, bucket, history",
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
                            html.Div(delete, id="al-delete-wrap", hidden=True, className="ms-auto"),
                        ],
                        className="d-flex gap-2",
                    ),
                ]
            ),
        ],
        className="mb-3",
    )


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


def _loading(child: Any) -> dcc.Loading:
    """A spinner shown only when the content takes a while (not on every refresh)."""
    return dcc.Loading(child, type="dot", delay_show=400)


def _tab(tab_id: str, children: Any) -> dbc.Tab:
    return dbc.Tab(html.Div(children, className="pt-3"), tab_id=tab_id, label=dict(TABS)[tab_id], id=f"al-tab-{tab_id}")


def page(_pathname: str, query: dict[str, str]) -> html.Div:
    tab = query.get("tab", "active")
    tab = tab if tab in dict(TABS) else "active"
    alert_id = query.get("alert", "")[:40]
    h_state = query.get("state", "") if query.get("state", "") in STATES else ""
    h_rule = query.get("rule", "") if id_of(query.get("rule")) else ""
    bt_rule = query.get("backtest", "") if id_of(query.get("backtest")) else ""
    bt_range = query.get("range", "24h") if query.get("range", "24h") in dict(RANGES) else "24h"
    rule_options = [{"label": "all rules", "value": ""}] + (
        [{"label": f"rule {h_rule}", "value": h_rule}] if h_rule else []
    )
    history = grid(ids.AL_HISTORY, HISTORY_COLUMNS, page_size=25)
    history.getRowId = "String(params.data.id)"
    return html.Div(
        [
            dcc.Location(id=ids.page_url("alerts"), refresh=False),
            dcc.Store(id=ids.AL_CHANGED, data=0),
            dcc.Store(id=ids.AL_ACTIVE_DATA),
            dcc.Store(id=ids.AL_ALERT_ID, data=alert_id or None),
            dcc.Store(id=ids.AL_EDITING),
            dcc.Store(id=ids.AL_BT_SPEC),
            html.Div(
                [
                    html.Div(id=ids.AL_COUNTS, className="d-flex align-items-center flex-wrap"),
                    dbc.Button("Evaluate now", id=ids.AL_EVALUATE, color="primary", size="sm", className="ms-auto"),
                ],
                className="d-flex align-items-center gap-2 mb-2",
            ),
            _loading(html.Div(id=ids.AL_MESSAGE)),
            dbc.Tabs(
                [
                    _tab(
                        "active",
                        [
                            html.Div(id=ids.AL_DETAIL),
                            card(
                                "Firing and pending",
                                _loading(html.Div(id=ids.AL_ACTIVE, children=dbc.Spinner(size="sm"))),
                                className="mb-3",
                            ),
                            card("Resolved in the last 24 hours", html.Div(id="al-recent")),
                        ],
                    ),
                    _tab(
                        "history",
                        [
                            dbc.Row(
                                [
                                    dbc.Col(
                                        [
                                            dbc.Label(
                                                "rule",
                                                html_for=ids.AL_H_RULE,
                                                className="small text-body-secondary mb-1",
                                            ),
                                            dbc.Select(
                                                id=ids.AL_H_RULE,
                                                options=rule_options,
                                                value=h_rule,
                                                placeholder="all rules",
                                                size="sm",
                                            ),
                                        ],
                                        md=3,
                                    ),
                                    dbc.Col(
                                        [
                                            dbc.Label(
                                                "state",
                                                html_for=ids.AL_H_STATE,
                                                className="small text-body-secondary mb-1",
                                            ),
                                            dbc.Select(
                                                id=ids.AL_H_STATE,
                                                options=[
                                                    {"label": "any state", "value": ""},
                                                    *({"label": s, "value": s} for s in STATES),
                                                ],
                                                value=h_state,
                                                placeholder="any state",
                                                size="sm",
                                            ),
                                        ],
                                        md=2,
                                    ),
                                ],
                                className="g-2 mb-3",
                            ),
                            card("Alert history (newest first)", history),
                            html.Div(id=ids.AL_HISTORY_NOTE, className="small text-body-secondary mt-2"),
                        ],
                    ),
                    _tab("rules", [card("Rules", _loading(html.Div(id=ids.AL_RULES)), className="mb-3"), rule_form()]),
                    _tab(
                        "silences",
                        [
                            silence_form(query.get("silence_rule", "")[:200], query.get("silence_labels", "")[:500]),
                            card("Silences and maintenance windows", html.Div(id=ids.AL_SILENCES)),
                        ],
                    ),
                    _tab(
                        "backtest",
                        [
                            dbc.Row(
                                [
                                    dbc.Col(
                                        [
                                            dbc.Label(
                                                "rule",
                                                html_for=ids.AL_BT_RULE,
                                                className="small text-body-secondary mb-1",
                                            ),
                                            dbc.Select(
                                                id=ids.AL_BT_RULE,
                                                options=[{"label": "choose a rule", "value": ""}]
                                                + ([{"label": f"rule {bt_rule}", "value": bt_rule}] if bt_rule else []),
                                                value=bt_rule,
                                                placeholder="choose a rule",
                                                size="sm",
                                            ),
                                        ],
                                        md=3,
                                    ),
                                    dbc.Col(
                                        [
                                            dbc.Label(
                                                "range",
                                                html_for=ids.AL_BT_RANGE,
                                                className="small text-body-secondary mb-1",
                                            ),
                                            dbc.Select(
                                                id=ids.AL_BT_RANGE,
                                                options=[{"label": l, "value": v} for v, l in RANGES],
                                                value=bt_range,
                                                size="sm",
                                            ),
                                        ],
                                        md=2,
                                    ),
                                    dbc.Col(
                                        dbc.Button(
                                            "Run backtest",
                                            id=ids.AL_BT_RUN,
                                            color="primary",
                                            size="sm",
                                            className="mt-4",
                                        ),
                                        md=2,
                                    ),
                                ],
                                className="g-2 mb-3",
                            ),
                            card(
                                "Backtest",
                                dcc.Loading(
                                    html.Div(NO_BACKTEST, id=ids.AL_BT_RESULT, className="text-body-secondary"),
                                    type="dot",
                                ),
                            ),
                        ],
                    ),
                ],
                id=ids.AL_TABS,
                active_tab=tab,
            ),
        ]
    )
