"""Editing boards: edit mode, a drag or resize saved with the version it
edited (``data.boards.update_board``; a stale version is "changed elsewhere,
reload"), the panel form, title and tags, versions and restore, duplicate,
export and import of YAML, notes, and Explore's "Add to board…".

Every write checks again who may make it (the owner or an admin; never a
provisioned board), whatever the page showed."""

from __future__ import annotations

import base64
from typing import Any

import dash
from dash import ALL, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from auth import current_role, current_user
from callbacks.boards import may_create, may_edit, new_board, stored_board
from core.boards import board_from_yaml, board_to_dict, board_to_yaml, parse_annotation, parse_board
from core.errors import Conflict, InvalidInput, NotFound
from core.timerange import parse_moment
from data import boards as store
from layouts import board_edit as forms
from layouts import ids
from layouts.boards import COLUMNS
from services import Services

STALE = "This board was changed elsewhere since you opened it: reload to see it (your change was not saved)."


def save(services: Services, info: dict[str, Any], document: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """Save ``document`` over the version the page shows: (the new info, "") or (None, why not)."""
    saved, errors = save_checked(services, info, document)
    return saved, first_error(errors)


def first_error(errors: list[dict[str, Any]]) -> str:
    """The first problem as ``field: why`` (with how many more), as ``InvalidBoard`` words it.

    >>> first_error([{"field": "title", "message": "too long"}, {"field": "tags[0]", "message": "empty"}])
    'title: too long (and 1 more)'
    >>> first_error([{"field": "", "message": "changed elsewhere"}])
    'changed elsewhere'
    """
    if not errors:
        return ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    where = f"{errors[0]['field']}: " if errors[0]["field"] else ""
    return f"{where}{errors[0]['message']}{more}"


def save_checked(
    services: Services, info: dict[str, Any], document: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """As :func:`save`, with every problem of the document (``field`` "" for one that is not a field's)."""
    found = stored_board(services, info["uid"])
    if not may_edit(found):
        return None, [{"field": "", "message": REFUSED}]
    now = services.now()
    try:
        board = parse_board(document, now=now)
        with services.db.write() as conn:
            saved = store.update_board(
                conn, found.uid, board, expected_version=int(info["version"]), author=_user(), now=now
            )
    except Conflict:
        return None, [{"field": "", "message": STALE}]
    except InvalidInput as exc:
        return None, list(exc.errors) or [{"field": "", "message": str(exc)}]
    return {**info, "version": saved.version}, []


REFUSED = "Only the board's owner or an admin may change it (and a provisioned board not at all)."


def _user() -> str | None:
    return current_user()


def may_annotate(found: store.StoredBoard) -> bool:
    """The owner or an admin, provisioned boards too (as ``api.boards`` has it)."""
    return found.changeable_by(current_role(), _user())


def add_note(services: Services, uid: str, text: str | None, when: str | None, tags: str | None) -> str:
    """Add a note to the board: "" or what is wrong."""
    found = stored_board(services, uid)
    if not may_annotate(found):
        return "Only the board's owner or an admin may add notes."
    now = services.now()
    try:
        ts = parse_moment(when.strip(), "ts") if when and when.strip() else now
        note = parse_annotation(
            {
                "ts": ts.isoformat(),
                "text": (text or "").strip(),
                "tags": [t.strip() for t in (tags or "").split(",") if t.strip()],
            }
        )
        with services.db.write() as conn:
            store.add_annotation(
                conn, uid=uid, ts=note.ts, ts_end=None, text=note.text, tags=list(note.tags), author=_user(), now=now
            )
    except (InvalidInput, NotFound) as exc:
        return str(exc)
    return ""


def add_to_board(
    services: Services, search: str | None, target: str | None, new_title: str | None, title: str | None
) -> tuple[str | None, str]:
    """Save the Explore view of ``search`` as a panel on the board ``target``
    (or on a new board titled ``new_title``): (the board's uid, "") or (None, why not)."""
    now = services.now()
    panel_title = (title or "").strip() or "Explore"
    if not target:
        uid, error = new_board(services, new_title)
        if uid is None:
            return None, error or ""
        target = uid
        fresh = True
    else:
        fresh = False
    found = stored_board(services, target)
    if not may_edit(found):
        return None, REFUSED
    panel, time = forms.explore_panel(
        search, panel_title, [p.id for p in found.board.panels], forms.bottom(found.board)
    )
    document = board_to_dict(found.board)
    document["panels"] = [*document.get("panels", []), panel]
    if fresh and time:
        document["time"] = time
    try:
        board = parse_board(document, now=now)
        with services.db.write() as conn:
            store.update_board(conn, target, board, expected_version=found.version, author=_user(), now=now)
    except Conflict:
        return None, STALE
    except InvalidInput as exc:
        return None, str(exc)
    return target, ""


def import_yaml(services: Services, contents: str | None) -> tuple[str | None, str]:
    """A board from an uploaded YAML file: created, or saved as a new version of the board of its uid."""
    if not contents:
        raise PreventUpdate
    now = services.now()
    try:
        text = base64.b64decode(contents.partition(",")[2]).decode("utf-8")
        board = board_from_yaml(text, now=now)
    except (ValueError, UnicodeDecodeError):
        return None, "The file is not a UTF-8 text file."
    except InvalidInput as exc:
        return None, str(exc)
    with services.db.read() as conn:
        existing = store.get_board(conn, board.uid)
    if existing is not None:
        info, error = save(services, {"uid": board.uid, "version": existing.version}, board_to_dict(board))
        return (board.uid, "") if info else (None, error)
    if not may_create():
        return None, "Sign in to make boards."
    try:
        with services.db.write() as conn:
            store.create_board(conn, board, owner=_user(), now=now)
    except Conflict as exc:
        return None, str(exc)
    return board.uid, ""


def register(app: dash.Dash, services: Services) -> None:
    @app.callback(
        Output(ids.BD_TOOLBAR_WRAP, "hidden"),
        Output(ids.BD_NOTE_FORM, "hidden"),
        Output(ids.BD_SHARE_WRAP, "hidden"),
        Input(ids.BD_BOARD, "data"),
        State(ids.BD_UID, "data"),
    )
    def tools(info: dict[str, Any] | None, wanted: dict[str, Any] | None) -> Any:
        if not info:
            return True, True, True
        found = stored_board(services, info["uid"])
        if wanted and wanted.get("shared"):  # a share link is read-only, sign-in or not
            return True, True, True
        return not may_edit(found), not may_annotate(found), current_role() != "admin"

    @app.callback(
        Output(ids.BD_WRAP, "className"),
        Output(ids.BD_TOOLBAR, "className"),
        Output({"type": ids.BD_GRID, "row": ALL}, "showResizeHandles"),
        Input(ids.BD_EDIT, "value"),
        Input(ids.BD_BOARD, "data"),
        State({"type": ids.BD_GRID, "row": ALL}, "id"),
    )
    def edit_mode(editing: bool | None, _info: Any, grids: list[Any]) -> Any:
        extra = " pb-bd-editing" if editing else ""
        return (
            "pb-board" + extra,
            "d-flex flex-wrap align-items-center gap-2 mb-2 pb-bd-toolbar" + extra,
            [bool(editing)] * len(grids),
        )

    @app.callback(
        Output(ids.BD_BOARD, "data", allow_duplicate=True),
        Output(ids.BD_STATUS, "children", allow_duplicate=True),
        Input({"type": ids.BD_GRID, "row": ALL}, "currentLayout"),
        State({"type": ids.BD_GRID, "row": ALL}, "breakpointData"),
        State(ids.BD_EDIT, "value"),
        State(ids.BD_BOARD, "data"),
        prevent_initial_call=True,
    )
    def moved(layouts: list[Any], breakpoints: list[Any], editing: bool | None, info: dict[str, Any] | None) -> Any:
        """A drag or a resize at any width (``currentLayout`` is the layout shown, at its breakpoint)."""
        if not editing or not info:
            raise PreventUpdate
        columns = [forms.grid_columns(bp, layout, COLUMNS) for bp, layout in zip(breakpoints, layouts)]
        document = forms.with_layout(stored_board(services, info["uid"]).board, layouts, columns)
        if document is None:
            raise PreventUpdate
        saved, error = save(services, info, document)
        if not saved:
            return no_update, error
        narrow = " (on a narrow screen: the heights; the order follows the wide layout)"
        return saved, f"Layout saved (version {saved['version']}){narrow if min(columns) < 12 else ''}."

    @app.callback(
        Output(ids.BD_FORM, "is_open"),
        Output(ids.BD_FORM_PANEL, "data"),
        Output(ids.bd_field("title"), "value"),
        Output(ids.bd_field("kind"), "value"),
        Output(ids.bd_field("query"), "value"),
        Output(ids.bd_field("chart"), "value"),
        Output(ids.bd_field("unit"), "value"),
        Output(ids.bd_field("thresholds"), "value"),
        Output(ids.bd_field("show"), "value"),
        Output(ids.BD_FORM_MESSAGE, "children", allow_duplicate=True),
        Input(ids.BD_ADD_PANEL, "n_clicks"),
        Input({"type": ids.BD_PANEL_EDIT, "panel": ALL}, "n_clicks"),
        State(ids.BD_BOARD, "data"),
        prevent_initial_call=True,
    )
    def open_form(_add: Any, edits: list[Any], info: dict[str, Any] | None) -> Any:
        trigger = dash.ctx.triggered_id
        if not info or (isinstance(trigger, dict) and not any(edits)):
            raise PreventUpdate
        if trigger == ids.BD_ADD_PANEL:
            return True, None, "", "timeseries", "metric=count", "", "", "", [], None
        panel = stored_board(services, info["uid"]).board.panel(trigger["panel"])
        if panel is None:
            raise PreventUpdate
        return (
            True,
            panel.id,
            panel.title,
            panel.kind,
            forms.query_text(panel.query),
            panel.chart or "",
            panel.unit or "",
            forms.thresholds_text(panel.thresholds),
            [name for name, _label in forms.SHOWN if getattr(panel, name)],
            None,
        )

    @app.callback(
        Output(ids.BD_UID, "data", allow_duplicate=True),
        Output(ids.BD_FORM, "is_open", allow_duplicate=True),
        Output(ids.BD_FORM_MESSAGE, "children"),
        Input(ids.BD_FORM_SAVE, "n_clicks"),
        Input(ids.BD_FORM_REMOVE, "n_clicks"),
        State(ids.BD_FORM_PANEL, "data"),
        *[State(ids.bd_field(f), "value") for f in ("title", "kind", "query", "chart", "unit", "thresholds", "show")],
        State(ids.BD_BOARD, "data"),
        State(ids.BD_UID, "data"),
        prevent_initial_call=True,
    )
    def save_panel(
        _save: Any,
        _remove: Any,
        panel_id: str | None,
        title: Any,
        kind: Any,
        query: Any,
        chart: Any,
        unit: Any,
        thresholds: Any,
        show: Any,
        info: dict[str, Any] | None,
        wanted: dict[str, Any],
    ) -> Any:
        if not info:
            raise PreventUpdate
        board = stored_board(services, info["uid"]).board
        if dash.ctx.triggered_id == ids.BD_FORM_REMOVE:
            if panel_id is None:
                return no_update, False, None
            document = forms.without_panel(board, panel_id)
        else:
            form = {
                "title": title,
                "kind": kind,
                "query": query,
                "chart": chart,
                "unit": unit,
                "thresholds": thresholds,
                "show": show or [],
            }
            document = forms.with_panel(board, panel_id, form)
        saved, error = save(services, info, document)
        if saved is None:
            return no_update, True, html.Div(error, className="alert alert-danger py-1 px-2 small mb-0")
        return {**wanted, "rev": saved["version"]}, False, None

    @app.callback(
        Output(ids.BD_VERSIONS_MODAL, "is_open"),
        Output(ids.BD_VERSIONS_LIST, "children"),
        Input(ids.BD_VERSIONS, "n_clicks"),
        State(ids.BD_BOARD, "data"),
        prevent_initial_call=True,
    )
    def versions(_n: Any, info: dict[str, Any] | None) -> Any:
        if not info:
            raise PreventUpdate
        found = stored_board(services, info["uid"])
        with services.db.read() as conn:
            listed = store.list_versions(conn, found.uid)
        return True, forms.versions_list(listed, found.version, can_restore=may_edit(found))

    @app.callback(
        Output(ids.BD_UID, "data", allow_duplicate=True),
        Output(ids.BD_VERSIONS_MODAL, "is_open", allow_duplicate=True),
        Output(ids.BD_STATUS, "children", allow_duplicate=True),
        Input({"type": ids.BD_RESTORE, "version": ALL}, "n_clicks"),
        State(ids.BD_BOARD, "data"),
        State(ids.BD_UID, "data"),
        prevent_initial_call=True,
    )
    def restore(clicks: list[Any], info: dict[str, Any] | None, wanted: dict[str, Any]) -> Any:
        if not info or not any(clicks):
            raise PreventUpdate
        version = int(dash.ctx.triggered_id["version"])
        with services.db.read() as conn:
            old = store.get_version(conn, info["uid"], version)
        saved, error = save(services, info, board_to_dict(old))
        if saved is None:
            return no_update, False, error
        return {**wanted, "rev": saved["version"]}, False, f"Restored version {version} as version {saved['version']}."

    @app.callback(
        Output(ids.page_url("board"), "href"),
        Output(ids.BD_STATUS, "children", allow_duplicate=True),
        Input(ids.BD_DUPLICATE, "n_clicks"),
        State(ids.BD_BOARD, "data"),
        prevent_initial_call=True,
    )
    def duplicate(_n: Any, info: dict[str, Any] | None) -> Any:
        if not info or not may_create():
            return no_update, "Sign in to duplicate boards."
        found = stored_board(services, info["uid"])
        with services.db.write() as conn:
            uid = store.free_uid(conn, f"{found.uid}-copy", tries=1000)
            if uid is None:
                return no_update, "Too many copies of this board: rename one first."
            store.duplicate_board(
                conn, found.uid, new_uid=uid, new_title=f"{found.title} (copy)"[:200], owner=_user(), now=services.now()
            )
        return f"/boards/{uid}", None

    @app.callback(
        Output(ids.BD_DOWNLOAD, "data"),
        Input(ids.BD_EXPORT, "n_clicks"),
        State(ids.BD_BOARD, "data"),
        prevent_initial_call=True,
    )
    def export(_n: Any, info: dict[str, Any] | None) -> Any:
        if not info:
            raise PreventUpdate
        found = stored_board(services, info["uid"])
        return {"content": board_to_yaml(found.board), "filename": f"{found.uid}.yaml", "type": "application/yaml"}

    @app.callback(
        Output(ids.BD_NOTES, "data"),
        Output(ids.BD_NOTE_MESSAGE, "children"),
        Output(ids.BD_NOTE_TEXT, "value"),
        Input(ids.BD_NOTE_ADD, "n_clicks"),
        Input(ids.BD_NOTE_TEXT, "n_submit"),
        State(ids.BD_NOTE_TEXT, "value"),
        State(ids.BD_NOTE_TS, "value"),
        State(ids.BD_NOTE_TAGS, "value"),
        State(ids.BD_BOARD, "data"),
        State(ids.BD_NOTES, "data"),
        prevent_initial_call=True,
    )
    def note(
        _n: Any, _s: Any, text: str | None, when: str | None, tags: str | None, info: Any, count: int | None
    ) -> Any:
        if not info:
            raise PreventUpdate
        error = add_note(services, info["uid"], text, when, tags)
        if error:
            return no_update, html.Span(error, className="text-danger small"), no_update
        return (count or 0) + 1, html.Span("Note added.", className="text-success small"), ""

    @app.callback(
        Output(ids.page_url("boards"), "href", allow_duplicate=True),
        Output(ids.BD_MESSAGE, "children", allow_duplicate=True),
        Input(ids.BD_IMPORT, "contents"),
        prevent_initial_call=True,
    )
    def upload(contents: str | None) -> Any:
        uid, error = import_yaml(services, contents)
        if uid is None:
            return no_update, html.Div(error, className="alert alert-danger small py-1 px-2")
        return f"/boards/{uid}", None

    register_explore(app, services)


def register_explore(app: dash.Dash, services: Services) -> None:
    @app.callback(
        Output(ids.EX_AB_MODAL, "is_open"),
        Output(ids.EX_AB_BOARD, "options"),
        Output(ids.EX_AB_MESSAGE, "children", allow_duplicate=True),
        Input(ids.EX_ADD_BOARD, "n_clicks"),
        prevent_initial_call=True,
    )
    def open_add(_n: Any) -> Any:
        with services.db.read() as conn:
            boards = [b for b in store.list_boards(conn) if may_edit(b)]
        options = [{"label": "a new board…", "value": ""}] + [{"label": b.title, "value": b.uid} for b in boards]
        return True, options, None

    @app.callback(
        Output(ids.EX_AB_MESSAGE, "children"),
        Input(ids.EX_AB_SAVE, "n_clicks"),
        State(ids.EX_AB_BOARD, "value"),
        State(ids.EX_AB_NEW_TITLE, "value"),
        State(ids.EX_AB_TITLE, "value"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    def add(_n: Any, target: str | None, new_title: str | None, title: str | None, search: str | None) -> Any:
        uid, error = add_to_board(services, search, target, new_title, title)
        if uid is None:
            return html.Div(error, className="alert alert-danger small py-1 px-2 mb-0")
        return html.Div(
            ["Saved as a panel on ", dash.dcc.Link(f"/boards/{uid}", href=f"/boards/{uid}", id=ids.EX_AB_LINK), "."],
            className="alert alert-success small py-1 px-2 mb-0",
        )
