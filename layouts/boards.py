"""Boards: the list of boards (``/boards``) and one board (``/boards/<uid>``).

A board's page is a skeleton here: ``callbacks.boards`` reads the board
from the database and draws its header, its variables (``var-<name>`` in
the URL) and its rows, each a 12-column grid (``dash-dynamic-grid-layout``,
react-grid-layout) of panels; every panel then draws itself in its own
callback (``callbacks.board_panels``), so a slow one never holds up the
others. On a phone the grid has one column: panels stack full width.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import dash_dynamic_grid_layout as dgl
from dash import dcc, html
from dash_extensions import WebSocket

from core.boards import Board, Panel
from layouts import board_edit, ids, timebar

VAR_PREFIX = "var-"
ROW_HEIGHT = 36  # px of one grid unit: a panel of h 8 is about 340 px tall
# The grid's columns by the width of its container: 12 down to a tablet, one on a phone.
BREAKPOINTS = {"lg": 900, "md": 700, "sm": 500, "xs": 300, "xxs": 0}
COLUMNS = {"lg": 12, "md": 12, "sm": 1, "xs": 1, "xxs": 1}
NO_ROW = -1
PAGE_LINKS = {"health": "/", "alerts": "/alerts", "executions": "/executions"}  # kinds that are a page's, not a query's
EXPLORE_TIME = {"window": "range", "since": "from", "until": "to"}  # query parameters as Explore's URL names them


def attrs(values: dict[str, str]) -> dict[str, Any]:
    """``data-*`` and ``aria-*`` attributes, which the components take as keyword arguments."""
    return values


def page(pathname: str, query: dict[str, str]) -> html.Div:
    uid = pathname.rstrip("/").removeprefix("/boards").strip("/")
    return board_page(uid, query) if uid else list_page(query)


def list_page(query: dict[str, str]) -> html.Div:
    return html.Div(
        [
            timebar.page_location("boards"),
            dcc.Store(id=ids.BD_CHANGED, data=0),
            html.Div(
                [
                    html.H2("Boards", className="h4 mb-0 me-auto"),
                    dbc.InputGroup(
                        [
                            dbc.Input(id=ids.BD_NEW_TITLE, placeholder="Title of a new board", size="sm"),
                            dbc.Button("New board", id=ids.BD_NEW, color="primary", size="sm"),
                        ],
                        size="sm",
                        className="pb-bd-new",
                    ),
                    dcc.Upload(
                        dbc.Button("Import YAML", color="secondary", outline=True, size="sm"),
                        id=ids.BD_IMPORT,
                        accept=".yaml,.yml,application/yaml,text/yaml",
                        multiple=False,
                    ),
                ],
                className="d-flex flex-wrap align-items-center gap-2 mb-3",
            ),
            html.Div(deleted_notice(query.get("deleted")), id=ids.BD_MESSAGE, role="status"),
            dbc.Input(
                id=ids.BD_SEARCH,
                value=query.get("q", "")[:200],
                placeholder="Search boards by title, uid or description",
                type="search",
                debounce=True,
                size="sm",
                className="mb-3",
            ),
            html.Div(id=ids.BD_LIST),
        ]
    )


def deleted_notice(title: str | None) -> Any:
    """What the list says after a board was deleted from its page (``?deleted=<title>``)."""
    if not title:
        return None
    return html.Div(
        [f"The board “{title[:200]}” was deleted."], className="alert alert-success small py-1 px-2 pb-bd-deleted"
    )


def board_list(boards: list[dict[str, Any]], *, search: str = "") -> Any:
    """The boards as cards: title (a link), description, tags, owner, the
    provisioned badge and a star toggle."""
    if not boards:
        text = f"No board matches {search!r}." if search else "No boards yet: give a title and press New board."
        return html.Div(text, className="text-body-secondary pb-bd-empty")
    items = []
    for b in boards:
        badges: list[Any] = [dbc.Badge(t, color="secondary", className="me-1 pb-bd-tag") for t in b["tags"]]
        if b["provisioned"]:
            badges.append(
                dbc.Badge(
                    "provisioned", color="info", className="me-1 pb-bd-provisioned", title="Read-only: from a file"
                )
            )
        items.append(
            dbc.ListGroupItem(
                html.Div(
                    [
                        html.Button(
                            "★" if b["starred"] else "☆",
                            id=ids.bd_star(b["uid"]),
                            className="btn btn-link pb-bd-star p-0 fs-5",
                            title="Unstar" if b["starred"] else "Star",
                            **attrs({"aria-pressed": "true" if b["starred"] else "false"}),
                        ),
                        html.Div(
                            [
                                dcc.Link(b["title"], href=f"/boards/{b['uid']}", className="fw-semibold pb-bd-title"),
                                html.Div(b["description"], className="small text-body-secondary"),
                            ],
                            className="me-auto",
                        ),
                        html.Div(badges),
                        html.Span(
                            f"{b['panels']} panels · {b['owner'] or 'no owner'}", className="small text-body-secondary"
                        ),
                    ],
                    className="d-flex flex-wrap align-items-center gap-3",
                ),
                className="pb-bd-item",
                id=f"bd-entry-{b['uid']}",
            )
        )
    return dbc.ListGroup(items)


def board_page(uid: str, query: dict[str, str]) -> html.Div:
    return html.Div(
        [
            timebar.page_location("board"),
            dcc.Store(id=ids.BD_UID, data={"uid": uid, "values": variable_values(query), "shared": "share" in query}),
            dcc.Store(id=ids.BD_BOARD),
            dcc.Store(id=ids.BD_NOTES, data=0),
            WebSocket(id=ids.BD_SOCKET),  # its url is set clientside (assets/boards.js)
            dcc.Interval(id=ids.BD_WATCHDOG, interval=1000),
            dcc.Store(id=ids.BD_LIVE),
            html.Div(
                [html.Div(board_edit.toolbar(), id=ids.BD_TOOLBAR_WRAP, hidden=True), board_edit.reader_tools()],
                className="d-flex flex-wrap align-items-start gap-2",
            ),
            html.Div(board_edit.note_form(), id=ids.BD_NOTE_FORM, hidden=True),
            board_edit.panel_form(),
            board_edit.settings_modal(),
            board_edit.delete_modal(),
            board_edit.share_modal(),
            board_edit.versions_modal(),
            html.Div(html.Div(id=ids.BD_BODY), id=ids.BD_WRAP, className="pb-board"),
        ]
    )


def variable_values(query: Mapping[str, str]) -> dict[str, str]:
    """The variables' values the URL names (``var-<name>=<value>``; a
    multi-select variable's as a comma list, ``var-source=api,worker``).

    >>> variable_values({"var-source": "gate-2", "range": "6h"})
    {'source': 'gate-2'}
    """
    return {k[len(VAR_PREFIX) :]: v for k, v in query.items() if k.startswith(VAR_PREFIX)}


def variables_search(values: Mapping[str, str | None]) -> str:
    """The URL query of the variables (an empty value, "all", is left out).

    >>> variables_search({"source": "gate 2", "metric": None})
    '?var-source=gate+2'
    """
    pairs = [(VAR_PREFIX + k, v) for k, v in values.items() if v]
    return "?" + urlencode(pairs, safe=",") if pairs else ""


def not_found(uid: str) -> html.Div:
    return html.Div(
        [
            html.H2("Board not found", className="h4"),
            html.P(["There is no board ", html.Code(uid), "."]),
            dcc.Link("All boards", href="/boards"),
        ],
        className="pb-empty",
    )


def header(board: Board, *, provisioned: bool) -> html.Div:
    tags = [dbc.Badge(t, color="secondary", className="me-1") for t in board.tags]
    if provisioned:
        tags.append(dbc.Badge("provisioned", color="info", title="Read-only here: edit its file"))
    return html.Div(
        [
            html.Div(
                [html.H2(board.title, className="h4 mb-0 pb-bd-heading"), html.Div(tags)],
                className="d-flex flex-wrap align-items-center gap-2",
            ),
            html.P(board.description, className="text-body-secondary small mb-2") if board.description else None,
        ],
        className="mb-2",
    )


def variable_controls(board: Board, values: Mapping[str, str], options: Mapping[str, list[str]]) -> Any:
    """A control per variable: a dropdown of a custom one's values or of the
    values of a query variable's dimension seen in the data (several at once
    for a multi-select one), or a text box; empty means all."""
    if not board.variables:
        return None
    cols = []
    for var in board.variables:
        chosen = var.chosen(values.get(var.name))
        control: Any
        if var.kind == "text":
            control = dbc.Input(
                id=ids.bd_var(var.name),
                value=chosen[0] if chosen else "",
                debounce=True,
                size="sm",
                placeholder=f"any {var.name}",
                className="pb-bd-var",
            )
        else:
            seen = set(options.get(var.name, [])) | set(chosen)
            known = list(var.values) if var.kind == "custom" else sorted(seen - {""})
            control = dcc.Dropdown(
                id=ids.bd_var(var.name),
                options=[{"label": v, "value": v} for v in known],
                value=chosen if var.multi else (chosen[0] if chosen else None),
                multi=var.multi,
                clearable=var.kind == "query" or var.multi,
                placeholder=f"any {var.dimension or var.name}",
                className="pb-dropdown pb-bd-var",
            )
        cols.append(
            dbc.Col(
                html.Div(
                    [dbc.Label(var.label or var.name, className="small text-body-secondary mb-1"), control],
                    **attrs({"data-var": var.name}),
                ),
                xs=6,
                md=3 if var.multi else 2,
            )
        )
    return dbc.Row(cols, className="g-2 mb-3 pb-bd-vars")


def panel_card(uid: str, panel: Panel, link: str) -> html.Div:
    """A panel's frame: its title, a link (Explore with its query, or its own
    ``link``) and the body its callback fills."""
    return html.Div(
        [
            html.Div(
                [
                    html.Span(
                        panel.title, className="fw-semibold text-truncate me-auto", title=panel.description or None
                    ),
                    html.Button(
                        "✎",
                        id=ids.bd_panel_edit(panel.id),
                        className="btn btn-link btn-sm p-0 pb-bd-edit-only pb-bd-panel-edit",
                        title="Edit this panel",
                    ),
                    html.A(
                        "↗",
                        href=link,
                        className="text-decoration-none pb-bd-link",
                        title="Open in Explore" if link.startswith("/explore") else "Open",
                    ),
                ],
                className="card-header d-flex align-items-center gap-2 py-1 px-2 small",
            ),
            dcc.Loading(
                html.Div(id=ids.bd_panel(uid, panel.id), className="pb-bd-panel-body"),
                type="dot",
                delay_show=800,
                parent_className="pb-bd-loading",
            ),
        ],
        className="card h-100 pb-bd-panel",
        **attrs({"data-panel": panel.id, "data-kind": panel.kind}),
    )


def grid(uid: str, row: int, panels: list[Panel], links: Mapping[str, str], *, editing: bool) -> Any:
    """One row's panels on the 12-column grid, each at its ``grid`` place."""
    return dgl.DashGridLayout(
        id=ids.bd_grid(row),
        items=[
            dgl.DraggableWrapper(
                panel_card(uid, p, links[p.id]),
                id=ids.bd_item(p.id),
                handleText="⠿ drag",
                handleBackground="var(--bs-secondary-bg)",
                handleColor="var(--bs-body-color)",
            )
            for p in panels
        ],
        itemLayout=[
            {"i": ids.bd_item(p.id), "x": p.grid.x, "y": p.grid.y, "w": p.grid.w, "h": p.grid.h} for p in panels
        ],
        cols=COLUMNS,
        breakpoints=BREAKPOINTS,
        rowHeight=ROW_HEIGHT,
        compactType="vertical",
        showRemoveButton=False,
        showResizeHandles=editing,
        margin=[12, 12],
        draggableChildStyle={"overflow": "hidden", "height": "100%"},
        className="pb-bd-grid",
    )


def rows(board: Board, links: Mapping[str, str], *, editing: bool = False) -> list[Any]:
    """The panels in no row first, then each row under its title; a collapsed
    row's panels are drawn when it is opened."""
    out: list[Any] = []
    loose = [p for p in board.panels if p.row is None]
    if loose or not board.rows:
        out.append(grid(board.uid, NO_ROW, loose, links, editing=editing))
    for i, row in enumerate(board.rows):
        mine = [p for p in board.panels if p.row == i]
        out.append(
            html.Section(
                [
                    html.Button(
                        [html.Span("▾", className="me-2 pb-bd-caret"), row.title],
                        id=ids.bd_row_toggle(i),
                        className="btn btn-link pb-bd-row-title text-body fw-semibold text-decoration-none px-0",
                        **attrs({"aria-expanded": "false" if row.collapsed else "true"}),
                    ),
                    html.Div(
                        None if row.collapsed else grid(board.uid, i, mine, links, editing=editing),
                        id=ids.bd_row_body(i),
                    ),
                ],
                className="pb-bd-row",
            )
        )
    if not board.panels:
        out.append(html.Div("This board has no panels yet.", className="text-body-secondary pb-bd-empty"))
    return out


def explore_link(panel: Panel, params: Mapping[str, str]) -> str:
    """Where the panel's link goes: its own ``link``, else Explore with its
    resolved query (time parameters as Explore's URL names them) and chart.

    >>> p = Panel(id="a", title="A", kind="timeseries", chart="area", baseline=True,
    ...           grid={"x": 0, "y": 0, "w": 6, "h": 8})
    >>> explore_link(p, {"metric": "count", "source": "api", "window": "6h"})
    '/explore?metric=count&source=api&range=6h&chart=area&overlays=baseline'
    """
    if panel.link:
        return panel.link
    if panel.kind in PAGE_LINKS:
        return PAGE_LINKS[panel.kind]
    out = {EXPLORE_TIME.get(k, k): v for k, v in params.items()}
    if panel.chart and panel.chart != "line":
        out["chart"] = panel.chart
    elif panel.kind == "heatmap":
        out["chart"] = "heatmap"
    overlays = [name for name in ("baseline", "anomalies", "forecast") if getattr(panel, name)]
    if overlays:
        out["overlays"] = ",".join(overlays)
    return "/explore?" + urlencode(out, safe=",:")
