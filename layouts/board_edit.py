"""Editing a board: the toolbar (edit mode, add a panel, the board's
settings, share links, delete; versions, duplicate, export), the panel form,
the settings form (title, description, tags, time, refresh, variables,
rows), the version history, the note form; and the plain functions that
turn a form, a dragged grid or an Explore view into a board document
(``callbacks.board_edit`` saves them)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import dash_bootstrap_components as dbc
from dash import dcc, html

from core.boards import (
    CHARTS,
    GRID_COLUMNS,
    PANEL_KINDS,
    QUERY_KEYS,
    VARIABLE_DIMENSIONS,
    VARIABLE_KINDS,
    Board,
    board_to_dict,
)
from core.timerange import REFRESH
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
                    dbc.Button("Board settings", id=ids.BD_SETTINGS, size="sm", color="secondary", outline=True),
                    html.Div(
                        dbc.Button("Share links", id=ids.BD_SHARE, size="sm", color="secondary", outline=True),
                        id=ids.BD_SHARE_WRAP,
                        hidden=True,
                    ),
                    dbc.Button("Delete board", id=ids.BD_DELETE, size="sm", color="danger", outline=True),
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


# ------------------------------------------------------------- settings


KIND_LABELS = {"custom": "a list of values", "query": "values in the data", "text": "free text"}
TIME_HELP = "a relative range (6h, 7d) or from and to (ISO 8601, UTC)"


def _setting(name: str, label: str, control: Any, md: int = 6) -> dbc.Col:
    return dbc.Col([dbc.Label(label, html_for=ids.bd_setting(name), className="small mb-1"), control], md=md)


def settings_modal() -> dbc.Modal:
    """The board's own settings; the variables and rows are lists of editors (``variable_editor``, ``row_editor``)."""
    text = {"size": "sm", "type": "text"}
    refresh = [{"label": r, "value": r} for r in REFRESH]
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Board settings")),
            dbc.ModalBody(
                [
                    dbc.Row(
                        [
                            _setting("title", "Title", dbc.Input(id=ids.bd_setting("title"), **text)),
                            _setting(
                                "tags",
                                "Tags (comma separated)",
                                dbc.Input(id=ids.bd_setting("tags"), **text),
                            ),
                            _setting(
                                "description",
                                "Description",
                                dbc.Textarea(id=ids.bd_setting("description"), size="sm", rows=2),
                                md=12,
                            ),
                            _setting(
                                "range",
                                "Default time range",
                                dbc.Input(id=ids.bd_setting("range"), placeholder="24h", **text),
                                md=3,
                            ),
                            _setting(
                                "from",
                                "or from",
                                dbc.Input(id=ids.bd_setting("from"), placeholder="ISO 8601", **text),
                                3,
                            ),
                            _setting("to", "to", dbc.Input(id=ids.bd_setting("to"), placeholder="ISO 8601", **text), 3),
                            _setting(
                                "refresh",
                                "Refresh",
                                dbc.Select(id=ids.bd_setting("refresh"), options=refresh, size="sm"),
                                md=3,
                            ),
                        ],
                        className="g-2 mb-3",
                    ),
                    html.Div(
                        [
                            html.H3("Variables", className="h6 mb-0 me-auto"),
                            dbc.Button("Add variable", id=ids.BD_S_ADD_VAR, size="sm", color="secondary", outline=True),
                        ],
                        className="d-flex align-items-center mb-1",
                    ),
                    html.P(
                        ["Panels use a variable as ", html.Code("$name"), " in their query."],
                        className="small text-body-secondary mb-2",
                    ),
                    html.Div(id=ids.BD_S_VARS, className="mb-3"),
                    html.Div(
                        [
                            html.H3("Rows", className="h6 mb-0 me-auto"),
                            dbc.Button("Add row", id=ids.BD_S_ADD_ROW, size="sm", color="secondary", outline=True),
                        ],
                        className="d-flex align-items-center mb-2",
                    ),
                    html.Div(id=ids.BD_S_ROWS),
                    html.Div(id=ids.BD_S_MESSAGE, className="mt-3", role="alert"),
                ]
            ),
            dbc.ModalFooter(dbc.Button("Save settings", id=ids.BD_S_SAVE, color="primary", size="sm")),
        ],
        id=ids.BD_SETTINGS_MODAL,
        is_open=False,
        size="lg",
        scrollable=True,
    )


def _small(label: str, control: Any, md: int) -> dbc.Col:
    return dbc.Col([html.Label(label, className="small text-body-secondary mb-0"), control], md=md, xs=6)


def variable_editor(key: str, var: Mapping[str, Any]) -> html.Div:
    """One variable's fields; those its kind does not use are disabled (``kind_fields``)."""
    kind = var.get("kind") or "custom"
    values_off, dimension_off, multi_off = kind_fields(kind)
    text = {"size": "sm", "type": "text"}
    kinds = [{"label": KIND_LABELS[k], "value": k} for k in VARIABLE_KINDS]
    dimensions = [{"label": d, "value": d} for d in VARIABLE_DIMENSIONS]
    return html.Div(
        dbc.Row(
            [
                _small("Name", dbc.Input(id=ids.bd_sv("name", key), value=var.get("name", ""), **text), 3),
                _small("Label", dbc.Input(id=ids.bd_sv("label", key), value=var.get("label", ""), **text), 3),
                _small("Kind", dbc.Select(id=ids.bd_sv("kind", key), options=kinds, value=kind, size="sm"), 3),
                dbc.Col(
                    dbc.Checklist(
                        id=ids.bd_sv("multi", key),
                        options=[{"label": "several", "value": "multi", "disabled": multi_off}],
                        value=["multi"] if var.get("multi") else [],
                        switch=True,
                        className="small mb-1",
                    ),
                    md=2,
                    xs=4,
                ),
                dbc.Col(
                    html.Button(
                        "✕",
                        id={"type": f"{ids.BD_SV}-remove", "key": key},
                        className="btn btn-link btn-sm text-danger p-0 mb-1",
                        title="Remove this variable",
                    ),
                    md=1,
                    xs=2,
                    className="text-end",
                ),
                _small(
                    "Values (comma separated)",
                    dbc.Input(
                        id=ids.bd_sv("values", key),
                        value=", ".join(var.get("values") or []),
                        disabled=values_off,
                        **text,
                    ),
                    6,
                ),
                _small(
                    "Values of",
                    dbc.Select(
                        id=ids.bd_sv("dimension", key),
                        options=dimensions,
                        value=var.get("dimension") or VARIABLE_DIMENSIONS[0],
                        disabled=dimension_off,
                        size="sm",
                    ),
                    3,
                ),
                _small("Default", dbc.Input(id=ids.bd_sv("default", key), value=var.get("default") or "", **text), 3),
            ],
            className="g-2 align-items-end",
        ),
        className="border rounded p-2 mb-2 pb-bd-s-var",
    )


def kind_fields(kind: str | None) -> tuple[bool, bool, bool]:
    """Which of values, dimension and multi a variable of ``kind`` leaves unused (disabled).

    >>> kind_fields("custom"), kind_fields("query"), kind_fields("text")
    ((False, True, False), (True, False, False), (True, True, True))
    """
    return kind != "custom", kind != "query", kind == "text"


def row_editor(key: str, row: Mapping[str, Any]) -> html.Div:
    return html.Div(
        [
            dbc.Input(
                id=ids.bd_sr("title", key), value=row.get("title", ""), size="sm", type="text", placeholder="row title"
            ),
            dbc.Checklist(
                id=ids.bd_sr("collapsed", key),
                options=[{"label": "folded", "value": "collapsed"}],
                value=["collapsed"] if row.get("collapsed") else [],
                switch=True,
                className="small text-nowrap",
            ),
            html.Button(
                "✕",
                id={"type": f"{ids.BD_SR}-remove", "key": key},
                className="btn btn-link btn-sm text-danger p-0",
                title="Remove this row (its panels stay, in no row)",
            ),
        ],
        className="d-flex align-items-center gap-2 mb-2 pb-bd-s-row",
    )


def board_settings(board: Board) -> dict[str, Any]:
    """The settings form's values for ``board``: its fields, and its variables and rows keyed for their editors."""
    doc = board_to_dict(board)
    return {
        "title": board.title,
        "description": board.description,
        "tags": ", ".join(board.tags),
        "range": board.time.range or "",
        "from": board.time.from_ or "",
        "to": board.time.to or "",
        "refresh": board.refresh,
        "variables": [(f"v{i}", v) for i, v in enumerate(doc.get("variables", []))],
        "rows": [(f"r{i}", r) for i, r in enumerate(doc.get("rows", []))],
    }


def _list(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _variable(form: Mapping[str, Any]) -> dict[str, Any]:
    kind = form.get("kind") or "custom"
    values_off, dimension_off, multi_off = kind_fields(kind)
    out: dict[str, Any] = {"name": (form.get("name") or "").strip(), "kind": kind}
    if (form.get("label") or "").strip():
        out["label"] = form["label"].strip()
    if not values_off:
        out["values"] = _list(form.get("values"))
    if not dimension_off:
        out["dimension"] = form.get("dimension") or VARIABLE_DIMENSIONS[0]
    default = (form.get("default") or "").strip()
    multi = bool(form.get("multi")) and not multi_off
    if default:
        out["default"] = ",".join(_list(default)) if multi else default
    if multi:
        out["multi"] = True
    return out


def with_settings(board: Board, form: Mapping[str, Any]) -> dict[str, Any]:
    """The board's document with the settings form's values: ``variables``
    as a list of each editor's fields, ``rows`` as ``(key, {title, collapsed})``
    in their new order (``r<i>`` the board's row ``i``, another key a new
    row). A panel of a removed row stays on the board, below the panels in no row.

    >>> from core.boards import parse_board
    >>> b = parse_board({"uid": "b", "title": "B", "rows": [{"title": "One"}, {"title": "Two"}],
    ...     "panels": [{"id": "a", "title": "A", "kind": "stat", "row": 1, "grid": {"x": 0, "y": 0, "w": 3, "h": 4}},
    ...                {"id": "c", "title": "C", "kind": "stat", "row": 0, "grid": {"x": 0, "y": 0, "w": 3, "h": 4}}]})
    >>> doc = with_settings(b, {"title": " B2 ", "tags": "ops, , eu", "range": "6h", "refresh": "1m",
    ...     "variables": [{"name": "src", "kind": "query", "dimension": "source", "multi": True, "default": "a, b"}],
    ...     "rows": [("r1", {"title": "Two", "collapsed": True})]})
    >>> doc["title"], doc["tags"], doc["time"], doc["refresh"], doc["rows"]
    ('B2', ['ops', 'eu'], {'range': '6h'}, '1m', [{'title': 'Two', 'collapsed': True}])
    >>> doc["variables"]
    [{'name': 'src', 'kind': 'query', 'dimension': 'source', 'default': 'a,b', 'multi': True}]
    >>> [(p["id"], p.get("row"), p["grid"]["y"]) for p in doc["panels"]]
    [('a', 0, 0), ('c', None, 0)]
    """
    doc = board_to_dict(board)
    doc["title"] = (form.get("title") or "").strip()
    doc["description"] = (form.get("description") or "").strip()
    doc["tags"] = _list(form.get("tags"))
    time = {k: str(form[k]).strip() for k in ("range", "from", "to") if form.get(k) and str(form[k]).strip()}
    doc["time"] = time or {"range": "24h"}
    doc["refresh"] = form.get("refresh") or "off"
    doc["variables"] = [_variable(v) for v in form.get("variables") or []]
    rows = list(form.get("rows") or [])
    doc["rows"] = [
        {"title": (r.get("title") or "").strip(), **({"collapsed": True} if r.get("collapsed") else {})}
        for _key, r in rows
    ]
    moved = {int(key[1:]): i for i, (key, _r) in enumerate(rows) if re.fullmatch(r"r\d+", key)}
    below = bottom(board)
    panels = []
    for p in doc.get("panels", []):
        if "row" in p:
            p = dict(p)
            new = moved.get(p.pop("row"))
            if new is None:  # its row was removed: the panel joins those in no row, at the bottom
                p["grid"] = {**p["grid"], "y": below + p["grid"]["y"]}
            else:
                p["row"] = new
        panels.append(p)
    doc["panels"] = panels
    return doc


PLACES = {"title": "Title", "description": "Description", "time": "Default time range", "refresh": "Refresh"}
TIME_PLACES = {"range": "Default time range", "from": "From", "to": "To"}


def plain_field(field: str, doc: Mapping[str, Any]) -> str:
    """A board path as the settings form names the field.

    >>> doc = {"variables": [{"name": "src"}, {"name": ""}]}
    >>> plain_field("variables[0].default", doc), plain_field("variables[1].name", doc)
    ('Variable 1 ("src"), default', 'Variable 2, name')
    >>> plain_field("time.range", doc), plain_field("rows[2].title", doc), plain_field("tags[0]", doc)
    ('Default time range', 'Row 3, title', 'Tag 1')
    """
    match = re.fullmatch(r"(variables|rows|tags)\[(\d+)\](?:\.(.+))?", field)
    if match:
        what, index, rest = match.group(1), int(match.group(2)), match.group(3)
        name = ""
        if what == "variables":
            listed = doc.get("variables") or []
            given = listed[index].get("name") if index < len(listed) else ""
            name = f' ("{given}")' if given else ""
        place = {"variables": "Variable", "rows": "Row", "tags": "Tag"}[what] + f" {index + 1}{name}"
        return f"{place}, {rest}" if rest else place
    if field.startswith("time."):
        return TIME_PLACES.get(field[5:], field)
    return PLACES.get(field, field)


def settings_errors(errors: Iterable[Mapping[str, Any]], doc: Mapping[str, Any]) -> html.Div:
    """Every problem of the settings at once, each naming its field."""
    return html.Div(
        [
            html.Div("Not saved: fix these fields.", className="fw-semibold mb-1"),
            html.Ul(
                [html.Li([html.Strong(plain_field(str(e["field"]), doc)), f": {e['message']}"]) for e in errors],
                className="mb-0 ps-3",
            ),
        ],
        className="alert alert-danger small py-2 px-2 mb-0 pb-bd-s-errors",
    )


# --------------------------------------------------------- delete, share


def delete_modal() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Delete this board?")),
            dbc.ModalBody(
                [
                    html.P(
                        "The board goes with its versions, stars, share links and notes. This cannot be undone.",
                        className="mb-0",
                    ),
                    html.Div(id=ids.BD_DELETE_MESSAGE, role="alert"),
                ]
            ),
            dbc.ModalFooter(
                [
                    dbc.Button("Cancel", id=ids.BD_DELETE_CANCEL, color="secondary", outline=True, size="sm"),
                    dbc.Button("Delete board", id=ids.BD_DELETE_CONFIRM, color="danger", size="sm"),
                ]
            ),
        ],
        id=ids.BD_DELETE_MODAL,
        is_open=False,
    )


def share_modal() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Share links")),
            dbc.ModalBody(
                [
                    html.P(
                        "A share link shows this board read-only to whoever opens it, without signing in, "
                        "until it is revoked.",
                        className="small text-body-secondary",
                    ),
                    dbc.Button("Create a link", id=ids.BD_SHARE_CREATE, size="sm", color="primary", className="mb-3"),
                    html.Div(id=ids.BD_SHARE_MESSAGE, role="status"),
                    html.Div(id=ids.BD_SHARE_LIST),
                ]
            ),
        ],
        id=ids.BD_SHARE_MODAL,
        is_open=False,
        size="lg",
    )


def share_list(shares: list[dict[str, Any]], base: str) -> Any:
    """The board's links, newest first: a live one's address (to copy) and Revoke; a revoked one greyed."""
    if not shares:
        return html.Div("No links yet.", className="small text-body-secondary pb-bd-share-empty")
    items = []
    for s in reversed(shares):
        url = base.rstrip("/") + s["url"]
        made = f"made {s['created_at'][:16].replace('T', ' ')} UTC" + (
            f" by {s['created_by']}" if s["created_by"] else ""
        )
        if s["revoked_at"]:
            items.append(
                html.Div(
                    [html.Code(url, className="text-body-secondary text-truncate"), html.Span(f"revoked · {made}")],
                    className="d-flex flex-wrap gap-2 small mb-2 pb-bd-share pb-bd-share-revoked",
                )
            )
            continue
        items.append(
            html.Div(
                [
                    dbc.InputGroup(
                        [
                            dbc.Input(id=ids.bd_share_url(s["token"]), value=url, readonly=True, size="sm"),
                            dbc.InputGroupText(
                                dcc.Clipboard(content=url, title="Copy the address", className="pb-bd-copy")
                            ),
                            dbc.Button(
                                "Revoke",
                                id=ids.bd_share_revoke(s["token"]),
                                color="danger",
                                outline=True,
                                size="sm",
                            ),
                        ],
                        size="sm",
                    ),
                    html.Div(made, className="small text-body-secondary"),
                ],
                className="mb-2 pb-bd-share pb-bd-share-live",
            )
        )
    return html.Div(items)


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


def with_layout(
    board: Board, layouts: Iterable[Iterable[Mapping[str, Any]]], columns: Iterable[int] | None = None
) -> dict[str, Any] | None:
    """The board's document with the grids' places (the layout of each row's
    grid at the width it is shown, with its number of ``columns``: 12 unless
    given); None when no panel moved.

    The board keeps one layout, the 12-column one; narrower widths derive
    theirs from it (on one column the panels stack in its reading order,
    full width). So a change made on a 12-column grid is saved whole, and
    one made on a narrower grid saves the heights only: the 12-column places
    stay as they were.

    >>> from core.boards import parse_board
    >>> b = parse_board({"uid": "b", "title": "B", "panels": [{"id": "a", "title": "A", "kind": "stat",
    ...     "grid": {"x": 6, "y": 0, "w": 3, "h": 4}}]})
    >>> with_layout(b, [[{"i": "bd-item-a", "x": 3, "y": 0, "w": 4, "h": 5}]])["panels"][0]["grid"]
    {'x': 3, 'y': 0, 'w': 4, 'h': 5}
    >>> with_layout(b, [[{"i": "bd-item-a", "x": 6, "y": 0, "w": 3, "h": 4}]]) is None
    True
    >>> with_layout(b, [[{"i": "bd-item-a", "x": 0, "y": 2, "w": 1, "h": 9}]], columns=[1])["panels"][0]["grid"]
    {'x': 6, 'y': 0, 'w': 3, 'h': 9}
    """
    places: dict[str, tuple[Mapping[str, Any], int]] = {}
    for layout, cols in zip(layouts, columns or itertools.repeat(GRID_COLUMNS)):
        for item in layout or []:
            places[str(item.get("i", "")).removeprefix(ids.bd_item(""))] = (item, cols)
    doc = board_to_dict(board)
    changed = False
    panels = []
    for p in doc.get("panels", []):
        found = places.get(p["id"])
        place = _place(p["grid"], *found) if found is not None else p["grid"]
        if place != p["grid"]:
            p = {**p, "grid": place}
            changed = True
        panels.append(p)
    return {**doc, "panels": panels} if changed else None


def _place(grid: Mapping[str, int], item: Mapping[str, Any], columns: int) -> dict[str, int]:
    """A panel's place after a change on a grid of ``columns``: whole on 12, the height alone on fewer."""
    h = max(1, min(40, int(item["h"])))
    if columns < GRID_COLUMNS:
        return {**grid, "h": h}
    w = max(1, min(GRID_COLUMNS, int(item["w"])))
    x = max(0, min(GRID_COLUMNS - w, int(item["x"])))
    return {"x": x, "y": max(0, int(item["y"])), "w": w, "h": h}


def grid_columns(
    breakpoint: Mapping[str, Any] | None, layout: Iterable[Mapping[str, Any]], wide: Mapping[str, int]
) -> int:
    """How many columns the grid had when ``layout`` was made: what its
    breakpoint says (``newCols``, else the columns of ``newBreakpoint`` in
    ``wide``), and 12 whatever it says once a panel sits off the first column
    or spans more than one (a one-column grid has neither).

    >>> grid_columns({"newBreakpoint": "xs", "newCols": 1}, [{"x": 0, "w": 1}], {"xs": 1})
    1
    >>> grid_columns({"newBreakpoint": "sm"}, [{"x": 0, "w": 6}], {"sm": 1})
    12
    >>> grid_columns(None, [{"x": 0, "w": 1}], {})
    12
    """
    items = list(layout or [])
    if any(int(i.get("x", 0)) > 0 or int(i.get("w", 1)) > 1 for i in items):
        return GRID_COLUMNS
    data = breakpoint or {}
    cols = data.get("newCols") or wide.get(str(data.get("newBreakpoint")), GRID_COLUMNS)
    return int(cols)


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
