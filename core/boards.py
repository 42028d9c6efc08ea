"""Boards: user-built dashboards made of panels, as a versioned document.

A board is validated whole by :func:`parse_board`; every problem is reported
with its path, and a panel's path carries its title, e.g.
``panels[3] ("Errors by source").query.metric: ...``. A panel's ``query``
holds Explore parameters exactly as ``GET /api/query`` takes them; its
values may name board variables as ``$name`` tokens, which
:func:`resolve_query` replaces (with the board's time range unless the
panel keeps its own). Boards travel as YAML (:func:`board_to_yaml`,
:func:`board_from_yaml`), and YAML -> board -> YAML gives the same text.

>>> board = parse_board({
...     "uid": "ops", "title": "Ops",
...     "variables": [{"name": "src", "kind": "query", "dimension": "source", "default": "api"}],
...     "panels": [{"id": "errors", "title": "Errors", "kind": "timeseries",
...                 "query": {"metric": "count", "source": "$src"}, "grid": {"x": 0, "y": 0, "w": 6, "h": 8}}],
... })
>>> resolve_query(board.panels[0], board, {"src": "worker"})
{'metric': 'count', 'source': 'worker', 'window': '24h'}
>>> parse_board({"uid": "ops", "title": "Ops", "panels": [{"id": "a", "title": "Errors", "kind": "stat",
...     "query": {"metric": "median"}, "grid": {"x": 0, "y": 0, "w": 3, "h": 4}}]})
Traceback (most recent call last):
...
core.boards.InvalidBoard: panels[0] ("Errors").query.metric: must be one of count, rate, sum, avg, min, max, p50, p90, p95, p99, success_rate, unique_users, got 'median'
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from core.durations import MAX_WINDOW
from core.errors import InvalidInput
from core.query import PARAMETERS, parse_query
from core.schemas import MAX_NUMBER, UTC, NoNul, field_errors
from core.timerange import REFRESH, parse_range

SCHEMA_VERSION = 2  # 2: variables may be multi-select or free text; a board without those is written as 1
VARIABLE_KINDS = ("custom", "query", "text")
PANEL_KINDS = (
    "timeseries",
    "stat",
    "gauge",
    "breakdown",
    "heatmap",
    "table",
    "feed",
    "health",
    "alerts",
    "executions",
)
CHARTS = ("line", "area", "bar", "pie")
CHART_KINDS = ("timeseries", "breakdown")  # the kinds that take a ``chart``
VARIABLE_DIMENSIONS = ("source", "entity", "user", "type", "status")
#: The parameters a panel's query may hold: those of ``GET /api/query`` (``from``/``to`` read as ``since``/``until``).
QUERY_KEYS = (*PARAMETERS[:3], "from", "to", *PARAMETERS[3:])
#: Kinds that show one number per group over the whole range: their query has ``bucket=none`` unless it says otherwise.
WHOLE_RANGE_KINDS = ("stat", "gauge", "breakdown", "table")
TIME_QUERY_KEYS = ("window", "since", "until", "from", "to")
GRID_COLUMNS = 12
MAX_PANELS = 100
MAX_DOCUMENT_BYTES = 1024 * 1024  # a board of 100 panels is some 30 KB
UID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
VARIABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
PANEL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
TOKEN = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_SAMPLE = "sample"  # a stand-in value of a variable with no default, to validate the query it is used in


class InvalidBoard(InvalidInput):
    """A board document failed validation: ``str(exc)`` is the first problem
    as ``path: why`` (with how many more), ``errors`` lists them all."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        text = f"{first['field']}: {first['message']}{more}"
        Exception.__init__(self, text)
        self.message = text
        self.errors = errors
        self.field = first["field"]


def _scalar_text(value: Any) -> Any:
    """YAML reads ``top: 5`` and ``id: 1`` as numbers; they are kept as the text they stand for."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _query_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scalar_text(v) for k, v in value.items()}
    return value


Text = Annotated[str, Field(max_length=200)]
LongText = Annotated[str, Field(max_length=5000)]
Tag = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[^\x00-\x1f,]+$")]
QueryValue = Annotated[str, Field(max_length=1000)]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, validate_by_alias=True)


class TimeSpec(_Doc):
    """The board's time range: a relative ``range`` ("24h") or absolute ``from``/``to`` (ISO 8601)."""

    range: Annotated[str, Field(max_length=20)] | None = None
    from_: Annotated[str, Field(max_length=40)] | None = Field(default=None, alias="from")
    to: Annotated[str, Field(max_length=40)] | None = None


class Variable(_Doc):
    """A board variable, referred to as ``$name`` in panel queries.

    ``custom``: one of ``values``; ``query``: a value of ``dimension`` seen in
    the events (the UI lists them); ``text``: whatever the reader types. An
    empty value means "all": the parameter it fills is left out.

    ``multi`` (schema 2, custom and query variables): several values at once,
    written as a comma list (``default: api,worker``, ``var-src=api,worker``
    in the URL); a filter given that list matches any of them."""

    name: Annotated[str, Field(min_length=1, max_length=50, pattern=VARIABLE_PATTERN)]
    label: Text = ""
    kind: Literal["custom", "query", "text"] = "custom"
    values: Annotated[list[Annotated[str, Field(max_length=300)]], Field(max_length=500)] = []
    dimension: Literal["source", "entity", "user", "type", "status"] | None = None
    default: Annotated[str, Field(max_length=1000)] | None = None
    multi: bool = False

    def chosen(self, value: str | None) -> list[str]:
        """The values ``value`` (None: the default) stands for: a multi
        variable's comma list split, else the one value; [] for "all".

        >>> Variable(name="s", kind="query", dimension="source", multi=True).chosen("api, worker")
        ['api', 'worker']
        >>> Variable(name="m", values=["count", "sum"]).chosen(None)
        ['count']
        """
        text = value if value is not None else self.default or (self.values[0] if self.values else "")
        if not self.multi:
            return [text] if text else []
        return [part.strip() for part in text.split(",") if part.strip()]


class Row(_Doc):
    title: Text
    collapsed: bool = False


class Threshold(_Doc):
    value: Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER, allow_inf_nan=False)]
    color: Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[#A-Za-z0-9(),.% ]+$")]


class Grid(_Doc):
    """Place on the 12-column grid: column ``x`` (0-11), row ``y``, width ``w`` (1-12), height ``h`` (1-40)."""

    x: Annotated[int, Field(ge=0, le=GRID_COLUMNS - 1)]
    y: Annotated[int, Field(ge=0, le=10_000)]
    w: Annotated[int, Field(ge=1, le=GRID_COLUMNS)]
    h: Annotated[int, Field(ge=1, le=40)]


class Panel(_Doc):
    id: Annotated[str, BeforeValidator(_scalar_text), Field(min_length=1, max_length=64, pattern=PANEL_ID_PATTERN)]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: LongText = ""
    kind: Literal[
        "timeseries", "stat", "gauge", "breakdown", "heatmap", "table", "feed", "health", "alerts", "executions"
    ]
    query: Annotated[dict[str, QueryValue], BeforeValidator(_query_text), Field(max_length=40)] = {}
    chart: Literal["line", "area", "bar", "pie"] | None = None
    stacked: bool = False
    baseline: bool = False
    anomalies: bool = False
    forecast: bool = False
    unit: Annotated[str, Field(max_length=30)] | None = None
    thresholds: Annotated[list[Threshold], Field(max_length=20)] = []
    link: Annotated[str, Field(max_length=2000)] | None = None
    row: Annotated[int, Field(ge=0)] | None = None
    grid: Grid


class Board(_Doc):
    schema_: Literal[1, 2] = Field(default=1, alias="schema")
    uid: Annotated[str, Field(min_length=1, max_length=100, pattern=UID_PATTERN)]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: LongText = ""
    tags: Annotated[list[Tag], Field(max_length=20)] = []
    time: TimeSpec = TimeSpec(range="24h")
    refresh: Literal["off", "5s", "10s", "30s", "1m", "5m"] = "off"
    variables: Annotated[list[Variable], Field(max_length=50)] = []
    rows: Annotated[list[Row], Field(max_length=50)] = []
    panels: Annotated[list[Panel], Field(max_length=MAX_PANELS)] = []

    def panel(self, panel_id: str) -> Panel | None:
        """The panel with this id, if any."""
        return next((p for p in self.panels if p.id == panel_id), None)

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)

    @property
    def schema_needed(self) -> int:
        """The schema version the board's document needs: 2 once a variable is multi-select or free text."""
        return 2 if any(v.multi or v.kind == "text" for v in self.variables) else 1


assert tuple(REFRESH) == ("off", "5s", "10s", "30s", "1m", "5m")  # the choices of Board.refresh


class AnnotationIn(_Doc):
    """A note on a moment (``ts``) or a span (``ts`` to ``ts_end``) of a board's time series."""

    ts: UTC
    ts_end: UTC | None = None
    text: Annotated[str, Field(min_length=1, max_length=5000), NoNul]
    tags: Annotated[list[Tag], Field(max_length=20)] = []
    all_boards: bool = False  # shown on every board, not only the one it was made on


def parse_annotation(data: Any) -> AnnotationIn:
    """An annotation from a request body; an :class:`InvalidBoard` naming the field.

    >>> parse_annotation({"ts": "2026-12-01T10:00:00Z", "ts_end": "2026-12-01T09:00:00Z", "text": "deploy"})
    Traceback (most recent call last):
    ...
    core.boards.InvalidBoard: ts_end: must not be before ts
    """
    if not isinstance(data, dict):
        raise InvalidBoard([{"field": "(body)", "message": "an annotation is an object with ts, text, tags"}])
    try:
        note = AnnotationIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidBoard(field_errors(exc)) from None
    if note.ts_end is not None and note.ts_end < note.ts:
        raise InvalidBoard([{"field": "ts_end", "message": "must not be before ts"}])
    return note


# ------------------------------------------------------------------ parsing


def parse_board(data: Any, *, now: datetime | None = None) -> Board:
    """The board ``data`` describes, or an :class:`InvalidBoard` (an
    ``InvalidInput``) listing every problem by path; a panel's path names
    its title. ``now`` anchors the check of absolute query ranges."""
    if not isinstance(data, dict):
        raise InvalidBoard([{"field": "(board)", "message": "a board is a mapping of fields (uid, title, panels...)"}])
    try:
        board = Board.model_validate(data)
    except ValidationError as exc:
        raise InvalidBoard([_named(data, e) for e in field_errors(exc)] + _sections_checked(data)) from None
    errors = _check(board, now or datetime.now(timezone.utc))
    if errors:
        raise InvalidBoard(errors)
    return board


def _sections_checked(data: dict[str, Any]) -> list[dict[str, Any]]:
    """When some field has the wrong type, the checks of the time range and
    of each variable that has the right types still run: every problem of a
    form is named at once, not the next one after each fix.

    >>> [e["field"] for e in _sections_checked({"time": {"range": "soon"}, "variables": [{"name": "x"}, 5]})]
    ['time.range', 'variables[0].values']
    """
    errors: list[dict[str, Any]] = []
    with contextlib.suppress(ValidationError):
        errors += _check_time(TimeSpec.model_validate(data.get("time", {"range": "24h"})))
    listed = data.get("variables")
    valid: list[tuple[int, Variable]] = []
    for i, item in enumerate(listed if isinstance(listed, list) else []):
        with contextlib.suppress(ValidationError):
            valid.append((i, Variable.model_validate(item)))
    return errors + _check_variables(valid)


def _panel_path(index: int, title: Any) -> str:
    return f'panels[{index}] ("{title}")' if isinstance(title, str) and title else f"panels[{index}]"


def _named(data: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
    """A pydantic error's dotted path as a board path: ``panels.3.query.metric`` ->
    ``panels[3] ("Errors by source").query.metric``, ``variables.0.name`` -> ``variables[0].name``."""
    parts = error["field"].split(".")
    out: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if (
            i + 1 < len(parts)
            and parts[i + 1].isdigit()
            and part in ("panels", "variables", "rows", "tags", "thresholds")
        ):
            index = int(parts[i + 1])
            if part == "panels" and i == 0:
                panels = data.get("panels")
                panel = panels[index] if isinstance(panels, list) and index < len(panels) else None
                out.append(_panel_path(index, panel.get("title") if isinstance(panel, dict) else None))
            else:
                out.append(f"{part}[{index}]")
            i += 2
        else:
            out.append(part)
            i += 1
    return {"field": ".".join(out), "message": error["message"]}


def _check(board: Board, now: datetime) -> list[dict[str, Any]]:
    """What the field types alone cannot say: unique ids and names, the
    time range, kinds' options, grid bounds, variable references, and each
    panel's query as ``GET /api/query`` would read it."""
    errors = _check_time(board.time) + _check_variables(list(enumerate(board.variables)))

    def err(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    seen_ids: set[str] = set()
    for i, panel in enumerate(board.panels):
        where = _panel_path(i, panel.title)
        if panel.id in seen_ids:
            err(f"{where}.id", f"another panel has the id {panel.id!r}")
        seen_ids.add(panel.id)
        if panel.chart is not None and panel.kind not in CHART_KINDS:
            err(f"{where}.chart", f"only {' and '.join(CHART_KINDS)} panels take a chart, this one is {panel.kind}")
        elif panel.chart == "pie" and panel.kind != "breakdown":
            err(f"{where}.chart", "pie is a breakdown chart")
        if panel.grid.x + panel.grid.w > GRID_COLUMNS:
            err(f"{where}.grid.w", f"x + w must be at most {GRID_COLUMNS}, got {panel.grid.x} + {panel.grid.w}")
        if panel.row is not None and panel.row >= len(board.rows):
            err(f"{where}.row", f"no such row: the board has {len(board.rows)}")
        if panel.link is not None and not _safe_link(panel.link):
            err(f"{where}.link", "a path starting with / or an http(s):// URL")
        errors.extend(_query_errors(panel, board, where, now))
    return errors


def _check_time(time: TimeSpec) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []

    def err(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    if time.range is not None and (time.from_ is not None or time.to is not None):
        err("time", "give either 'range' or 'from' and 'to', not both")
    else:
        try:
            _time_range(time)
        except InvalidInput as exc:
            err(f"time.{exc.field}", exc.errors[0]["message"])

    return errors


def _check_variables(variables: list[tuple[int, Variable]]) -> list[dict[str, Any]]:
    """The variables' own checks, each named by its index in the board."""
    errors: list[dict[str, Any]] = []

    def err(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    seen_names: set[str] = set()
    for i, var in variables:
        where = f"variables[{i}]"
        if var.name in seen_names:
            err(f"{where}.name", f"another variable is named {var.name!r}")
        seen_names.add(var.name)
        if var.kind == "custom":
            if not var.values:
                err(f"{where}.values", "a custom variable lists its values")
            if var.dimension is not None:
                err(f"{where}.dimension", "only a query variable has a dimension")
            wrong = [d for d in var.chosen(var.default or "") if d not in var.values]
            if wrong:
                err(f"{where}.default", f"must be one of its values, got {', '.join(map(repr, wrong))}")
            if var.multi and any("," in v for v in var.values):
                err(f"{where}.values", "a multi-select variable's values hold no comma (a comma separates values)")
        elif var.kind == "text":
            if var.values:
                err(f"{where}.values", "only a custom variable lists values")
            if var.dimension is not None:
                err(f"{where}.dimension", "only a query variable has a dimension")
            if var.multi:
                err(f"{where}.multi", "a text variable takes what is typed; only custom and query variables are multi")
        else:
            if var.dimension is None:
                err(
                    f"{where}.dimension", f"a query variable names a dimension: one of {', '.join(VARIABLE_DIMENSIONS)}"
                )
            if var.values:
                err(f"{where}.values", "only a custom variable lists values")

    return errors


def _safe_link(link: str) -> bool:
    """A link the pages may put in an ``href``: a local path or a web URL (never ``javascript:``)."""
    return (link.startswith("/") and not link.startswith("//")) or re.match(r"^https?://[^\s/]", link) is not None


def _query_errors(panel: Panel, board: Board, where: str, now: datetime) -> list[dict[str, Any]]:
    errors = []
    for key, value in panel.query.items():
        if key not in QUERY_KEYS:
            errors.append(
                {"field": f"{where}.query.{key}", "message": f"not a query parameter; one of {', '.join(QUERY_KEYS)}"}
            )
        for name in TOKEN.findall(value):
            if board.variable(name) is None:
                known = ", ".join(f"${v.name}" for v in board.variables) or "none"
                errors.append(
                    {"field": f"{where}.query.{key}", "message": f"no variable named ${name} (variables: {known})"}
                )
    if errors:
        return errors
    if any(k in panel.query for k in ("from", "to")) and any(k in panel.query for k in ("since", "until", "window")):
        return [{"field": f"{where}.query.from", "message": "give from/to or window/since/until, not both"}]
    samples = {v.name: _sample(v) for v in board.variables}
    try:
        params = resolve_query(panel, board, samples)
        parse_query(params, now=now, longest=MAX_WINDOW)
    except InvalidInput as exc:
        field = exc.field
        if field in ("window", "since", "until"):
            if not any(k in panel.query for k in TIME_QUERY_KEYS):
                return []  # the board's own range: checked as ``time``
            if field not in panel.query:
                field = {"since": "from", "until": "to"}.get(field, field)
        return [{"field": f"{where}.query.{field}", "message": exc.errors[0]["message"] if exc.errors else str(exc)}]
    return []


def _sample(var: Variable) -> str:
    """A value of ``var`` to check the queries it is used in: its default
    (its own check names a bad one), else its first value, else a stand-in."""
    picked = [v for v in var.chosen(None) if var.kind != "custom" or v in var.values]
    return ",".join(picked) or (var.values[0] if var.values else _SAMPLE)


def _time_range(time: TimeSpec) -> None:
    """Check the board's range as the pages read it (``range`` or ``from``/``to``)."""
    query = {k: v for k, v in (("range", time.range), ("from", time.from_), ("to", time.to)) if v is not None}
    parse_range(query, default="24h", longest=MAX_WINDOW)


# ---------------------------------------------------------------- resolving


def resolve_query(
    panel: Panel, board: Board, values: Mapping[str, str], *, time: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The panel's query as ``GET /api/query`` parameters: ``$name`` tokens
    replaced by ``values[name]`` (else the variable's default, else its first
    value, else empty), parameters left empty dropped (an empty variable
    means "all"), ``from``/``to`` read as ``since``/``until``, and the time
    range of the board (or ``time``, the page's ``range`` or ``from``/``to``)
    added unless the panel keeps its own. A stat, gauge, breakdown or table
    panel that names no ``bucket`` gets ``bucket=none``: one row per group
    over the whole range.

    A multi-select variable's values fill its token as a comma list, which
    a filter reads as "any of these" (``source=api,worker``). A value given
    for a custom variable must be one of its values (each of them, for a
    multi one): an ``InvalidInput`` naming ``var.<name>`` otherwise.

    >>> board = Board(uid="b", title="B", time=TimeSpec(**{"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"}),
    ...               variables=[Variable(name="m", values=["count", "sum"])],
    ...               panels=[Panel(id="p", title="P", kind="stat", query={"metric": "$m"}, grid=Grid(x=0, y=0, w=3, h=3))])
    >>> resolve_query(board.panels[0], board, {})
    {'metric': 'count', 'bucket': 'none', 'since': '2026-12-01T00:00:00Z', 'until': '2026-12-02T00:00:00Z'}
    >>> resolve_query(board.panels[0], board, {"m": "sum"}, time={"range": "1h"})
    {'metric': 'sum', 'bucket': 'none', 'window': '1h'}
    """
    chosen: dict[str, str] = {}
    for var in board.variables:
        given = values.get(var.name)
        if given is not None and len(given) > 1000:
            raise InvalidInput(f"var.{var.name}", "value too long")
        picked = var.chosen(given)
        wrong = [v for v in picked if v not in var.values] if var.kind == "custom" else []
        if wrong:
            raise InvalidInput(f"var.{var.name}", f"must be one of {', '.join(var.values)}, got {wrong[0]!r}")
        chosen[var.name] = ",".join(picked) if var.multi else (given if given is not None else "".join(picked))

    out: dict[str, str] = {}
    for key, value in panel.query.items():
        text = TOKEN.sub(lambda m: chosen.get(m.group(1), m.group(0)), value).strip()
        if text:
            out[{"from": "since", "to": "until"}.get(key, key)] = text
    if "bucket" not in out and panel.kind in WHOLE_RANGE_KINDS:
        out["bucket"] = "none"
    if not any(k in out for k in ("window", "since", "until")):  # a time variable left empty counts as none
        out |= _time_params(board.time if time is None else _page_time(time))
    return out


def _page_time(time: Mapping[str, str]) -> TimeSpec:
    spec = TimeSpec(range=time.get("range") or None, to=time.get("to") or None, **{"from": time.get("from") or None})
    if spec.range is not None and (spec.from_ or spec.to):
        raise InvalidInput("range", "give either 'range' or 'from' and 'to', not both")
    _time_range(spec)
    return spec


def _time_params(time: TimeSpec) -> dict[str, str]:
    if time.from_ is not None and time.to is not None:
        return {"since": time.from_, "until": time.to}
    return {"window": time.range or "24h"}


def time_bounds(board: Board, now: datetime) -> tuple[datetime, datetime]:
    """The interval the board's time range covers at ``now``."""
    spec = board.time
    query = {k: v for k, v in (("range", spec.range), ("from", spec.from_), ("to", spec.to)) if v is not None}
    return parse_range(query, default="24h", longest=MAX_WINDOW).bounds(now)


# --------------------------------------------------------------------- YAML


def board_to_dict(board: Board) -> dict[str, Any]:
    """The board as plain data, fields at their defaults left out (``schema``
    always first: the version the document says, raised to what it uses, so
    that a schema 1 document is written back as it was).

    >>> board_to_dict(Board(uid="b", title="B"))
    {'schema': 1, 'uid': 'b', 'title': 'B'}
    >>> board_to_dict(Board(uid="b", title="B", variables=[Variable(name="q", kind="text")]))["schema"]
    2
    """
    body = board.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    body.pop("schema", None)
    return {"schema": max(board.schema_, board.schema_needed), **body}


def board_to_yaml(board: Board) -> str:
    """The board as YAML, in field order; ``board_from_yaml`` reads it back to the same board.

    >>> print(board_to_yaml(Board(uid="b", title="B", tags=["ops"])), end="")
    schema: 1
    uid: b
    title: B
    tags:
    - ops
    """
    return yaml.safe_dump(board_to_dict(board), sort_keys=False, allow_unicode=True, width=120)


def load_yaml(text: str) -> Any:
    r"""A YAML document as plain data, read as ``safe_load`` reads it (with
    libyaml when it is there); an :class:`InvalidBoard` naming ``(yaml)``
    for text that does not parse, for more than one document, and for
    aliases (``*name``): each one could repeat a large part of the document.

    >>> load_yaml("uid: ops\ntags: [a, b]\n")
    {'uid': 'ops', 'tags': ['a', 'b']}
    >>> load_yaml("a: &x [1]\nb: *x\n")
    Traceback (most recent call last):
    ...
    core.boards.InvalidBoard: (yaml): aliases (*name) are not accepted in a board, at line 2
    """
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, yaml.AliasEvent):
                line = f", at line {event.start_mark.line + 1}" if event.start_mark is not None else ""
                raise InvalidBoard(
                    [{"field": "(yaml)", "message": f"aliases (*name) are not accepted in a board{line}"}]
                )
        return yaml.load(text, Loader=_LOADER)  # a safe loader: plain data only
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidBoard([{"field": "(yaml)", "message": f"not valid YAML{where}: {problem}"}]) from None


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def board_from_yaml(text: str, *, now: datetime | None = None) -> Board:
    """The board a YAML document describes (see :func:`load_yaml`); an
    :class:`InvalidBoard` for YAML that does not parse or a board that does not validate."""
    return parse_board(load_yaml(text), now=now)


def with_identity(board: Board, *, uid: str, title: str) -> Board:
    """A copy of ``board`` under another uid and title (a duplicate)."""
    return parse_board({**board_to_dict(board), "uid": uid, "title": title})
