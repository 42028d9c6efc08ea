"""A board's own settings in edit mode (title, description, tags, default
time range and refresh, variables, rows), saved as a new version through
``board_edit.save_checked`` as a layout change is; deleting the board (the
owner or an admin, after a confirm step); and its share links (admins):
create, copy, revoke.

Every write checks again who may make it, whatever the page showed."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import quote

import dash
from dash import ALL, MATCH, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate
from flask import request

from auth import current_role, current_user
from auth.share import link as share_link
from callbacks.board_edit import REFUSED, save_checked
from callbacks.boards import may_edit, stored_board
from core.errors import NotFound
from data import boards as store
from layouts import board_edit as forms
from layouts import ids
from services import Services

SETTINGS = ("title", "description", "tags", "range", "from", "to", "refresh")
VAR_REMOVE = f"{ids.BD_SV}-remove"
ROW_REMOVE = f"{ids.BD_SR}-remove"
ADMINS_ONLY = "Only an admin makes and revokes share links."


def delete(services: Services, uid: str) -> str:
    """Delete the board: "" or why not (only its owner or an admin; never a provisioned board)."""
    with services.db.read() as conn:
        found = store.get_board(conn, uid)
    if found is None:
        return "This board is gone already."
    if not may_edit(found):
        return REFUSED
    with services.db.write() as conn:
        store.delete_board(conn, uid)
    return ""


def shares(services: Services, uid: str) -> list[dict[str, Any]]:
    with services.db.read() as conn:
        listed = store.list_shares(conn, uid)
    return [
        {
            "token": s["token"],
            "url": share_link(uid, s["token"]),
            "created_by": s["created_by"],
            "created_at": s["created_at"].isoformat(),
            "revoked_at": s["revoked_at"].isoformat() if s["revoked_at"] else None,
        }
        for s in listed
    ]


def create_share(services: Services, uid: str) -> str:
    """A new read-only link to the board: "" or why not (admins only)."""
    if current_role() != "admin":
        return ADMINS_ONLY
    with services.db.write() as conn:
        store.create_share(conn, uid, created_by=current_user(), now=services.now())
    return ""


def revoke_share(services: Services, uid: str, token: str) -> str:
    """End a link: "" or why not (admins only)."""
    if current_role() != "admin":
        return ADMINS_ONLY
    with services.db.write() as conn:
        done = store.revoke_share(conn, uid, token, now=services.now())
    return "" if done else "That link was revoked already."


def _keyed(id_values: list[Any], fields: tuple[str, ...], columns: list[list[Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The editors' values as (key, {field: value}), in the page's order."""
    return [(str(id_["key"]), {f: column[n] for f, column in zip(fields, columns)}) for n, id_ in enumerate(id_values)]


def _variables(rows: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    return [forms.variable_editor(key, v) for key, v in rows]


def _rows(rows: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    return [forms.row_editor(key, r) for key, r in rows] or [
        html.Div("No rows: every panel is on one grid.", className="small text-body-secondary")
    ]


def _fresh_key(prefix: str, taken: list[tuple[str, Any]]) -> str:
    """A key no editor has, e.g. ``n3`` (a key ``r<i>`` stands for the board's row ``i``)."""
    used = {k for k, _ in taken}
    return next(f"{prefix}{n}" for n in range(len(used) + 1, len(used) + 1000) if f"{prefix}{n}" not in used)


def _as_flags(rows: list[tuple[str, dict[str, Any]]], field: str) -> list[tuple[str, dict[str, Any]]]:
    """A switch's checklist value (``["multi"]``) as a flag."""
    return [(k, {**r, field: bool(r.get(field))}) for k, r in rows]


VARIABLE_STATES = [State({"type": f"{ids.BD_SV}-{f}", "key": ALL}, "value") for f in ids.VARIABLE_FIELDS]
ROW_STATES = [State({"type": f"{ids.BD_SR}-{f}", "key": ALL}, "value") for f in ids.ROW_FIELDS]
KEY_STATES = [
    State({"type": f"{ids.BD_SV}-name", "key": ALL}, "id"),
    State({"type": f"{ids.BD_SR}-title", "key": ALL}, "id"),
]


def _editors(var_ids: list[Any], row_ids: list[Any], columns: tuple[Any, ...]) -> tuple[list[Any], list[Any]]:
    n = len(ids.VARIABLE_FIELDS)
    variables = _as_flags(_keyed(var_ids, ids.VARIABLE_FIELDS, list(columns[:n])), "multi")
    rows = _as_flags(_keyed(row_ids, ids.ROW_FIELDS, list(columns[n:])), "collapsed")
    return variables, rows


def register(app: dash.Dash, services: Services) -> None:
    @app.callback(
        Output(ids.BD_SETTINGS_MODAL, "is_open"),
        *[Output(ids.bd_setting(name), "value") for name in SETTINGS],
        Output(ids.BD_S_VARS, "children"),
        Output(ids.BD_S_ROWS, "children"),
        Output(ids.BD_S_MESSAGE, "children"),
        Input(ids.BD_SETTINGS, "n_clicks"),
        State(ids.BD_BOARD, "data"),
        prevent_initial_call=True,
    )
    def open_settings(_n: Any, info: dict[str, Any] | None) -> Any:
        if not info:
            raise PreventUpdate
        shown = stored_board(services, info["uid"]).board
        # The version the page shows, which a save is checked against.
        with services.db.read() as conn, contextlib.suppress(NotFound):
            shown = store.get_version(conn, info["uid"], int(info["version"]))
        form = forms.board_settings(shown)
        return True, *[form[name] for name in SETTINGS], _variables(form["variables"]), _rows(form["rows"]), None

    @app.callback(
        Output(ids.BD_S_VARS, "children", allow_duplicate=True),
        Output(ids.BD_S_ROWS, "children", allow_duplicate=True),
        Input(ids.BD_S_ADD_VAR, "n_clicks"),
        Input({"type": VAR_REMOVE, "key": ALL}, "n_clicks"),
        Input(ids.BD_S_ADD_ROW, "n_clicks"),
        Input({"type": ROW_REMOVE, "key": ALL}, "n_clicks"),
        *VARIABLE_STATES,
        *ROW_STATES,
        *KEY_STATES,
        prevent_initial_call=True,
    )
    def edit_lists(_add_var: Any, var_removes: list[Any], _add_row: Any, row_removes: list[Any], *rest: Any) -> Any:
        trigger = dash.ctx.triggered_id
        if trigger is None or (isinstance(trigger, dict) and not any([*var_removes, *row_removes])):
            raise PreventUpdate
        *columns, var_ids, row_ids = rest
        variables, rows = _editors(var_ids, row_ids, tuple(columns))
        if trigger == ids.BD_S_ADD_VAR:
            variables.append((_fresh_key("v", variables), {"kind": "custom"}))
        elif trigger == ids.BD_S_ADD_ROW:
            rows.append((_fresh_key("n", rows), {"title": ""}))
        elif trigger["type"] == VAR_REMOVE:
            variables = [(k, v) for k, v in variables if k != trigger["key"]]
        else:
            rows = [(k, r) for k, r in rows if k != trigger["key"]]
        return _variables(variables), _rows(rows)

    @app.callback(
        Output({"type": f"{ids.BD_SV}-values", "key": MATCH}, "disabled"),
        Output({"type": f"{ids.BD_SV}-dimension", "key": MATCH}, "disabled"),
        Output({"type": f"{ids.BD_SV}-multi", "key": MATCH}, "options"),
        Input({"type": f"{ids.BD_SV}-kind", "key": MATCH}, "value"),
        prevent_initial_call=True,
    )
    def kind_changed(kind: str | None) -> Any:
        values_off, dimension_off, multi_off = forms.kind_fields(kind)
        return values_off, dimension_off, [{"label": "several", "value": "multi", "disabled": multi_off}]

    @app.callback(
        Output(ids.BD_UID, "data", allow_duplicate=True),
        Output(ids.BD_SETTINGS_MODAL, "is_open", allow_duplicate=True),
        Output(ids.BD_S_MESSAGE, "children", allow_duplicate=True),
        Output(ids.BD_STATUS, "children", allow_duplicate=True),
        Input(ids.BD_S_SAVE, "n_clicks"),
        *[State(ids.bd_setting(name), "value") for name in SETTINGS],
        *VARIABLE_STATES,
        *ROW_STATES,
        *KEY_STATES,
        State(ids.BD_BOARD, "data"),
        State(ids.BD_UID, "data"),
        prevent_initial_call=True,
    )
    def save_settings(_n: Any, *rest: Any) -> Any:
        *values, info, wanted = rest
        if not info:
            raise PreventUpdate
        fields = dict(zip(SETTINGS, values[: len(SETTINGS)]))
        *columns, var_ids, row_ids = values[len(SETTINGS) :]
        variables, rows = _editors(var_ids, row_ids, tuple(columns))
        form = {**fields, "variables": [v for _k, v in variables], "rows": rows}
        document = forms.with_settings(stored_board(services, info["uid"]).board, form)
        saved, errors = save_checked(services, info, document)
        if saved is None:
            if errors and not errors[0]["field"]:
                message = html.Div(errors[0]["message"], className="alert alert-danger small py-1 px-2 mb-0")
            else:
                message = forms.settings_errors(errors, document)
            return no_update, True, message, no_update
        return {**wanted, "rev": saved["version"]}, False, None, f"Settings saved (version {saved['version']})."

    @app.callback(
        Output(ids.BD_DELETE_MODAL, "is_open"),
        Output(ids.BD_DELETE_MESSAGE, "children"),
        Input(ids.BD_DELETE, "n_clicks"),
        Input(ids.BD_DELETE_CANCEL, "n_clicks"),
        prevent_initial_call=True,
    )
    def ask_delete(_open: Any, _cancel: Any) -> Any:
        return dash.ctx.triggered_id == ids.BD_DELETE, None

    @app.callback(
        Output(ids.page_url("board"), "href", allow_duplicate=True),
        Output(ids.BD_DELETE_MESSAGE, "children", allow_duplicate=True),
        Input(ids.BD_DELETE_CONFIRM, "n_clicks"),
        State(ids.BD_BOARD, "data"),
        prevent_initial_call=True,
    )
    def confirm_delete(_n: Any, info: dict[str, Any] | None) -> Any:
        if not info:
            raise PreventUpdate
        title = stored_board(services, info["uid"]).title
        error = delete(services, info["uid"])
        if error:
            return no_update, html.Div(error, className="alert alert-danger small py-1 px-2 mt-2 mb-0")
        return f"/boards?deleted={quote(title[:200])}", None

    @app.callback(
        Output(ids.BD_SHARE_MODAL, "is_open"),
        Output(ids.BD_SHARE_LIST, "children"),
        Output(ids.BD_SHARE_MESSAGE, "children"),
        Input(ids.BD_SHARE, "n_clicks"),
        Input(ids.BD_SHARE_CREATE, "n_clicks"),
        Input({"type": ids.BD_SHARE_REVOKE, "token": ALL}, "n_clicks"),
        State(ids.BD_BOARD, "data"),
        prevent_initial_call=True,
    )
    def share_links(_open: Any, _create: Any, revokes: list[Any], info: dict[str, Any] | None) -> Any:
        trigger = dash.ctx.triggered_id
        if not info or (isinstance(trigger, dict) and not any(revokes)):
            raise PreventUpdate
        uid = info["uid"]
        error = ""
        if trigger == ids.BD_SHARE_CREATE:
            error = create_share(services, uid)
        elif isinstance(trigger, dict):
            error = revoke_share(services, uid, str(trigger["token"]))
        elif current_role() != "admin":
            error = ADMINS_ONLY
        message = html.Div(error, className="alert alert-warning small py-1 px-2") if error else None
        listed = forms.share_list(shares(services, uid), request.host_url) if current_role() == "admin" else None
        return True, listed, message
