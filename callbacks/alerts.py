"""Alerts page: the active alerts and history refresh with the page's timer;
buttons, switches and forms call ``alerts.manage`` (the same functions as the
API, one validation path) and bump a change counter that refreshes the rest.
Changing anything needs the admin role when sign-in is on."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from alerts import manage
from alerts.rules import RuleError
from auth import current_role, current_user
from layouts import alerts as layout
from layouts import figures, ids
from services import Services

log = logging.getLogger("pulseboard.alerts")
RANGE_SECONDS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
HISTORY_LIMIT = 1000
FORM_IDS = [ids.al_field(f) for f in layout.FORM_FIELDS]
FORM_PROPS = ["value"] * len(FORM_IDS)


def message(children: Any, color: str) -> dbc.Alert:
    return dbc.Alert(children, color=color, dismissable=True, className="py-2 small mb-2")


def parse_labels(text: str | None) -> dict[str, str]:
    """``key=value`` pairs separated by commas.

    >>> parse_labels("entity=scanner-3, source = north"), parse_labels("")
    ({'entity': 'scanner-3', 'source': 'north'}, {})
    """
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise RuleError("labels", f"write key=value pairs separated by commas (got {part.strip()!r})")
        out[key.strip()] = value.strip()
    return out


def silence_spec(
    rule: str | None, labels: str | None, duration: str | None, comment: str | None, by: str | None
) -> dict[str, Any]:
    """The silence the form describes (``alerts.manage.add_silence`` validates it).

    >>> silence_spec("errors", "entity=a", "2h", " ", None)
    {'matchers': {'rule': 'errors', 'entity': 'a'}, 'duration': '2h'}
    """
    matchers = ({"rule": rule} if rule else {}) | parse_labels(labels)
    spec: dict[str, Any] = {"matchers": matchers, "duration": (duration or "").strip() or "1h"}
    if comment and comment.strip():
        spec["comment"] = comment.strip()
    if by:
        spec["created_by"] = by
    return spec


def silence_error(exc: RuleError) -> str:
    if exc.field == "matchers":
        return "Choose a rule or give labels: a silence must say which alerts it mutes."
    field = {"duration": "for", "matchers": "labels"}.get(exc.field.split(".")[0], exc.field)
    return f"Check the field '{field}': {exc.message}"


def evaluation_text(summary: dict[str, Any]) -> list[Any]:
    """What one evaluation did, in a sentence (and each failed rule).

    >>> evaluation_text({"rules": 4, "firing": 1, "pending": 0, "notifications": 1, "transitions": [{}], "errors": [],
    ...                  "duration_ms": 12.5, "evaluated_at": "2026-01-01T00:00:00+00:00"})[0]
    'Evaluated 4 rules at 2026-01-01 00:00:00 UTC in 12 ms: 1 firing, 0 pending, 1 change(s), 1 notification(s) sent.'
    """
    if "skipped" in summary:
        return ["Another server process is evaluating the rules right now; try again in a moment."]
    text = (
        f"Evaluated {summary['rules']} rules at {layout.when(summary.get('evaluated_at'))} UTC in {summary.get('duration_ms', 0):.0f} ms: "
        f"{summary['firing']} firing, {summary['pending']} pending, {len(summary.get('transitions') or [])} change(s), "
        f"{summary['notifications']} notification(s) sent."
    )
    out: list[Any] = [text]
    for err in summary.get("errors") or []:
        out.append(
            html.Div(f"Rule '{err.get('rule')}' could not be evaluated: {err.get('error')}", className="text-danger")
        )
    return out


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
        "range": bt_range if bt_range and bt_range != "24h" else "",
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


def register(app: dash.Dash, services: Services) -> None:
    # ------------------------------------------------------------ reads

    @app.callback(
        Output(ids.AL_ACTIVE, "children"),
        Output(ids.AL_ACTIVE_DATA, "data"),
        Output(ids.AL_COUNTS, "children"),
        Output(ids.AL_DETAIL, "children"),
        Output("al-recent", "children"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.AL_CHANGED, "data"),
        State(ids.AL_ACTIVE_DATA, "data"),
        State(ids.AL_ALERT_ID, "data"),
    )
    def active(_n: Any, _changed: Any, previous: Any, alert_id: Any) -> tuple[Any, ...]:
        now = services.now()
        with services.db.read() as conn:
            alerts = manage.active_alerts(conn)
            rules = manage.list_rules(conn)
            silences = manage.list_silences(conn, now=now, active_only=True)
            recent = manage.alert_history(conn, state="resolved", since=now - timedelta(hours=24), limit=10)["alerts"]
            detail_id = layout.id_of(str(alert_id), 18) if alert_id else None
            detail = manage.get_alert(conn, detail_id) if detail_id else None
        key = json.dumps(
            [
                alerts,
                [r["id"] for r in recent],
                detail,
                [(r["id"], r["enabled"]) for r in rules],
                len(silences),
                now.strftime("%Y-%m-%dT%H:%M"),
            ],
            default=str,
            sort_keys=True,
        )
        if key == previous:
            raise PreventUpdate  # nothing changed: keep the page as it is (and the buttons under the pointer)
        specs = {r["id"]: r["spec"] for r in rules}
        counts = layout.counts_badges(alerts, len(rules), sum(1 for r in rules if r["enabled"]), len(silences))
        shown = (
            layout.alert_detail(detail, specs.get(detail["rule_id"]) if detail else None, now, alert_id)
            if alert_id
            else None
        )
        return layout.active_list(alerts, specs, now), key, counts, shown, layout.recent_list(recent)

    @app.callback(
        Output(ids.AL_RULES, "children"),
        Output(ids.AL_H_RULE, "options"),
        Output(ids.AL_BT_RULE, "options"),
        Output(ids.AL_S_RULE, "options"),
        Input(ids.AL_CHANGED, "data"),
        State(ids.AL_EDITING, "data"),
        State(ids.AL_H_RULE, "value"),
        State(ids.AL_BT_RULE, "value"),
        State(ids.AL_S_RULE, "value"),
    )
    def rules(
        _changed: Any, editing: int | None, h_rule: str | None, bt_rule: str | None, s_rule: str | None
    ) -> tuple[Any, ...]:
        with services.db.read() as conn:
            rows = manage.list_rules(conn)
        by_id = [{"label": r["name"], "value": str(r["id"])} for r in rows]

        def keep(value: str | None) -> list[dict[str, str]]:  # a rule in the URL that no longer exists stays choosable
            return (
                [{"label": f"rule {value} (deleted)", "value": value}]
                if value and value not in {o["value"] for o in by_id}
                else []
            )

        def keep_name(value: str | None) -> list[dict[str, str]]:  # a silence may name a rule that does not exist (yet)
            return [{"label": value, "value": value}] if value and value not in {r["name"] for r in rows} else []

        return (
            layout.rules_table(rows, editing),
            [{"label": "all rules", "value": ""}, *by_id, *keep(h_rule)],
            [{"label": "choose a rule", "value": ""}, *by_id, *keep(bt_rule)],
            [
                {"label": "any rule", "value": ""},
                *({"label": r["name"], "value": r["name"]} for r in rows),
                *keep_name(s_rule),
            ],
        )

    @app.callback(
        Output(ids.AL_HISTORY, "rowData"),
        Output(ids.AL_HISTORY_NOTE, "children"),
        Input(ids.AL_H_RULE, "value"),
        Input(ids.AL_H_STATE, "value"),
        Input(ids.AL_CHANGED, "data"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.AL_TABS, "active_tab"),
    )
    def history(rule: str | None, state: str | None, _changed: Any, _n: Any, tab: str | None) -> tuple[Any, ...]:
        if dash.ctx.triggered_id in (ids.REFRESH, ids.AL_TABS) and tab != "history":
            raise PreventUpdate  # refreshed while it is in view (and when it comes into view)
        rule_id = layout.id_of(rule)
        with services.db.read() as conn:
            page = manage.alert_history(
                conn, rule_id=rule_id, state=state if state in layout.STATES else None, limit=HISTORY_LIMIT
            )
        total = page["total"]
        if total == 0:
            note = layout.NO_HISTORY
        elif total > HISTORY_LIMIT:
            note = f"The newest {HISTORY_LIMIT:,} of {total:,} alerts; narrow the filters (or use GET /api/alerts/history) for older ones."
        else:
            note = f"{total:,} alert(s)."
        return layout.history_rows(page["alerts"]), note

    @app.callback(
        Output(ids.AL_SILENCES, "children"),
        Input(ids.AL_CHANGED, "data"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.AL_TABS, "active_tab"),
    )
    def silences(_changed: Any, _n: Any, tab: str | None) -> Any:
        if dash.ctx.triggered_id in (ids.REFRESH, ids.AL_TABS) and tab != "silences":
            raise PreventUpdate
        now = services.now()
        with services.db.read() as conn:
            rows = manage.list_silences(conn, now=now)
        return layout.silences_table(rows, now)

    @app.callback(
        Output(ids.page_url("alerts"), "search"),
        Input(ids.AL_TABS, "active_tab"),
        Input(ids.AL_H_RULE, "value"),
        Input(ids.AL_H_STATE, "value"),
        Input(ids.AL_BT_RULE, "value"),
        Input(ids.AL_BT_RANGE, "value"),
        State(ids.AL_ALERT_ID, "data"),
        State(ids.URL, "search"),
    )
    def url(
        tab: str | None,
        rule: str | None,
        state: str | None,
        bt_rule: str | None,
        bt_range: str | None,
        alert: Any,
        search: str | None,
    ) -> Any:
        wanted = url_search(tab, str(alert) if alert else None, rule, state, bt_rule, bt_range)
        return no_update if wanted == (search or "") else wanted

    # ------------------------------------------------------------ writes

    # Evaluate and Acknowledge have callbacks of their own: Dash keeps only the
    # newest answer of a callback, and the rule switches re-render (and fire
    # their callback) on every refresh, which would swallow a click's answer.
    @app.callback(
        Output(ids.AL_MESSAGE, "children", allow_duplicate=True),
        Output(ids.AL_CHANGED, "data", allow_duplicate=True),
        Input(ids.AL_EVALUATE, "n_clicks"),
        State(ids.AL_CHANGED, "data"),
        prevent_initial_call=True,
    )
    def evaluate_now(_clicks: Any, changed: int | None) -> tuple[Any, ...]:
        refused = may_change()
        if refused:
            return message(refused, "warning"), no_update
        try:
            summary = services.alerts.evaluate()
        except Exception as exc:  # e.g. the database is busy: say so rather than fail the page
            log.exception("evaluating alert rules from the page failed")
            return message(f"The rules could not be evaluated: {exc}", "danger"), no_update
        return message(evaluation_text(summary), "info"), (changed or 0) + 1

    @app.callback(
        Output(ids.AL_MESSAGE, "children", allow_duplicate=True),
        Output(ids.AL_CHANGED, "data", allow_duplicate=True),
        Input({"type": ids.AL_ACK, "index": ALL}, "n_clicks"),
        State(ids.AL_CHANGED, "data"),
        prevent_initial_call=True,
    )
    def acknowledge(_clicks: Any, changed: int | None) -> tuple[Any, ...]:
        acks = [i for i, v in triggered(ids.AL_ACK) if v]
        if not acks:
            raise PreventUpdate  # a re-rendered button, not a click
        refused = may_change()
        if refused:
            return message(refused, "warning"), no_update
        now, by = services.now(), current_user()
        with services.db.write() as conn:
            done = [a for a in (manage.acknowledge(conn, i, by, now=now) for i in acks) if a]
        if not done:
            return message("That alert no longer exists.", "warning"), (changed or 0) + 1
        names = ", ".join(f"#{a['id']} ({a['rule']})" for a in done)
        return message(f"Alert {names} acknowledged: no more repeat notifications for it.", "success"), (
            changed or 0
        ) + 1

    @app.callback(
        Output(ids.AL_MESSAGE, "children", allow_duplicate=True),
        Output(ids.AL_CHANGED, "data", allow_duplicate=True),
        Input({"type": ids.AL_RULE_ENABLED, "index": ALL}, "value"),
        State(ids.AL_CHANGED, "data"),
        prevent_initial_call=True,
    )
    def switch(_values: Any, changed: int | None) -> tuple[Any, ...]:
        bump = (changed or 0) + 1
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
            return message(refused, "warning"), bump  # the bump redraws the switches as they are
        with services.db.write() as conn:
            for i, enabled in wanted:
                manage.set_enabled(conn, i, enabled, now=now)
        text = "; ".join(f"Rule '{current[i]['name']}' {'enabled' if on else 'disabled'}" for i, on in wanted)
        return message(text + ".", "success"), bump

    @app.callback(
        Output(ids.AL_S_MESSAGE, "children"),
        Output(ids.AL_CHANGED, "data", allow_duplicate=True),
        Output(ids.AL_S_LABELS, "value"),
        Output(ids.AL_S_COMMENT, "value"),
        Input(ids.AL_S_ADD, "n_clicks"),
        Input({"type": ids.AL_S_DELETE, "index": ALL}, "n_clicks"),
        State(ids.AL_S_RULE, "value"),
        State(ids.AL_S_LABELS, "value"),
        State(ids.AL_S_DURATION, "value"),
        State(ids.AL_S_COMMENT, "value"),
        State(ids.AL_CHANGED, "data"),
        prevent_initial_call=True,
    )
    def change_silences(
        _add: Any,
        _d: Any,
        s_rule: str | None,
        s_labels: str | None,
        s_duration: str | None,
        s_comment: str | None,
        changed: int | None,
    ) -> tuple[Any, ...]:
        trigger = dash.ctx.triggered_id
        bump = (changed or 0) + 1
        deletes = [i for i, v in triggered(ids.AL_S_DELETE) if v]
        if trigger == ids.AL_S_ADD or deletes:
            refused = may_change()
            if refused:
                return message(refused, "warning"), no_update, no_update, no_update
            now = services.now()
            if deletes:
                with services.db.write() as conn:
                    gone = [i for i in deletes if manage.delete_silence(conn, i)]
                return (
                    message(f"Silence {', '.join(map(str, gone)) or deletes[0]} deleted.", "success"),
                    bump,
                    no_update,
                    no_update,
                )
            try:
                spec = silence_spec(s_rule, s_labels, s_duration, s_comment, current_user())
                with services.db.write() as conn:
                    row = manage.add_silence(conn, spec, now=now)
            except RuleError as exc:
                return message(silence_error(exc), "danger"), no_update, no_update, no_update
            what = layout.labels_text(row["matchers"])
            return (
                message(
                    f"Silence added: alerts matching {what} are muted until {layout.when(row['ends_at'])} UTC.",
                    "success",
                ),
                bump,
                "",
                "",
            )
        raise PreventUpdate

    form_outputs = [Output(i, "value") for i in FORM_IDS]
    invalid_outputs = [Output(ids.al_field(f), "invalid") for f in layout.INVALIDABLE]

    @app.callback(
        *form_outputs,
        *invalid_outputs,
        Output(ids.AL_EDITING, "data"),
        Output(ids.AL_FORM_TITLE, "children"),
        Output(ids.AL_FORM_MESSAGE, "children"),
        Output("al-delete-wrap", "hidden"),
        Output(ids.AL_CHANGED, "data", allow_duplicate=True),
        Input(ids.AL_SAVE, "n_clicks"),
        Input(ids.AL_NEW, "n_clicks"),
        Input(ids.AL_DELETE, "submit_n_clicks"),
        Input({"type": ids.AL_RULE_EDIT, "index": ALL}, "n_clicks"),
        *[State(i, "value") for i in FORM_IDS],
        State(ids.AL_EDITING, "data"),
        State(ids.AL_CHANGED, "data"),
        prevent_initial_call=True,
    )
    def form(_save: Any, _new: Any, _delete: Any, _edits: Any, *rest: Any) -> tuple[Any, ...]:
        *values, editing, changed = rest
        current = dict(zip(layout.FORM_FIELDS, values))
        trigger = dash.ctx.triggered_id
        bump = (changed or 0) + 1
        valid = [False] * len(layout.INVALIDABLE)
        keep = [no_update] * len(FORM_IDS)

        def show(vals: dict[str, Any]) -> list[Any]:
            return [vals[f] for f in layout.FORM_FIELDS]

        def fail(field: str, text: str) -> tuple[Any, ...]:
            control = layout.control_for(field)
            flags = [f == control for f in layout.INVALIDABLE]
            return (*keep, *flags, no_update, no_update, message(text, "danger"), no_update, no_update)

        edits = [i for i, v in triggered(ids.AL_RULE_EDIT) if v]
        if edits:
            with services.db.read() as conn:
                rule = manage.get_rule(conn, edits[0])
            if rule is None:
                return (*keep, *valid, None, "New rule", message("That rule no longer exists.", "warning"), True, bump)
            return (
                *show(layout.form_values(rule["spec"])),
                *valid,
                rule["id"],
                f"Edit rule '{rule['name']}'",
                None,
                False,
                bump,
            )
        if trigger == ids.AL_NEW:
            return (
                *show(layout.form_values(None)),
                *valid,
                None,
                "New rule",
                None,
                True,
                bump if editing else no_update,
            )
        if trigger == ids.AL_DELETE:
            refused = may_change()
            if refused or editing is None:
                return (
                    *keep,
                    *valid,
                    no_update,
                    no_update,
                    message(refused or "Choose a rule to delete with its Edit button.", "warning"),
                    no_update,
                    no_update,
                )
            with services.db.write() as conn:
                rule = manage.get_rule(conn, editing)
                manage.delete_rule(conn, editing)
            name = rule["name"] if rule else editing
            return (
                *show(layout.form_values(None)),
                *valid,
                None,
                "New rule",
                message(f"Rule '{name}' deleted with its alerts.", "success"),
                True,
                bump,
            )
        if trigger != ids.AL_SAVE:
            raise PreventUpdate
        refused = may_change()
        if refused:
            return (*keep, *valid, no_update, no_update, message(refused, "warning"), no_update, no_update)
        try:
            spec = layout.form_spec(current)
        except layout.FormError as exc:
            return fail(exc.field, layout.error_text(exc.field, exc.message))
        now = services.now()
        try:
            with services.db.write() as conn:
                if editing is not None:
                    old = manage.get_rule(conn, editing)
                    if old is not None and "enabled" not in spec:
                        spec["enabled"] = bool(old["enabled"])  # saving an edit keeps the rule's switch as it is
                saved = manage.save_rule(conn, spec, now=now, rule_id=editing)
        except RuleError as exc:
            return fail(exc.field, layout.error_text(exc.field, exc.message))
        except manage.NotFound:
            return (
                *keep,
                *valid,
                None,
                "New rule",
                message("The rule being edited was deleted meanwhile; press Save again to create it.", "warning"),
                True,
                bump,
            )
        verb = "updated" if editing is not None else "created"
        text = f"Rule '{saved['name']}' {verb}: {layout.describe(saved['spec'])}."
        return (
            *show(layout.form_values(saved["spec"])),
            *valid,
            saved["id"],
            f"Edit rule '{saved['name']}'",
            message(text, "success"),
            False,
            bump,
        )

    # ------------------------------------------------------------ backtest

    @app.callback(
        Output(ids.AL_BT_RESULT, "children"),
        Output(ids.AL_TABS, "active_tab"),
        Input(ids.AL_BT_RUN, "n_clicks"),
        Input(ids.AL_BT_RULE, "value"),
        Input(ids.AL_BT_RANGE, "value"),
        Input(ids.AL_FORM_BACKTEST, "n_clicks"),
        *[State(i, "value") for i in FORM_IDS],
        State(ids.THEME_STORE, "data"),
    )
    def backtest(_run: Any, rule_id: str | None, range_: str | None, _form: Any, *rest: Any) -> tuple[Any, Any]:
        *values, theme = rest
        from_form = dash.ctx.triggered_id == ids.AL_FORM_BACKTEST
        tab = "backtest" if from_form else no_update
        if from_form:
            try:
                spec: Any = layout.form_spec(dict(zip(layout.FORM_FIELDS, values)))
            except layout.FormError as exc:
                return message(layout.error_text(exc.field, exc.message), "danger"), tab
            title = f"The form's rule '{spec.get('name') or 'unnamed'}'"
            spec.setdefault("name", "unsaved rule")
        else:
            wanted = layout.id_of(rule_id)
            if wanted is None:
                return html.Div(layout.NO_BACKTEST, className="text-body-secondary"), tab
            with services.db.read() as conn:
                rule = manage.get_rule(conn, wanted)
            if rule is None:
                return message(f"Rule {rule_id} does not exist (any more).", "warning"), tab
            spec, title = rule["spec"], f"Rule '{rule['name']}'"
        until = services.now()
        since = until - timedelta(seconds=RANGE_SECONDS.get(range_ or "24h", 86400))
        try:
            result = manage.backtest(services.alerts, spec, since, until)
        except RuleError as exc:
            return message(layout.error_text(exc.field, exc.message), "danger"), tab
        except Exception as exc:  # a metric that cannot be computed over this history: say so rather than fail the page
            log.exception("backtest of %r failed", spec.get("name"))
            return message(f"The backtest failed: {exc}", "danger"), tab
        fig = figures.alert_timeline(
            result["transitions"], since=result["since"], until=result["until"], dark=theme == "dark"
        )
        return layout.backtest_view(result, fig, title), tab
