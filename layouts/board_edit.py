"""Editing a board: the toolbar (edit mode, add a panel, title and tags,
versions, duplicate, export), the panel form, the version history, the note
form; and the plain functions that turn a form, a dragged grid or an
Explore view into a board document (``callbacks.board_edit`` saves them)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import dash_bootstrap_components as dbc
from dash import dcc, html

from core.boards import CHARTS, GRID_COLUMNS, PANEL_KINDS, QUERY_KEYS, Board, board_to_dict
from layouts import ids

NEW_W, NEW_H = 6, 8  # a new panel's size on the grid
EXPLORE_TIME = {"range": "window", "from": "since", "to": "until"}
EXPLORE_DEFAULTS = {"group_by": "none", "bucket": "auto", "metric": "count", "field": "value"}


def toolbar() -> html.Div:
    """Shown to the board's owner and admins (``hidden`` otherwise)."""
    return html.Div(
        [
            dbc.Switch(id=ids.BD_EDIT, label="Edit", value=False, className="mb-0 me-2"),
            html.Div(
                [
                    dbc.Button("Add panel", id=ids.BD_ADD_PANEL, size="sm", color="primary", outline=True),
                    dbc.InputGroup(
                        [
                            dbc.Input(id=ids.BD_META_TITLE, placeholder="title", size="sm"),
                            dbc.Input(id=ids.BD_META_TAGS, placeholder="tags, comma separated", size="sm"),
                            dbc.Button("Save", id=ids.BD_META_SAVE, size="sm", color="secondary", outline=True),
                        ],
                        size="sm",
                        className="pb-bd-meta",
                    ),
                ],
                className="pb-bd-edit-only d-flex flex-wrap gap-2",
            ),
        ],
        id=ids.BD_TOOLBAR,
        className="d-flex flex-wrap align-items-center gap-2 mb-2 pb-bd-toolbar",
    )


def reader_tools() -> html.Div:
    """For every reader: duplicate (a copy of one's own) and export."""
    return html.Div(
        [
            html.Span(id=ids.BD_STATUS, className="small me-1 pb-bd-status", role="status"),
            dbc.Button("Versions", id=ids.BD_VERSIONS, size="sm", color="secondary", outline=True),
            dbc.Button("Duplicate", id=ids.BD_DUPLICATE, size="sm", color="secondary", outline=True),
            dbc.Button("Export YAML", id=ids.BD_EXPORT, size="sm", color="secondary", outline=True),
            dcc.Download(id=ids.BD_DOWNLOAD),
        ],
        className="d-flex align-items-center gap-2 ms-auto",
    )


def _field(name: str, label: str, control: Any) -> dbc.Col:
    return dbc.Col([dbc.Label(label, html_for=ids.bd_field(name), className="small mb-1"), control], md=6)


# What a time-series panel can draw besides its series, as Explore's switches do.
SHOWN = (("stacked", "stacked"), ("baseline", "baseline band"), ("anomalies", "anomalies"), ("forecast", "forecast"))


def panel_form() -> dbc.Modal:
    kinds = [{"label": k, "value": k} for k in PANEL_KINDS]
    charts = [{"label": "default", "value": ""}] + [{"label": c, "value": c} for c in CHARTS]
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Panel")),
            dbc.ModalBody(
                [
                    dcc.Store(id=ids.BD_FORM_PANEL),
                    dbc.Row(
                        [
                            _field("title", "Title", dbc.Input(id=ids.bd_field("title"), size="sm")),
                            _field("kind", "Kind", dbc.Select(id=ids.bd_field("kind"), options=kinds, size="sm")),
                            _field(
                                "query",
                                "Query (as GET /api/query takes it; $name for a variable)",
                                dbc.Input(
                                    id=ids.bd_field("query"), placeholder="metric=count&source=$source", size="sm"
                                ),
                            ),
                            _field("chart", "Chart", dbc.Select(id=ids.bd_field("chart"), options=charts, size="sm")),
                            _field("unit", "Unit", dbc.Input(id=ids.bd_field("unit"), size="sm")),
                            _field(
                                "thresholds",
                                "Thresholds (value:colour, ...)",
                                dbc.Input(
                                    id=ids.bd_field("thresholds"), placeholder="90:#c69026, 98:#57ab5a", size="sm"
                                ),
                            ),
                            dbc.Col(
                                [
                                    dbc.Label(
                                        "Show (time series)", html_for=ids.bd_field("show"), className="small mb-1"
                                    ),
                                    dbc.Checklist(
                                        id=ids.bd_field("show"),
                                        options=[{"label": label, "value": name} for name, label in SHOWN],
                                        value=[],
                                        inline=True,
                                        switch=True,
                                        className="small",
                                    ),
                                ],
                                md=12,
                            ),
                        ],
                        className="g-2",
                    ),
                    html.Div(id=ids.BD_FORM_MESSAGE, className="mt-2", role="alert"),
                ]
            ),
            dbc.ModalFooter(
                [
                    dbc.Button("Remove panel", id=ids.BD_FORM_REMOVE, color="danger", outline=True, size="sm"),
                    dbc.Button("Save panel", id=ids.BD_FORM_SAVE, color="primary", size="sm"),
                ]
            ),
        ],
        id=ids.BD_FORM,
        is_open=False,
    )


def versions_modal() -> dbc.Modal:
    return dbc.Modal(
        [dbc.ModalHeader(dbc.ModalTitle("Versions")), dbc.ModalBody(html.Div(id=ids.BD_VERSIONS_LIST))],
        id=ids.BD_VERSIONS_MODAL,
        is_open=False,
    )


def versions_list(versions: list[dict[str, Any]], current: int, *, can_restore: bool) -> Any:
    rows = []
    for v in versions:
        restore = (
            dbc.Button("Restore", id=ids.bd_restore(v["version"]), size="sm", color="secondary", outline=True)
            if can_restore and v["version"] != current
            else html.Span("current" if v["version"] == current else "", className="small text-body-secondary")
        )
        rows.append(
            html.Tr(
                [
                    html.Td(str(v["version"])),
                    html.Td(v["title"]),
                    html.Td(v["author"] or "–"),
                    html.Td(v["created_at"].strftime("%Y-%m-%d %H:%M:%S UTC"), className="small"),
                    html.Td(restore),
                ],
                className="pb-bd-version",
            )
        )
    return dbc.Table([html.Tbody(rows)], size="sm", className="mb-0")


def note_form() -> html.Div:
    """Add a note: text, time (empty: now, UTC) and tags."""
    return html.Div(
        [
            dbc.InputGroup(
                [
                    dbc.Input(id=ids.BD_NOTE_TEXT, placeholder="Note, e.g. deployed 2.4", size="sm"),
                    dbc.Input(
                        id=ids.BD_NOTE_TS, placeholder="time (UTC, empty: now)", size="sm", className="pb-bd-note-ts"
                    ),
                    dbc.Input(id=ids.BD_NOTE_TAGS, placeholder="tags", size="sm", className="pb-bd-note-tags"),
                    dbc.Button("Add note", id=ids.BD_NOTE_ADD, size="sm", color="secondary", outline=True),
                ],
                size="sm",
            ),
            html.Div(id=ids.BD_NOTE_MESSAGE, role="status"),
        ],
        className="mb-2 pb-bd-notes",
    )


# ------------------------------------------------------------ documents


def parse_thresholds(text: str | None) -> list[dict[str, Any]]:
    """``"90:#c69026, 98:green"`` -> thresholds; a bad step is kept as text so the board's check names it.

    >>> parse_thresholds("90:#c69026, 98:green")
    [{'value': '90', 'color': '#c69026'}, {'value': '98', 'color': 'green'}]
    """
    out = []
    for part in (text or "").split(","):
        if part.strip():
            value, _, colour = part.partition(":")
            out.append({"value": value.strip(), "color": colour.strip()})
    return out


def thresholds_text(thresholds: Iterable[Any]) -> str:
    return ", ".join(f"{t.value:g}:{t.color}" for t in thresholds)


def query_text(query: Mapping[str, str]) -> str:
    return urlencode(query, safe="$,:")


def free_id(wanted: str, taken: Iterable[str]) -> str:
    """A panel id from a title, not yet on the board.

    >>> free_id("Errors by source", ["errors-by-source"])
    'errors-by-source-2'
    """
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", wanted).strip("-").lower()[:50] or "panel"
    taken = set(taken)
    return next(c for c in (base, *(f"{base}-{n}" for n in range(2, 1000))) if c not in taken)


def bottom(board: Board) -> int:
    return max((p.grid.y + p.grid.h for p in board.panels if p.row is None), default=0)


def with_panel(board: Board, panel_id: str | None, form: Mapping[str, Any]) -> dict[str, Any]:
    """The board's document with the panel ``panel_id`` (None: a new one at the bottom) as the form says."""
    doc = board_to_dict(board)
    panels: list[dict[str, Any]] = list(doc.get("panels", []))
    body: dict[str, Any] = {
        "title": (form.get("title") or "").strip(),
        "kind": form.get("kind") or "timeseries",
        "query": dict(parse_qsl(form.get("query") or "")),
    }
    for key in ("chart", "unit"):
        if form.get(key):
            body[key] = form[key].strip()
    if form.get("thresholds"):
        body["thresholds"] = parse_thresholds(form["thresholds"])
    if form.get("show") is not None:
        shown = set(form["show"] or [])
        body |= {name: name in shown for name, _label in SHOWN}
    if panel_id is None:
        body["id"] = free_id(body["title"] or "panel", [p["id"] for p in panels])
        body["grid"] = {"x": 0, "y": bottom(board), "w": NEW_W, "h": NEW_H}
        panels.append(body)
    else:
        kept = ("id", "grid", "row", "description", "link", *(name for name, _label in SHOWN))
        panels = [{**{k: p[k] for k in kept if k in p}, **body} if p["id"] == panel_id else p for p in panels]
    return {**doc, "panels": panels}


def without_panel(board: Board, panel_id: str) -> dict[str, Any]:
    doc = board_to_dict(board)
    return {**doc, "panels": [p for p in doc.get("panels", []) if p["id"] != panel_id]}


def with_layout(board: Board, layouts: Iterable[Iterable[Mapping[str, Any]]]) -> dict[str, Any] | None:
    """The board's document with the grids' places (``itemLayout`` of each
    row's grid); None when no panel moved.

    >>> from core.boards import parse_board
    >>> b = parse_board({"uid": "b", "title": "B", "panels": [{"id": "a", "title": "A", "kind": "stat",
    ...     "grid": {"x": 0, "y": 0, "w": 3, "h": 4}}]})
    >>> with_layout(b, [[{"i": "bd-item-a", "x": 3, "y": 0, "w": 4, "h": 5}]])["panels"][0]["grid"]
    {'x': 3, 'y': 0, 'w': 4, 'h': 5}
    >>> with_layout(b, [[{"i": "bd-item-a", "x": 0, "y": 0, "w": 3, "h": 4}]]) is None
    True
    """
    places: dict[str, dict[str, int]] = {}
    for layout in layouts:
        for item in layout or []:
            pid = str(item.get("i", "")).removeprefix(ids.bd_item(""))
            w = max(1, min(GRID_COLUMNS, int(item["w"])))
            x = max(0, min(GRID_COLUMNS - w, int(item["x"])))
            places[pid] = {"x": x, "y": max(0, int(item["y"])), "w": w, "h": max(1, min(40, int(item["h"])))}
    doc = board_to_dict(board)
    changed = False
    panels = []
    for p in doc.get("panels", []):
        place = places.get(p["id"])
        if place is not None and place != p["grid"]:
            p = {**p, "grid": place}
            changed = True
        panels.append(p)
    return {**doc, "panels": panels} if changed else None


def with_meta(board: Board, title: str | None, tags: str | None) -> dict[str, Any]:
    doc = board_to_dict(board)
    doc["title"] = (title or "").strip() or board.title
    doc["tags"] = [t.strip() for t in (tags or "").split(",") if t.strip()]
    return doc


def explore_panel(
    search: str | None, title: str, taken: Iterable[str], y: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """A panel from an Explore URL (its query, chart and overlays) and the
    time range that URL names (for a new board's ``time``): the panel itself
    follows the board's range.

    >>> panel, time = explore_panel("?metric=p95&field=duration_ms&source=api&chart=area&overlays=baseline&range=6h",
    ...                             "API p95", [], 0)
    >>> panel["kind"], panel["query"], panel["chart"], panel["baseline"], time
    ('timeseries', {'metric': 'p95', 'field': 'duration_ms', 'source': 'api'}, 'area', True, {'range': '6h'})
    >>> explore_panel("?group_by=status&bucket=none&chart=pie", "Mix", [], 0)[0]["kind"]
    'breakdown'
    """
    params = dict(parse_qsl((search or "").lstrip("?")))
    query = {k: v for k, v in params.items() if k in QUERY_KEYS and k not in EXPLORE_TIME.values() and v}
    query = {k: v for k, v in query.items() if EXPLORE_DEFAULTS.get(k) != v and k not in ("from", "to")}
    chart = params.get("chart") or ""
    overlays = set((params.get("overlays") or "").split(","))
    panel: dict[str, Any] = {
        "id": free_id(title or "panel", taken),
        "title": title or "Explore",
        "query": query,
        "grid": {"x": 0, "y": y, "w": NEW_W, "h": NEW_H},
    }
    if chart == "heatmap":
        panel["kind"] = "heatmap"
    elif chart == "pie" or (query.get("bucket") == "none" and query.get("group_by")):
        panel["kind"] = "breakdown"
        panel["chart"] = "pie" if chart == "pie" else "bar"
    else:
        panel["kind"] = "timeseries"
        if chart in ("line", "area", "bar"):
            panel["chart"] = chart
        for name in ("baseline", "anomalies", "forecast"):
            if name in overlays:
                panel[name] = True
    time = {k: params[k] for k in ("range", "from", "to") if params.get(k)}
    return panel, time
