"""Alerts page: the active alerts and history refresh with the page's timer;
buttons, switches and forms call ``alerts.manage`` (the same functions as the
API, one validation path) and bump a change counter that refreshes the rest.
Changing anything needs the admin role when sign-in is on.

Each callback is a module-level function ``fn(services, **inputs) -> dict``
with named inputs and named outputs (Dash's flexible signatures); ``register``
binds it to the app. A callback returns only the outputs it changes: ``_add``
fills in ``no_update`` for the rest, so no answer is a tuple of place-holders.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlencode

import dash
from dash import ALL, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from alerts import manage
from alerts.form import (
    FORM_FIELDS,
    INVALIDABLE,
    error_text,
    form_errors,
    form_values,
    id_of,
    invalid_all,
    silence_error,
    silence_spec,
    summary_text,
    validate,
)
from alerts.rules import RuleError
from auth import current_role, current_user
from callbacks import timebar
from layouts import alerts_active, alerts_history, alerts_rules, ids
from layouts import format as fmt
from layouts.alerts_active import message
from layouts.alerts_format import describe, labels_text, when
from services import Services

log = logging.getLogger("pulseboard.alerts")
RANGE_SECONDS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
HISTORY_LIMIT = 1000
Reply = dict[str, Any]


def url_search(
    tab: str | None, alert: str | None, rule: str | None, state: str | None, bt_rule: str | None, bt_range: str | None
) -> str:
    """The page's query string: only what differs from the defaults.

    >>> url_search("history", "5", "3", "firing", "", "24h"), url_search("active", "5", "", "", "", "24h")
    ('?tab=history&rule=3&state=firing', '?alert=5')
    """
    params = {
        "tab": tab if tab and tab != "active" else "",
        "alert": alert if (tab or "active") == "active" and alert else "",
        "rule": rule or "",
        "state": state or "",
        "backtest": bt_rule or "",
        "bt_range": bt_range if bt_range and bt_range != "24h" else "",
    }
    params = {k: v for k, v in params.items() if v}
    return "?" + urlencode(params) if params else ""


def triggered(kind: str) -> list[tuple[int, Any]]:
    """The (index, value) of each pattern-matching component of ``kind`` that
    fired this callback."""
    out = []
    for item in dash.ctx.triggered:
        prop = str(item.get("prop_id", ""))
        if not prop.startswith("{"):
            continue
        try:
            key = json.loads(prop.rsplit(".", 1)[0])
            index = key.get("index") if isinstance(key, dict) else None
        except ValueError:
            continue
        if key.get("type") == kind and isinstance(index, int) and not isinstance(index, bool):
            out.append((index, item.get("value")))
    return out


def may_change() -> str | None:
    """None when this request may change alerts, else why not."""
    role = current_role()
    return (
        None if role == "admin" else f"Changing alerts needs the admin role (you are signed in as {role or 'nobody'})."
    )


def complete(schema: Any, value: Any) -> Any:
    """``value`` shaped like the output grouping ``schema``: every output a
    callback left out (or answered with ``no_update``) is ``no_update``, as
    Dash wants every key of a dict grouping in the answer.

    >>> answer = complete({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": "x"}})
    >>> answer["b"]["c"], answer["a"] is no_update, answer["b"]["d"] is no_update
    ('x', True, True)
    """
    if isinstance(schema, dict):
        given = value if isinstance(value, dict) else {}
        return {key: complete(sub, given.get(key, no_update)) for key, sub in schema.items()}
    return value


def _add(
    app: dash.Dash, fn: Callable[..., Reply], *, output: dict[str, Any], inputs: dict[str, Any], **opts: Any
) -> None:
    """Register ``fn`` (called with the inputs by name) for the named outputs."""

    def answer(**values: Any) -> Any:
        return complete(output, fn(**values))

    app.callback(output=output, inputs=inputs, **opts)(answer)


def _bump(changed: int | None) -> int:
    return (changed or 0) + 1


# ------------------------------------------------------------ reads


def active(services: Services, *, previous: str | None, alert_id: Any, **_triggers: Any) -> Reply:
    """The firing and pending alerts, the counts, the alert the URL names and
    what resolved lately; nothing when none of it changed since last time."""
    now = services.now()
    with services.db.read() as conn:
        alerts = manage.active_alerts(conn)
        rules = manage.list_rules(conn)
        silences = manage.list_silences(conn, now=now, active_only=True)
        recent = manage.alert_history(conn, state="resolved", since=now - timedelta(hours=24), limit=10)["alerts"]
        detail_id = id_of(str(alert_id), 18) if alert_id else None
        detail = manage.get_alert(conn, detail_id) if detail_id else None
    key = json.dumps(
        [
            alerts,
            [r["id"] for r in recent],
            detail,
            [(r["id"], r["enabled"]) for r in rules],
            [(s["id"], s["ends_at"]) for s in silences],
            now.strftime("%Y-%m-%dT%H:%M"),
        ],
        default=str,
        sort_keys=True,
    )
    if key == previous:
        raise PreventUpdate  # nothing changed: keep the page as it is (and the buttons under the pointer)
    specs = {r["id"]: r["spec"] for r in rules}
    detail_spec = specs.get(detail["rule_id"]) if detail else None
    return {
        "alerts": alerts_active.active_list(alerts, specs, now, silences),
        "key": key,
        "counts": alerts_active.counts_badges(
            alerts, len(rules), sum(1 for r in rules if r["enabled"]), len(silences), silences
        ),
        "detail": alerts_active.alert_detail(detail, detail_spec, now, alert_id, silences) if alert_id else None,
        "recent": alerts_active.recent_list(recent),
    }


def rule_choices(
    services: Services, *, editing: int | None, h_rule: str | None, bt_rule: str | None, s_rule: str | None, **_: Any
) -> Reply:
    """The rules table and every rule select; a choice that names a rule no
    longer there stays choosable (it came from the URL or a link)."""
    with services.db.read() as conn:
        rows = manage.list_rules(conn)
    by_id = [{"label": r["name"], "value": str(r["id"])} for r in rows]
    names = [r["name"] for r in rows]

    def deleted(value: str | None) -> list[dict[str, str]]:
        return (
            [{"label": f"rule {value} (deleted)", "value": value}]
            if value and value not in {o["value"] for o in by_id}
            else []
        )

    # A silence may name a rule that does not exist (yet).
    named = [{"label": s_rule, "value": s_rule}] if s_rule and s_rule not in names else []
    return {
        "table": alerts_rules.rules_table(rows, editing),
        "history": [{"label": "all rules", "value": ""}, *by_id, *deleted(h_rule)],
        "backtest": [{"label": "choose a rule", "value": ""}, *by_id, *deleted(bt_rule)],
        "silence": [{"label": "any rule", "value": ""}, *({"label": n, "value": n} for n in names), *named],
    }


def history(
    services: Services, *, rule: str | None, state: str | None, tab: str | None, time_range: Any, **_: Any
) -> Reply:
    """The history grid for the filters: the alerts that started in the time
    bar's range, refreshed while the tab is in view."""
    if dash.ctx.triggered_id in (ids.REFRESH, ids.AL_TABS, ids.TIME_RANGE) and tab != "history":
        raise PreventUpdate  # refreshed while it is in view (and when it comes into view)
    since, until = timebar.bounds(services, time_range, "/alerts")
    with services.db.read() as conn:
        page = manage.alert_history(
            conn,
            rule_id=id_of(rule),
            state=state if state in alerts_history.STATES else None,
            since=since,
            until=until,
            limit=HISTORY_LIMIT,
        )
    total = page["total"]
    if total == 0:
        note = alerts_history.NO_HISTORY
    elif total > HISTORY_LIMIT:
        note = f"The newest {HISTORY_LIMIT:,} of {total:,} alerts; narrow the filters (or use GET /api/alerts/history) for older ones."
    else:
        note = f"{fmt.count(total, 'alert')}."
    return {"rows": alerts_history.history_rows(page["alerts"]), "note": note}


def silences(services: Services, *, tab: str | None, **_: Any) -> Reply:
    """The silences table, refreshed while the tab is in view."""
    if dash.ctx.triggered_id in (ids.REFRESH, ids.AL_TABS) and tab != "silences":
        raise PreventUpdate
    now = services.now()
    with services.db.read() as conn:
        rows = manage.list_silences(conn, now=now)
    return {"table": alerts_history.silences_table(rows, now)}


OUTBOX_LIMIT = 200  # outbox messages the tab lists


def mail(services: Services, *, tab: str | None, **_: Any) -> Reply:
    """The outbox grid (read-only), refreshed while the tab is in view."""
    if dash.ctx.triggered_id in (ids.REFRESH, ids.AL_TABS) and tab != "outbox":
        raise PreventUpdate
    with services.db.read() as conn:
        found = manage.mail_outbox(conn, limit=OUTBOX_LIMIT)
    rows = alerts_history.outbox_rows(found["messages"])
    return {"rows": rows, "note": alerts_history.outbox_note(found["counts"], len(rows), services.settings.smtp_host)}


def url(
    *,
    tab: str | None,
    rule: str | None,
    state: str | None,
    bt_rule: str | None,
    bt_range: str | None,
    alert: Any,
    search: str | None,
) -> Reply:
    """The page's filters written into its URL (when they changed it)."""
    wanted = url_search(tab, str(alert) if alert else None, rule, state, bt_rule, bt_range)
    wanted = timebar.page_search(wanted, search, "/alerts")
    return {"search": no_update if wanted == (search or "") else wanted}


# ------------------------------------------------------------ writes


def evaluate_now(services: Services, *, changed: int | None, **_: Any) -> Reply:
    """Evaluate every rule at once and say what that did."""
    refused = may_change()
    if refused:
        return {"message": message(refused, "warning")}
    try:
        summary = services.alerts.evaluate()
    except Exception as exc:  # e.g. the database is busy: say so rather than fail the page
        log.exception("evaluating alert rules from the page failed")
        return {"message": message(f"The rules could not be evaluated: {exc}", "danger")}
    return {"message": message(alerts_active.evaluation_text(summary), "info"), "changed": _bump(changed)}


def acknowledge(services: Services, *, changed: int | None, **_: Any) -> Reply:
    """Acknowledge the alert whose button was pressed."""
    acks = [i for i, v in triggered(ids.AL_ACK) if v]
    if not acks:
        raise PreventUpdate  # a re-rendered button, not a click
    refused = may_change()
    if refused:
        return {"message": message(refused, "warning")}
    now, by = services.now(), current_user()
    with services.db.write() as conn:
        done = [a for a in (manage.acknowledge(conn, i, by, now=now) for i in acks) if a]
    if not done:
        return {"message": message("That alert no longer exists.", "warning"), "changed": _bump(changed)}
    names = ", ".join(f"#{a['id']} ({a['rule']})" for a in done)
    text = f"Alert {names} acknowledged: no more repeat notifications for it."
    return {"message": message(text, "success"), "changed": _bump(changed)}


def switch(services: Services, *, changed: int | None, **_: Any) -> Reply:
    """Switch the rule whose switch was flipped on or off."""
    now = services.now()
    with services.db.read() as conn:
        current = {r["id"]: r for r in manage.list_rules(conn)}
    wanted = [
        (i, bool(v))
        for i, v in triggered(ids.AL_RULE_ENABLED)
        if i in current and bool(current[i]["enabled"]) != bool(v)
    ]
    if not wanted:
        raise PreventUpdate  # a re-rendered switch, not a click
    refused = may_change()
    if refused:
        return {"message": message(refused, "warning"), "changed": _bump(changed)}  # the bump redraws the switches
    with services.db.write() as conn:
        for i, enabled in wanted:
            manage.set_enabled(conn, i, enabled, now=now)
    text = "; ".join(f"Rule '{current[i]['name']}' {'enabled' if on else 'disabled'}" for i, on in wanted)
    return {"message": message(text + ".", "success"), "changed": _bump(changed)}


def change_silences(services: Services, *, form: dict[str, Any], changed: int | None, **_: Any) -> Reply:
    """Add the silence the form describes, or delete the one whose button was pressed."""
    deletes = [i for i, v in triggered(ids.AL_S_DELETE) if v]
    if dash.ctx.triggered_id != ids.AL_S_ADD and not deletes:
        raise PreventUpdate
    refused = may_change()
    if refused:
        return {"message": message(refused, "warning")}
    if deletes:
        with services.db.write() as conn:
            gone = [i for i in deletes if manage.delete_silence(conn, i)]
        text = f"Silence {', '.join(map(str, gone)) or deletes[0]} deleted."
        return {"message": message(text, "success"), "changed": _bump(changed)}
    try:
        spec = silence_spec(form["rule"], form["labels"], form["duration"], form["comment"], current_user())
        with services.db.write() as conn:
            row = manage.add_silence(conn, spec, now=services.now())
    except RuleError as exc:
        return {"message": message(silence_error(exc), "danger")}
    text = f"Silence added: alerts matching {labels_text(row['matchers'])} are muted until {when(row['ends_at'])} UTC."
    return {"message": message(text, "success"), "changed": _bump(changed), "labels": "", "comment": ""}


# ------------------------------------------------------------ the rule form

# What the form shows when no rule is being edited (also after a delete).
_NEW_FORM: Reply = {"editing": None, "title": "New rule", "hide_delete": True}


def _edited(rule: dict[str, Any]) -> Reply:
    """The form showing a stored rule, ready to be saved again."""
    return {
        "values": form_values(rule["spec"]),
        "editing": rule["id"],
        "title": f"Edit rule '{rule['name']}'",
        "hide_delete": False,
    }


def _invalid(errors: list[tuple[str, str]]) -> Reply:
    """Every error of the form at once: each bad control marked, with its
    message under it, and a line under the form naming them."""
    by_control = form_errors(errors)
    return {
        "invalid": invalid_all(errors),
        "feedback": {f: by_control.get(f) for f in FORM_FIELDS},
        "message": message(summary_text(errors), "danger"),
    }


# A valid answer: no control marked, no message under any.
_VALID: Reply = {"invalid": invalid_all([]), "feedback": {f: None for f in FORM_FIELDS}}


def edit_rule(services: Services, rule_id: int, changed: int | None) -> Reply:
    """The rule whose Edit button was pressed, in the form."""
    with services.db.read() as conn:
        rule = manage.get_rule(conn, rule_id)
    if rule is None:
        return _NEW_FORM | {"message": message("That rule no longer exists.", "warning"), "changed": _bump(changed)}
    return _edited(rule) | {"message": None, "changed": _bump(changed)}


def delete_rule(services: Services, editing: int | None, changed: int | None) -> Reply:
    """Delete the rule in the form (the confirmation dialog asked first)."""
    refused = may_change()
    if refused or editing is None:
        return {"message": message(refused or "Choose a rule to delete with its Edit button.", "warning")}
    with services.db.write() as conn:
        rule = manage.get_rule(conn, editing)
        manage.delete_rule(conn, editing)
    text = f"Rule '{rule['name'] if rule else editing}' deleted with its alerts."
    return _NEW_FORM | {"values": form_values(None), "message": message(text, "success"), "changed": _bump(changed)}


def save_rule(services: Services, values: dict[str, Any], editing: int | None, changed: int | None) -> Reply:
    """Create the form's rule, or update the one being edited; every bad
    field is named, its control marked and its message shown under it."""
    refused = may_change()
    if refused:
        return {"message": message(refused, "warning")}
    spec, errors = validate(values)
    if errors:
        return _invalid(errors)
    try:
        with services.db.write() as conn:
            old = manage.get_rule(conn, editing) if editing is not None else None
            if editing is not None and old is None:
                text = "The rule being edited was deleted meanwhile; press Save again to create it."
                return _NEW_FORM | {"message": message(text, "warning"), "changed": _bump(changed)}
            if old is not None and "enabled" not in spec:
                spec["enabled"] = bool(old["enabled"])  # saving an edit keeps the rule's switch as it is
            saved = manage.save_rule(conn, spec, now=services.now(), rule_id=editing)
    except RuleError as exc:  # e.g. another rule has the name
        return _invalid([(exc.field, exc.message)])
    verb = "updated" if editing is not None else "created"
    text = f"Rule '{saved['name']}' {verb}: {describe(saved['spec'])}."
    return _edited(saved) | {"message": message(text, "success"), "changed": _bump(changed)}


def rule_form(
    services: Services, *, values: dict[str, Any], editing: int | None, changed: int | None, **_: Any
) -> Reply:
    """The form's buttons (and each rule's Edit button); a valid answer
    clears every control's invalid mark."""
    edits = [i for i, v in triggered(ids.AL_RULE_EDIT) if v]
    trigger = dash.ctx.triggered_id
    if edits:
        reply = edit_rule(services, edits[0], changed)
    elif trigger == ids.AL_NEW:
        reply = _NEW_FORM | {"values": form_values(None), "message": None}
        reply["changed"] = _bump(changed) if editing else no_update  # the table's highlighted Edit button
    elif trigger == ids.AL_DELETE:
        reply = delete_rule(services, editing, changed)
    elif trigger == ids.AL_SAVE:
        reply = save_rule(services, values, editing, changed)
    else:
        raise PreventUpdate
    return _VALID | reply


# ------------------------------------------------------------ backtest


def backtest(
    services: Services, *, rule_id: str | None, range_: str | None, values: dict[str, Any], theme: str | None, **_: Any
) -> Reply:
    """Replay a saved rule, or the form's (unsaved) one, over the range."""
    from_form = dash.ctx.triggered_id == ids.AL_FORM_BACKTEST
    reply: Reply = {"tab": "backtest"} if from_form else {}
    if from_form:
        spec: Any
        named = str(values.get("name") or "").strip()
        spec, errors = validate(values | {"name": named or "unsaved rule"})  # a rule tried out needs no name yet
        if errors:
            lines = [html.Div(error_text(field, text)) for field, text in errors]
            head = "Fix the rule in the form first:" if len(errors) > 1 else None
            return reply | {"result": message([head, *lines] if head else lines, "danger")}
        title = f"The form's rule '{named or 'unnamed'}'"
    else:
        wanted = id_of(rule_id)
        if wanted is None:
            return reply | {"result": html.Div(alerts_history.NO_BACKTEST, className="text-body-secondary")}
        with services.db.read() as conn:
            rule = manage.get_rule(conn, wanted)
        if rule is None:
            return reply | {"result": message(f"Rule {rule_id} does not exist (any more).", "warning")}
        spec, title = rule["spec"], f"Rule '{rule['name']}'"
    until = services.now()
    since = until - timedelta(seconds=RANGE_SECONDS.get(range_ or "24h", 86400))
    try:
        result = manage.backtest(services.alerts, spec, since, until)
    except RuleError as exc:
        return reply | {"result": message(error_text(exc.field, exc.message), "danger")}
    except Exception as exc:  # a metric that cannot be computed over this history: say so rather than fail the page
        log.exception("backtest of %r failed", spec.get("name"))
        return reply | {"result": message(f"The backtest failed: {exc}", "danger")}
    fig = alerts_history.backtest_figure(result, spec if isinstance(spec, dict) else None, dark=theme == "dark")
    return reply | {"result": alerts_history.backtest_view(result, fig, title)}


# ------------------------------------------------------------ registration


def _form_state() -> dict[str, State]:
    return {f: State(ids.al_field(f), "value") for f in FORM_FIELDS}


def register(app: dash.Dash, services: Services) -> None:
    refresh, changed_in = Input(ids.REFRESH, "n_intervals"), Input(ids.AL_CHANGED, "data")
    changed_state = State(ids.AL_CHANGED, "data")
    tab_in = Input(ids.AL_TABS, "active_tab")

    # The horizon and bound controls belong to forecast rules: shown for that kind only.
    app.clientside_callback(  # type: ignore[no-untyped-call]
        "function (kind) { return kind === 'forecast' ? {} : {display: 'none'}; }",
        Output(ids.AL_FORECAST_ROW, "style"),
        Input(ids.al_field("kind"), "value"),
    )

    _add(
        app,
        partial(active, services),
        output={
            "alerts": Output(ids.AL_ACTIVE, "children"),
            "key": Output(ids.AL_ACTIVE_DATA, "data"),
            "counts": Output(ids.AL_COUNTS, "children"),
            "detail": Output(ids.AL_DETAIL, "children"),
            "recent": Output(ids.AL_RECENT, "children"),
        },
        inputs={
            "refresh": refresh,
            "changed": changed_in,
            "previous": State(ids.AL_ACTIVE_DATA, "data"),
            "alert_id": State(ids.AL_ALERT_ID, "data"),
        },
    )
    _add(
        app,
        partial(rule_choices, services),
        output={
            "table": Output(ids.AL_RULES, "children"),
            "history": Output(ids.AL_H_RULE, "options"),
            "backtest": Output(ids.AL_BT_RULE, "options"),
            "silence": Output(ids.AL_S_RULE, "options"),
        },
        inputs={
            "changed": changed_in,
            "editing": State(ids.AL_EDITING, "data"),
            "h_rule": State(ids.AL_H_RULE, "value"),
            "bt_rule": State(ids.AL_BT_RULE, "value"),
            "s_rule": State(ids.AL_S_RULE, "value"),
        },
    )
    _add(
        app,
        partial(history, services),
        output={"rows": Output(ids.AL_HISTORY, "rowData"), "note": Output(ids.AL_HISTORY_NOTE, "children")},
        inputs={
            "rule": Input(ids.AL_H_RULE, "value"),
            "state": Input(ids.AL_H_STATE, "value"),
            "changed": changed_in,
            "refresh": refresh,
            "tab": tab_in,
            "time_range": Input(ids.TIME_RANGE, "data"),
        },
    )
    _add(
        app,
        partial(silences, services),
        output={"table": Output(ids.AL_SILENCES, "children")},
        inputs={"changed": changed_in, "refresh": refresh, "tab": tab_in},
    )
    _add(
        app,
        partial(mail, services),
        output={"rows": Output(ids.AL_OUTBOX, "rowData"), "note": Output(ids.AL_OUTBOX_NOTE, "children")},
        inputs={"changed": changed_in, "refresh": refresh, "tab": tab_in},
    )
    _add(
        app,
        url,
        output={"search": Output(ids.page_search("alerts"), "data")},
        inputs={
            "tab": tab_in,
            "rule": Input(ids.AL_H_RULE, "value"),
            "state": Input(ids.AL_H_STATE, "value"),
            "bt_rule": Input(ids.AL_BT_RULE, "value"),
            "bt_range": Input(ids.AL_BT_RANGE, "value"),
            "alert": State(ids.AL_ALERT_ID, "data"),
            "search": State(ids.URL, "search"),
        },
    )

    # Evaluate and Acknowledge have callbacks of their own: Dash keeps only the
    # newest answer of a callback, and the rule switches re-render (and fire
    # their callback) on every refresh, which would swallow a click's answer.
    page_message = {
        "message": Output(ids.AL_MESSAGE, "children", allow_duplicate=True),
        "changed": Output(ids.AL_CHANGED, "data", allow_duplicate=True),
    }
    for fn, trigger in (
        (evaluate_now, Input(ids.AL_EVALUATE, "n_clicks")),
        (acknowledge, Input({"type": ids.AL_ACK, "index": ALL}, "n_clicks")),
        (switch, Input({"type": ids.AL_RULE_ENABLED, "index": ALL}, "value")),
    ):
        _add(
            app,
            partial(fn, services),
            output=page_message,
            inputs={"trigger": trigger, "changed": changed_state},
            prevent_initial_call=True,
        )
    _add(
        app,
        partial(change_silences, services),
        output={
            "message": Output(ids.AL_S_MESSAGE, "children"),
            "changed": Output(ids.AL_CHANGED, "data", allow_duplicate=True),
            "labels": Output(ids.AL_S_LABELS, "value"),
            "comment": Output(ids.AL_S_COMMENT, "value"),
        },
        inputs={
            "add": Input(ids.AL_S_ADD, "n_clicks"),
            "delete": Input({"type": ids.AL_S_DELETE, "index": ALL}, "n_clicks"),
            "form": {
                "rule": State(ids.AL_S_RULE, "value"),
                "labels": State(ids.AL_S_LABELS, "value"),
                "duration": State(ids.AL_S_DURATION, "value"),
                "comment": State(ids.AL_S_COMMENT, "value"),
            },
            "changed": changed_state,
        },
        prevent_initial_call=True,
    )
    _add(
        app,
        partial(rule_form, services),
        output={
            "values": {f: Output(ids.al_field(f), "value") for f in FORM_FIELDS},
            "invalid": {f: Output(ids.al_field(f), "invalid") for f in INVALIDABLE},
            "feedback": {f: Output(ids.al_field_error(f), "children") for f in FORM_FIELDS},
            "editing": Output(ids.AL_EDITING, "data"),
            "title": Output(ids.AL_FORM_TITLE, "children"),
            "message": Output(ids.AL_FORM_MESSAGE, "children"),
            "hide_delete": Output(ids.AL_DELETE_WRAP, "hidden"),
            "changed": Output(ids.AL_CHANGED, "data", allow_duplicate=True),
        },
        inputs={
            "save": Input(ids.AL_SAVE, "n_clicks"),
            "new": Input(ids.AL_NEW, "n_clicks"),
            "delete": Input(ids.AL_DELETE, "submit_n_clicks"),
            "edits": Input({"type": ids.AL_RULE_EDIT, "index": ALL}, "n_clicks"),
            "values": _form_state(),
            "editing": State(ids.AL_EDITING, "data"),
            "changed": changed_state,
        },
        prevent_initial_call=True,
    )
    _add(
        app,
        partial(backtest, services),
        output={"result": Output(ids.AL_BT_RESULT, "children"), "tab": Output(ids.AL_TABS, "active_tab")},
        inputs={
            "run": Input(ids.AL_BT_RUN, "n_clicks"),
            "rule_id": Input(ids.AL_BT_RULE, "value"),
            "range_": Input(ids.AL_BT_RANGE, "value"),
            "form": Input(ids.AL_FORM_BACKTEST, "n_clicks"),
            "values": _form_state(),
            "theme": State(ids.THEME_STORE, "data"),
        },
    )
