"""The Alerts page's firing and pending alerts: one card per alert (with its
acknowledge button and links to its events, history and a silence), the
alert a link points to with its notifications, the counts above the tabs,
what resolved lately and what an "Evaluate now" did. Plain functions from
the JSON that ``alerts.manage`` returns to components.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import dcc, html

from alerts.engine import link
from alerts.rules import RuleError, duration, parse_rule
from layouts import format as fmt
from layouts import ids
from layouts.alerts_format import ago, at_time, condition_text, labels_text, spec_span, value_text, when
from layouts.executions import card

SEVERITY_COLOUR = {"error": "danger", "warning": "warning", "info": "info"}
SEVERITY_HEX = {"error": "#e03131", "warning": "#e8590c", "info": "#1971c2"}
STATE_COLOUR = {"firing": "danger", "pending": "warning", "resolved": "success", "normal": "secondary"}
NO_ACTIVE = (
    "Nothing is firing or pending. Rules are evaluated every few seconds; press Evaluate now to run them at once."
)


def loading(child: Any) -> dcc.Loading:
    """A spinner shown only when the content takes a while (not on every refresh)."""
    return dcc.Loading(child, type="dot", delay_show=400)


def message(children: Any, color: str) -> dbc.Alert:
    """A dismissable answer to a button press, above the tabs or under a form."""
    return dbc.Alert(children, color=color, dismissable=True, className="py-2 small mb-2")


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
    labels = dict(alert.get("labels") or {})
    try:
        rule = parse_rule(spec)
    except RuleError:
        return None
    if rule.kind == "duration":
        script = labels.get("entity") or next(iter(rule.filter.entity or []), None)
        return f"/executions?script={script}" if script else "/executions"
    return link(rule, labels, None)


def silence_of(alert: dict[str, Any], silences: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """The silence in force that mutes ``alert`` (every matcher equals the
    alert's rule name or one of its labels, as the engine matches), or None.

    >>> s = [{"id": 1, "matchers": {"rule": "q", "entity": "a"}, "active": True}]
    >>> silence_of({"rule": "q", "labels": {"entity": "a"}}, s)["id"], silence_of({"rule": "q", "labels": {}}, s)
    (1, None)
    """
    labels = alert.get("labels") or {}
    for silence in silences or []:
        if silence.get("active") is False:
            continue
        matchers = silence.get("matchers") or {}
        if matchers and all(
            (alert.get("rule") if key == "rule" else labels.get(key)) == str(want) for key, want in matchers.items()
        ):
            return silence
    return None


def keeps_firing(alert: dict[str, Any]) -> bool:
    """A firing alert whose condition no longer held at the last evaluation
    (it keeps firing for the rule's ``keep_firing_for``)."""
    last_match, last_eval = alert.get("last_match_at"), alert.get("last_eval_at")
    return alert.get("state") == "firing" and bool(last_match and last_eval and last_match < last_eval)


def alert_status(
    alert: dict[str, Any], spec: dict[str, Any] | None, silence: dict[str, Any] | None, now: datetime
) -> tuple[str, list[tuple[str, str, str]]]:
    """How an alert card looks: its look (``firing``, ``pending``,
    ``keeping``, ``silenced`` or ``acknowledged``: what most needs saying) and
    its badges with their words, ``[(badge, colour, sentence)]``."""
    state = alert.get("state") or "firing"
    notes: list[tuple[str, str, str]] = []
    look = state
    if keeps_firing(alert):
        keep = (spec or {}).get("keep_firing_for")
        last = alert.get("last_match_at")
        until = ""
        try:
            if last and keep:
                end = datetime.fromisoformat(last) + duration(keep, allow_zero=True)
                until = f", {'keeps' if end > now else 'kept'} firing until {at_time(end.isoformat())} UTC"
        except ValueError:
            pass
        notes.append(
            (
                "keeps firing",
                "warning",
                f"condition resolved {ago(last, now)}{until} (keep_firing_for {spec_span(keep)})",
            )
        )
        look = "keeping"
    if alert.get("acknowledged"):
        by = f" by {alert['acknowledged_by']}" if alert.get("acknowledged_by") else ""
        at = alert.get("acknowledged_at")
        notes.append(
            (
                "acknowledged",
                "info",
                f"acknowledged{by} at {when(at)} UTC ({ago(at, now)}): no repeat notifications",
            )
        )
        look = "acknowledged"
    if silence is not None:
        why = f"“{silence['comment']}”" if silence.get("comment") else f"silence #{silence.get('id')}"
        who = f" ({silence['created_by']})" if silence.get("created_by") else ""
        notes.append(
            (
                "silenced",
                "secondary",
                f"silenced by {why}{who} until {when(silence.get('ends_at'))} UTC: no notifications meanwhile",
            )
        )
        look = "silenced"
    return look, notes


# A card's left border by its look: what needs attention keeps the severity's colour.
LOOK_BORDER = {"silenced": "5px solid #868e96", "acknowledged": "5px solid #0c8599", "keeping": "5px dashed"}


def alert_card(
    alert: dict[str, Any],
    spec: dict[str, Any] | None,
    now: datetime,
    *,
    ack_button: bool = True,
    silences: list[dict[str, Any]] | None = None,
) -> dbc.Card:
    """One pending or firing alert: severity colour, rule, labels, value against
    the condition (true for its state), since, and what mutes it: silenced,
    acknowledged (or the button), keeping firing after the condition cleared;
    links to its events and history."""
    since = alert.get("fired_at") or alert.get("started_at")
    state = alert.get("state") or "firing"
    severity = alert.get("severity") or "warning"
    silence = silence_of(alert, silences)
    look, notes = alert_status(alert, spec, silence, now)
    ack: Any = None
    if not alert.get("acknowledged"):
        ack = (
            dbc.Button(
                "Acknowledge",
                id={"type": ids.AL_ACK, "index": alert["id"]},
                size="sm",
                color="secondary",
                outline=True,
                className="pb-alert-ack-button",
            )
            if ack_button
            else html.Span("not acknowledged", className="text-body-secondary small")
        )
    href = events_link(alert, spec)
    links = [
        html.A("events →" if not href or not href.startswith("/executions") else "runs →", href=href, className="me-3")
        if href
        else None,
        html.A("details", href=f"/alerts?alert={alert['id']}", className="me-3"),
        html.A("history", href=f"/alerts?tab=history&rule={alert['rule_id']}", className="me-3"),
        None
        if silence is not None
        else html.A(
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
    # A firing alert someone already handles (silenced, acknowledged) keeps its state, in a quieter badge.
    quiet = look in ("silenced", "acknowledged")
    head = html.Div(
        [
            badge(state, STATE_COLOUR.get(state, "secondary"))
            if not quiet
            else html.Span(
                state, className="badge me-1 bg-danger-subtle text-danger-emphasis border border-danger-subtle"
            ),
            *[badge(name, colour, className="me-1 pb-alert-badge") for name, colour, _words in notes],
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
            html.Div(ack, className="ms-auto") if ack is not None else None,
        ],
        className="d-flex align-items-center flex-wrap gap-1",
    )
    sent = alert.get("notifications") or 0  # a count; get_alert's JSON holds the list instead
    sent = len(sent) if isinstance(sent, list) else sent
    facts = f"{state} since {when(since)} UTC ({ago(since, now)}) · {fmt.count(sent, 'notification')}"
    title = (spec or {}).get("description") or alert.get("rule") or ""
    group = ", ".join(
        f"{k}={v}" for k, v in (alert.get("labels") or {}).items() if k not in (spec or {}).get("labels", {})
    )
    text = f"{title}{f' [{group}]' if group else ''}: {condition_text(spec, alert, not keeps_firing(alert))}"
    if state == "pending" and spec and spec.get("for") not in (None, "", "0", "0s"):
        text += f"; fires once it has held for {spec_span(spec['for'])}"
    border = LOOK_BORDER.get(look, "5px solid")
    colour = "" if look in ("silenced", "acknowledged") else f" {SEVERITY_HEX.get(severity, '#868e96')}"
    return dbc.Card(
        dbc.CardBody(
            [
                head,
                html.Div(
                    text, className="my-1 pb-alert-summary" + (" text-body-secondary" if look == "silenced" else "")
                ),
                *[
                    html.Div(words, className=f"small pb-alert-note pb-alert-note-{name.split()[0]}")
                    for name, _c, words in notes
                ],
                html.Div(
                    [html.Span(facts, className="me-3"), *[l for l in links if l is not None]],
                    className="small text-body-secondary mt-1",
                ),
            ],
            className="py-2",
        ),
        id=ids.al_alert(alert["id"]) if ack_button else ids.al_alert_in_detail(alert["id"]),
        className=f"mb-2 pb-alert-card pb-alert-{look}",
        style={"borderLeft": border + colour},
    )


def active_list(
    alerts: list[dict[str, Any]],
    specs: dict[int, dict[str, Any]],
    now: datetime,
    silences: list[dict[str, Any]] | None = None,
) -> Any:
    if not alerts:
        return html.Div(NO_ACTIVE, className="text-body-secondary pb-alerts-empty")
    return html.Div([alert_card(a, specs.get(a["rule_id"]), now, silences=silences) for a in alerts])


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


def alert_detail(
    alert: dict[str, Any] | None,
    spec: dict[str, Any] | None,
    now: datetime,
    alert_id: Any = None,
    silences: list[dict[str, Any]] | None = None,
) -> Any:
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
        alert_card(alert, spec, now, ack_button=False, silences=silences)
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
    return dbc.Card([dbc.CardHeader(header), dbc.CardBody(body)], className="mb-3", id=ids.AL_ALERT_DETAIL)


def counts_badges(
    alerts: list[dict[str, Any]], rules: int, enabled: int, silences: int, in_force: list[dict[str, Any]] | None = None
) -> list[Any]:
    """The counts above the tabs; firing alerts that are silenced or
    acknowledged are counted apart, so "3 firing" means three need someone."""
    firing = [a for a in alerts if a.get("state") == "firing"]
    pending = sum(1 for a in alerts if a.get("state") == "pending")
    muted = sum(1 for a in firing if silence_of(a, in_force) is not None)
    acked = sum(1 for a in firing if a.get("acknowledged") and silence_of(a, in_force) is None)
    loud = len(firing) - muted - acked
    handled = [
        badge(f"{n} {what}", colour, className="me-2 fs-6 fw-normal", title=f"firing, {what}")
        for n, what, colour in ((muted, "silenced", "secondary"), (acked, "acknowledged", "info"))
        if n
    ]
    return [
        badge(
            f"{loud} firing",
            "danger" if loud else "secondary",
            className="me-2 fs-6 fw-normal",
            title="firing, neither silenced nor acknowledged" if handled else "firing",
        ),
        *handled,
        badge(f"{pending} pending", "warning" if pending else "secondary", className="me-2 fs-6 fw-normal"),
        html.Span(
            f"{enabled} of {rules} rules on · {fmt.count(silences, 'silence')} in force",
            className="text-body-secondary small",
        ),
    ]


def evaluation_text(summary: dict[str, Any]) -> list[Any]:
    """What one evaluation did, in a sentence (and each failed rule).

    >>> evaluation_text({"rules": 4, "firing": 1, "pending": 0, "notifications": 1, "transitions": [{}], "errors": [],
    ...                  "duration_ms": 12.5, "evaluated_at": "2026-01-01T00:00:00+00:00"})[0]
    'Evaluated 4 rules at 2026-01-01 00:00:00 UTC in 12 ms: 1 firing, 0 pending, 1 change, 1 notification sent.'
    """
    if "skipped" in summary:
        return ["Another server process is evaluating the rules right now; try again in a moment."]
    text = (
        f"Evaluated {summary['rules']} rules at {when(summary.get('evaluated_at'))} UTC in {summary.get('duration_ms', 0):.0f} ms: "
        f"{summary['firing']} firing, {summary['pending']} pending, {fmt.count(len(summary.get('transitions') or []), 'change')}, "
        f"{fmt.count(summary['notifications'], 'notification')} sent."
    )
    out: list[Any] = [text]
    for err in summary.get("errors") or []:
        out.append(
            html.Div(f"Rule '{err.get('rule')}' could not be evaluated: {err.get('error')}", className="text-danger")
        )
    return out


def active_tab() -> list[Any]:
    """The "Firing & pending" tab; its callbacks fill it on every refresh."""
    return [
        html.Div(id=ids.AL_DETAIL),
        card(
            "Firing and pending now (whatever the time range)",
            loading(html.Div(id=ids.AL_ACTIVE, children=dbc.Spinner(size="sm"))),
            className="mb-3",
        ),
        card("Resolved in the last 24 hours", html.Div(id=ids.AL_RECENT)),
    ]
