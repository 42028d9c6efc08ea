"""Boards: the list (search, stars, a new board), and one board: its header
and variables from the database, the variables and the board's default time
range and refresh in the URL, collapsible rows, and each panel in its own
pattern-matching callback (``callbacks.board_panels`` draws it)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

import dash
from dash import ALL, MATCH, ClientsideFunction, Input, Output, State, no_update
from dash.exceptions import PreventUpdate
from flask import current_app

from auth import current_role, current_user
from callbacks import board_panels, timebar
from callbacks.explore import known_values
from core.boards import Board, parse_board, resolve_query
from core.errors import Conflict, InvalidInput
from core.timerange import DEFAULT_REFRESH
from data import boards as store
from layouts import boards as layout
from layouts import ids
from services import Services

PATH = "/boards"
PAGE_RANGE = "24h"  # the page's own default (layouts.pages): a board's time other than it goes into the URL


# --------------------------------------------------------------- who may


def star_user() -> str | None:
    """Whose stars: the signed-in user's; with sign-in off everyone shares one set (as the API has it)."""
    if not current_app.config.get("PULSE_AUTH"):
        return ""
    return current_user()


def may_edit(found: store.StoredBoard) -> bool:
    """An admin, or the owner; never a provisioned board (as ``api.boards`` decides)."""
    return not found.provisioned and found.changeable_by(current_role(), current_user())


def may_create() -> bool:
    return current_role() in ("admin", "viewer")


# ------------------------------------------------------------------ list


def list_view(services: Services, search: str | None) -> Any:
    user = star_user()
    with services.db.read() as conn:
        found = store.list_boards(conn, search=search or None)
        stars = store.starred_ids(conn, user) if user is not None else set()
    return layout.board_list([{**b.summary(), "starred": b.id in stars} for b in found], search=search or "")


def slug(title: str) -> str:
    """A uid from a title.

    >>> slug("Ops — payments (EU)!"), slug("!!!")
    ('ops-payments-eu', 'board')
    """
    text = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:80].strip("-")
    return text or "board"


def new_board(services: Services, title: str | None) -> tuple[str | None, str | None]:
    """Create an empty board titled ``title``: (its uid, None) or (None, why not)."""
    title = (title or "").strip()
    if not title:
        return None, "Give the new board a title."
    if not may_create():
        return None, "Sign in to make boards."
    now = services.now()
    base = slug(title)
    with services.db.write() as conn:
        uid = store.free_uid(conn, base)
        if uid is None:
            return None, "Give the board another title: that one is taken."
        try:
            board = parse_board({"uid": uid, "title": title[:200]}, now=now)
            store.create_board(conn, board, owner=current_user(), now=now)
        except (InvalidInput, Conflict) as exc:
            return None, str(exc)
    return uid, None


# ----------------------------------------------------------------- board


def stored_board(services: Services, uid: str) -> store.StoredBoard:
    """The board as stored; a callback whose board is gone does nothing."""
    with services.db.read() as conn:
        found = store.get_board(conn, uid)
    if found is None:
        raise PreventUpdate
    return found


def board_default_time(board: Board, search: str | None) -> str:
    """``search`` with the board's own time range and refresh added where the URL names none.

    >>> from core.boards import TimeSpec
    >>> board_default_time(Board(uid="b", title="B", time=TimeSpec(range="6h"), refresh="30s"), "?var-x=1")
    '?var-x=1&range=6h&refresh=30s'
    >>> board_default_time(Board(uid="b", title="B"), "?range=1h")
    '?range=1h&refresh=off'
    """
    pairs = parse_qsl((search or "").lstrip("?"))
    names = {k for k, _ in pairs}
    extra: list[tuple[str, str]] = []
    if not names & {"range", "from", "to", "window"}:
        if board.time.from_ and board.time.to:
            extra += [("from", board.time.from_), ("to", board.time.to)]
        elif board.time.range and board.time.range != PAGE_RANGE:
            extra.append(("range", board.time.range))
    if "refresh" not in names and board.refresh != DEFAULT_REFRESH:
        extra.append(("refresh", board.refresh))
    if not extra:
        return search or ""
    return (search or "?") + ("&" if pairs else "") + "&".join(f"{k}={v}" for k, v in extra)


def body(services: Services, uid: str, values: dict[str, str], *, editing: bool = False) -> tuple[Any, Any]:
    with services.db.read() as conn:
        found = store.get_board(conn, uid)
    if found is None:
        return layout.not_found(uid), None
    board = found.board
    options = {v.name: known_values(services, v.dimension) for v in board.variables if v.dimension}
    links = {p.id: link_of(board, p, values) for p in board.panels}
    editable = may_edit(found)
    info = {
        "uid": uid,
        "version": found.version,
        "can_edit": editable,
        "provisioned": found.provisioned,
    }
    children = [
        layout.header(board, provisioned=found.provisioned),
        layout.variable_controls(board, values, options),
        *layout.rows(board, links, editing=editing and editable),
    ]
    return children, info


def link_of(board: Board, panel: Any, values: dict[str, str]) -> str:
    try:
        return layout.explore_link(panel, resolve_query(panel, board, values))
    except InvalidInput:
        return panel.link or "/explore"


def _values(var_ids: list[dict[str, Any]] | None, var_values: list[Any] | None) -> dict[str, str]:
    """The variables' controls as values: a multi-select's list as a comma list, none chosen as "".

    >>> _values([{"name": "src"}, {"name": "m"}], [["api", "worker"], None])
    {'src': 'api,worker', 'm': ''}
    """
    return {
        i["name"]: ",".join(v) if isinstance(v, list) else (v or "") for i, v in zip(var_ids or [], var_values or [])
    }


def register(app: dash.Dash, services: Services) -> None:
    register_live(app)
    register_zoom(app)

    @app.callback(
        Output(ids.BD_LIST, "children"),
        Input(ids.BD_SEARCH, "value"),
        Input(ids.BD_CHANGED, "data"),
    )
    def show_list(search: str | None, _changed: Any) -> Any:
        return list_view(services, search)

    @app.callback(
        Output(ids.page_search("boards"), "data"),
        Input(ids.BD_SEARCH, "value"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    def remember_search(search: str | None, current: str | None) -> Any:
        own = f"?q={search}" if search else ""
        wanted = timebar.page_search(own, current, PATH)
        return no_update if wanted == (current or "") else wanted

    @app.callback(
        Output(ids.BD_CHANGED, "data", allow_duplicate=True),
        Output(ids.BD_MESSAGE, "children", allow_duplicate=True),
        Input({"type": ids.BD_STAR, "uid": ALL}, "n_clicks"),
        State({"type": ids.BD_STAR, "uid": ALL}, "aria-pressed"),
        State(ids.BD_CHANGED, "data"),
        prevent_initial_call=True,
    )
    def toggle_star(clicks: list[int | None], pressed: list[str], changed: int | None) -> Any:
        trigger = dash.ctx.triggered_id
        if not isinstance(trigger, dict) or not any(clicks):
            raise PreventUpdate
        user = star_user()
        if user is None:
            return no_update, layout_message("Sign in to star boards.")
        uid = trigger["uid"]
        index = [o["id"]["uid"] for o in dash.ctx.inputs_list[0]].index(uid)
        with services.db.write() as conn:
            (store.unstar if pressed[index] == "true" else store.star)(conn, uid, user)
        return (changed or 0) + 1, None

    @app.callback(
        Output(ids.page_url("boards"), "href"),
        Output(ids.BD_MESSAGE, "children"),
        Input(ids.BD_NEW, "n_clicks"),
        Input(ids.BD_NEW_TITLE, "n_submit"),
        State(ids.BD_NEW_TITLE, "value"),
        prevent_initial_call=True,
    )
    def create(_clicks: Any, _submit: Any, title: str | None) -> Any:
        uid, error = new_board(services, title)
        if uid is None:
            return no_update, layout_message(error or "")
        return f"/boards/{uid}", None

    @app.callback(
        Output(ids.BD_BODY, "children"),
        Output(ids.BD_BOARD, "data"),
        Input(ids.BD_UID, "data"),
        State(ids.BD_EDIT, "value"),
        State({"type": ids.BD_VAR, "name": ALL}, "value"),
        State({"type": ids.BD_VAR, "name": ALL}, "id"),
    )
    def draw(wanted: dict[str, Any], editing: bool | None, var_values: list[Any], var_ids: list[Any]) -> Any:
        values = wanted.get("values") or {}
        if var_ids:  # a redraw after a change: the variables as chosen since
            values = _values(var_ids, var_values)
        return body(services, wanted["uid"], values, editing=bool(editing))

    @app.callback(
        Output(ids.page_search("board"), "data"),
        Input({"type": ids.BD_VAR, "name": ALL}, "value"),
        Input(ids.BD_BOARD, "data"),
        State({"type": ids.BD_VAR, "name": ALL}, "id"),
        State(ids.URL, "search"),
    )
    def remember_variables(
        var_values: list[Any], info: dict[str, Any] | None, var_ids: list[dict[str, Any]], search: str | None
    ) -> Any:
        if not info:
            raise PreventUpdate
        found = stored_board(services, info["uid"])
        own = layout.variables_search(_values(var_ids, var_values))
        shared = dict(parse_qsl((search or "").lstrip("?"))).get("share")
        if shared:  # the share link's token stays in the address, so that it can be passed on
            own += ("&" if own else "?") + urlencode({"share": shared})
        wanted = board_default_time(found.board, timebar.page_search(own, search, PATH))
        return no_update if wanted == (search or "") else wanted

    @app.callback(
        Output({"type": ids.BD_ROW_BODY, "row": MATCH}, "children"),
        Output({"type": ids.BD_ROW_TOGGLE, "row": MATCH}, "aria-expanded"),
        Input({"type": ids.BD_ROW_TOGGLE, "row": MATCH}, "n_clicks"),
        State({"type": ids.BD_ROW_TOGGLE, "row": MATCH}, "aria-expanded"),
        State(ids.BD_BOARD, "data"),
        State({"type": ids.BD_VAR, "name": ALL}, "value"),
        State({"type": ids.BD_VAR, "name": ALL}, "id"),
        State(ids.BD_EDIT, "value"),
        prevent_initial_call=True,
    )
    def toggle_row(
        _n: Any,
        expanded: str | None,
        info: dict[str, Any] | None,
        var_values: list[Any],
        var_ids: list[Any],
        editing: bool | None,
    ) -> Any:
        if not info:
            raise PreventUpdate
        row = dash.ctx.triggered_id["row"]
        if expanded == "true":
            return None, "false"
        found = stored_board(services, info["uid"])
        board, values = found.board, _values(var_ids, var_values)
        mine = [p for p in board.panels if p.row == row]
        links = {p.id: link_of(board, p, values) for p in mine}
        return layout.grid(board.uid, row, mine, links, editing=bool(editing) and may_edit(found)), "true"

    @app.callback(
        Output({"type": ids.BD_PANEL, "uid": MATCH, "panel": MATCH}, "children"),
        Input({"type": ids.BD_VAR, "name": ALL}, "value"),
        Input(ids.TIME_RANGE, "data"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.THEME_STORE, "data"),
        Input(ids.BD_NOTES, "data"),
        Input(ids.BD_LIVE, "data"),
        State({"type": ids.BD_VAR, "name": ALL}, "id"),
        State(ids.URL, "search"),
    )
    def panel(
        var_values: list[Any],
        time_store: Any,
        _tick: Any,
        theme: str | None,
        _notes: Any,
        _live: Any,
        var_ids: list[Any],
        search: str | None,
    ) -> Any:
        if dash.ctx.triggered_id == ids.BD_LIVE and time_store and not time_store.get("live", True):
            raise PreventUpdate  # a range that ends in the past has nothing new to show
        me = dash.ctx.outputs_list["id"]
        values = _values(var_ids, var_values)
        return draw_panel(services, me["uid"], me["panel"], values, time_store, search, theme, notes_added=_notes or 0)


def draw_panel(
    services: Services,
    uid: str,
    panel_id: str,
    values: dict[str, str],
    time_store: Any,
    search: str | None,
    theme: str | None,
    *,
    notes_added: int = 0,
) -> Any:
    with services.db.read() as conn:
        found = store.get_board(conn, uid)
    panel = found.board.panel(panel_id) if found else None
    if found is None or panel is None:
        return layout_message("This panel is no longer on the board: reload.")
    url_query = dict(parse_qsl((search or "").lstrip("?")))
    time = board_panels.page_time(time_store, url_query)
    return board_panels.render(
        services,
        found.board,
        panel,
        values,
        time,
        store=time_store if time else None,
        dark=theme == "dark",
        notes_added=notes_added,
    )


ZOOM = """function (_relayouts) {
    var t = window.dash_clientside.callback_context.triggered;
    if (!t || t.length !== 1 || !t[0].value) return window.dash_clientside.no_update;
    return window.dash_clientside.timebar.zoom(t[0].value);
}"""


def register_zoom(app: dash.Dash) -> None:
    """A time series panel's drag-zoom (or double-click) -> the time bar's zoom, as on every time chart."""
    app.clientside_callback(  # type: ignore[no-untyped-call]
        ZOOM,
        Output(ids.TB_ZOOM, "data", allow_duplicate=True),
        Input({"type": ids.BD_GRAPH, "uid": ALL, "panel": ALL}, "relayoutData"),
        prevent_initial_call=True,
    )


def register_live(app: dash.Dash) -> None:
    """The board's live feed (assets/boards.js): connect, and new events -> ``BD_LIVE``."""
    app.clientside_callback(  # type: ignore[no-untyped-call]
        ClientsideFunction("boards", "connect"),
        Output(ids.BD_SOCKET, "url"),
        Input(ids.BD_WATCHDOG, "n_intervals"),
        Input(ids.BD_SOCKET, "state"),
        State(ids.BD_UID, "data"),
        State(ids.BD_SOCKET, "url"),
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        ClientsideFunction("boards", "receive"),
        Output(ids.BD_LIVE, "data"),
        Output(ids.BD_SOCKET, "send"),
        Input(ids.BD_SOCKET, "message"),
        Input(ids.BD_SOCKET, "state"),
        Input(ids.BD_WATCHDOG, "n_intervals"),
    )


def layout_message(text: str) -> Any:
    return dash.html.Div(text, className="alert alert-warning small py-1 px-2 mb-2") if text else None
