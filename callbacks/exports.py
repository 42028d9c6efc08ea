"""Exports: the form and the table's buttons -> the same operations as the
API (one validation path); the schedules and files refresh on every change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, html, no_update

from alerts import manage
from auth.policy import current_role
from callbacks import timebar
from core.errors import DomainError
from data import schedules
from jobs import export_schedules as schedule_service
from jobs import exports, reports
from layouts import alerts_history, ids
from layouts import exports as layout
from layouts import format as fmt
from services import Services


def form_body(
    name: str | None,
    query: str | None,
    mode: str | None,
    kind: str | None,
    cron: str | None,
    minutes: float | str | None,
    keep: int | str | None,
    recipients: str | None = None,
    page: str | None = None,
) -> dict[str, Any]:
    """The API body for the form's values (with recipients: a report).

    >>> form_body("a", "window=6h", "events", "interval", "* * * * *", 5, 3)
    {'name': 'a', 'query': {'window': '6h', 'mode': 'events'}, 'keep': 3, 'cron': None, 'interval_seconds': 300}
    >>> form_body("a", "window=6h", None, "cron", "0 6 * * *", None, 3, "a@x.example, b@x.example", " /boards/ops ")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'name': 'a', 'query': {'window': '6h'}, 'keep': 3, 'cron': '0 6 * * *', 'interval_seconds': None,
     'recipients': ['a@x.example', 'b@x.example'], 'page': '/boards/ops'}
    """
    params = exports.query_params(query or "")
    if mode == "events":
        params["mode"] = "events"
    body: dict[str, Any] = {"name": name or "", "query": params, "keep": keep if keep not in (None, "") else 10}
    if kind == "interval":
        seconds = 0 if minutes in (None, "") else round(float(minutes) * 60)  # 0: refused as "at least 1 minute"
        body |= {"cron": None, "interval_seconds": seconds}
    else:
        body |= {"cron": cron or "", "interval_seconds": None}
    listed = [a.strip() for a in (recipients or "").split(",") if a.strip()]
    if listed:
        body["recipients"] = listed
    if (page or "").strip():
        body["page"] = (page or "").strip()
    return body


def when(row: dict[str, Any]) -> str:
    """How often a schedule runs, for the table.

    >>> when({"cron": "0 6 * * *", "interval_seconds": None}), when({"cron": None, "interval_seconds": 5400})
    ('cron 0 6 * * *', 'every 90 min')
    """
    if row["cron"]:
        return f"cron {row['cron']}"
    seconds = int(row["interval_seconds"] or 0)
    return (
        f"every {seconds // 3600} h"
        if seconds % 3600 == 0
        else f"every {seconds // 60} min"
        if seconds % 60 == 0
        else f"every {seconds} s"
    )


def table_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        item = schedule_service.schedule_json(row)
        for key in ("next_run_at", "last_run_at"):
            item[key] = (item[key] or "")[:19].replace("T", " ") or "–"
        mailed = ", ".join(row.get("recipients") or [])
        out.append(item | {"when": when(row), "enabled": "yes" if row["enabled"] else "no", "mailed": mailed})
    return out


def written_in(files: list[dict[str, Any]], since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The export files written from ``since`` up to (not including) ``until``.

    >>> from datetime import timezone
    >>> files = [{"name": "a", "created": "2026-12-01T10:00:00+00:00"}, {"name": "b", "created": "2026-12-02T10:00:00+00:00"}]
    >>> [f["name"] for f in written_in(files, datetime(2026, 12, 1, tzinfo=timezone.utc), datetime(2026, 12, 2, tzinfo=timezone.utc))]
    ['a']
    """
    return [f for f in files if since <= datetime.fromisoformat(f["created"]) < until]


def _alert(children: Any, color: str) -> dbc.Alert:
    return dbc.Alert(children, color=color, dismissable=True, className="py-2 small")


def act(services: Services, trigger: Any, form: dict[str, Any], selected: dict[str, Any] | None) -> tuple[Any, bool]:
    """Carry out a button press; (message, whether anything changed)."""
    if current_role() != "admin":  # sign-in on: viewers look, admins change
        return _alert("Only an admin can change export schedules: sign in as one.", "warning"), False
    if trigger == ids.EXP_CREATE:
        row = schedule_service.save_schedule(services, form)
        return _alert(
            f"Schedule '{row['name']}' created; next run {str(row['next_run_at'])[:19]} UTC.", "success"
        ), True
    if not selected:
        return _alert("Select a schedule in the table first.", "warning"), False
    sid = int(selected["id"])
    if trigger == ids.EXP_RUN:
        written = schedule_service.run_now(services, sid)
        href = f"/api/exports/files/{written.path.parent.name}/{written.path.name}"
        link = html.A(written.path.name, href=href, download=written.path.name, className="alert-link")
        mailed = selected.get("mailed")
        told = f" and mailed as a report to {mailed}" if mailed else ""
        return _alert([f"'{selected['name']}': {written.rows:,} rows written to ", link, told, "."], "success"), True
    if trigger == ids.EXP_TOGGLE:
        row = schedule_service.get_schedule(services, sid)
        row = schedule_service.save_schedule(services, {"enabled": not row["enabled"]}, sid)
        return _alert(f"Schedule '{row['name']}' {'enabled' if row['enabled'] else 'disabled'}.", "success"), True
    removed = schedule_service.delete_schedule(services, sid)
    return _alert(f"Schedule '{selected['name']}' deleted with its {fmt.count(removed, 'file')}.", "success"), True


REPORT_MAIL_LIMIT = 50  # report e-mails the Exports page lists


def register(app: dash.Dash, services: Services) -> None:
    @app.callback(
        Output(ids.EXP_MESSAGE, "children"),
        Output(ids.EXP_CHANGED, "data"),
        Input(ids.EXP_CREATE, "n_clicks"),
        Input(ids.EXP_RUN, "n_clicks"),
        Input(ids.EXP_TOGGLE, "n_clicks"),
        Input(ids.EXP_DELETE, "n_clicks"),
        State(ids.EXP_NAME, "value"),
        State(ids.EXP_QUERY, "value"),
        State(ids.EXP_MODE, "value"),
        State(ids.EXP_KIND, "value"),
        State(ids.EXP_CRON, "value"),
        State(ids.EXP_INTERVAL, "value"),
        State(ids.EXP_KEEP, "value"),
        State(ids.EXP_RECIPIENTS, "value"),
        State(ids.EXP_PAGE, "value"),
        State(ids.EXP_SCHEDULES, "selectedRows"),
        State(ids.EXP_CHANGED, "data"),
        prevent_initial_call=True,
    )
    def on_button(*values: Any) -> tuple[Any, Any]:
        *_clicks, name, query, mode, kind, cron, minutes, keep, recipients, page, selected, changed = values
        try:
            message, did = act(
                services,
                dash.ctx.triggered_id,
                form_body(name, query, mode, kind, cron, minutes, keep, recipients, page),
                (selected or [None])[0],
            )
        except (DomainError, OSError) as exc:
            text = str(exc) if isinstance(exc, DomainError) else f"cannot write the export file: {exc.strerror or exc}"
            text = text.replace("'interval_seconds'", "'every (minutes)'").replace(
                "greater than or equal to 60", "at least 1 minute"
            )
            return _alert(text, "danger"), no_update
        return message, (changed or 0) + 1 if did else no_update

    @app.callback(
        Output(ids.EXP_SCHEDULES, "rowData"),
        Output(ids.EXP_SCHEDULES_EMPTY, "hidden"),
        Output(ids.EXP_FILES, "children"),
        Output(ids.EXP_MAIL, "rowData"),
        Output(ids.EXP_MAIL_EMPTY, "hidden"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.EXP_CHANGED, "data"),
        Input(ids.TIME_RANGE, "data"),
    )
    def refresh(_n: Any, _changed: Any, time_range: Any) -> tuple[Any, ...]:
        with services.db.read() as conn:
            rows = schedules.list_schedules(conn)
            mail = manage.mail_outbox(conn, limit=REPORT_MAIL_LIMIT, key_prefix=reports.REPORT_KEY_PREFIX)["messages"]
        names = {r["slug"]: r["name"] for r in rows}
        files = exports.list_files(services.settings.exports_dir)
        shown = written_in(files, *timebar.bounds(services, time_range, "/exports"))
        mail_rows = alerts_history.outbox_rows(mail)
        return (
            table_rows(rows),
            bool(rows),
            layout.files_table(shown, names, any_files=bool(files)),
            mail_rows,
            bool(mail_rows),
        )
