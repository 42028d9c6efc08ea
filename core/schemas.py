"""Every body the API accepts, as pydantic models, and the one function that
turns a validation failure into field-named errors.

Limits here are the product's contract: strings have sane lengths and no NUL
(``attrs`` keys and values included), numbers are finite and at most
``MAX_NUMBER`` in size (so sums of many stay finite), timestamps lie between
1970 and one day ahead, ``attrs`` is a small shallow object.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

MAX_ATTRS_BYTES = 16 * 1024
MAX_ATTRS_DEPTH = 5
MAX_MESSAGE = 10_000
MIN_TS = datetime(1970, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=1)
MAX_RUN_MS = 366 * 86_400_000.0  # a run's duration becomes a timedelta: keep it in range
MAX_NUMBER = 1e15  # |value|, durations, metrics: a sum of a billion such numbers is still finite
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$"


def _utc(value: datetime) -> datetime:
    try:
        value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    except OverflowError:  # e.g. year 1 at +05:00 is before datetime.min in UTC
        raise ValueError("timestamp out of range") from None
    if value < MIN_TS:
        raise ValueError("timestamp before 1970-01-01")
    if value > datetime.now(timezone.utc) + FUTURE_SLACK:
        raise ValueError("timestamp more than one day in the future")
    return value


def _deeper_than(value: Any, levels: int) -> bool:
    """Whether ``value`` nests containers more than ``levels`` deep; it stops
    descending at the limit, so a 1,000-level body cannot exhaust the stack."""
    if not isinstance(value, (dict, list)):
        return False
    if levels == 0:
        return True
    items = value.values() if isinstance(value, dict) else value
    return any(_deeper_than(v, levels - 1) for v in items)


def _has_nul(value: Any, levels: int = MAX_ATTRS_DEPTH + 1) -> bool:
    """Whether a NUL is in any key or string of ``value`` (at most ``levels`` deep)."""
    if isinstance(value, str):
        return "\x00" in value
    if levels < 0:
        return False
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v, levels - 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v, levels - 1) for v in value)
    return False


def _attrs(value: dict[str, Any]) -> dict[str, Any]:
    if _deeper_than(value, MAX_ATTRS_DEPTH):
        raise ValueError(f"nested deeper than {MAX_ATTRS_DEPTH} levels")
    if _has_nul(value):
        raise ValueError("keys and values must not contain NUL characters")
    if len(orjson.dumps(value)) > MAX_ATTRS_BYTES:
        raise ValueError(f"larger than {MAX_ATTRS_BYTES} bytes as JSON")
    return value


def _no_nul(value: str) -> str:
    # PostgreSQL text columns cannot hold NUL; refuse it on both databases alike.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


UTC = Annotated[datetime, AfterValidator(_utc)]
Attrs = Annotated[dict[str, Any], AfterValidator(_attrs)]
NoNul = AfterValidator(_no_nul)
# String limits match the columns they land in (events.session_id is 100 wide, entity 200).
# The bare limits (checked by pydantic-core alone) serve quick_events; NoNul is a Python check.
_Name = Annotated[str, Field(min_length=1, max_length=100)]
_Label = Annotated[str, Field(max_length=200)]
_Key = Annotated[str, Field(max_length=100)]
_Uid = Annotated[str, Field(min_length=1, max_length=100)]
_Status = Annotated[str, Field(max_length=50)]
_Message = Annotated[str, Field(max_length=MAX_MESSAGE)]
Name = Annotated[_Name, NoNul]
Label = Annotated[_Label, NoNul]
Key = Annotated[_Key, NoNul]
Uid = Annotated[_Uid, NoNul]
Status = Annotated[_Status, NoNul]
RunStatus = Annotated[str, Field(min_length=1, max_length=50), NoNul]
Message = Annotated[_Message, NoNul]
Ident = Annotated[str, Field(min_length=1, max_length=100, pattern=ID_PATTERN)]
Finite = Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, le=MAX_NUMBER, allow_inf_nan=False)]
RunDuration = Annotated[float, Field(ge=0, le=MAX_RUN_MS, allow_inf_nan=False)]
ExitCode = Annotated[int, Field(ge=-(2**31), lt=2**31)]
Metrics = Annotated[dict[Annotated[str, Field(min_length=1, max_length=200), NoNul], Finite], Field(max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class EventIn(Strict):
    ts: UTC | None = None
    source: Name = "default"
    type: Name
    entity: Label | None = None
    user: Label | None = None
    session_id: Key | None = None
    execution_id: Key | None = None
    status: Status | None = None
    value: Finite | None = None
    duration_ms: NonNegative | None = None
    message: Message | None = None
    attrs: Attrs | None = None
    uid: Uid | None = None


EventList = TypeAdapter(list[EventIn])

# attrs as most clients send them: flat, scalar values the way orjson reads them
# (integers beyond 64 bits become floats there, so they are floats here).
_AttrScalar = (
    str | Annotated[int, Field(ge=-(2**63), lt=2**64)] | Annotated[float, Field(allow_inf_nan=False)] | bool | None
)


class _QuickEventIn(Strict):
    """EventIn with only the checks pydantic-core makes itself; :func:`quick_events` makes the rest."""

    ts: datetime | None = None
    source: _Name = "default"
    type: _Name
    entity: _Label | None = None
    user: _Label | None = None
    session_id: _Key | None = None
    execution_id: _Key | None = None
    status: _Status | None = None
    value: Finite | None = None
    duration_ms: NonNegative | None = None
    message: _Message | None = None
    attrs: dict[str, _AttrScalar] | None = None
    uid: _Uid | None = None


_QUICK_ONE = TypeAdapter(_QuickEventIn)
_QUICK_LIST = TypeAdapter(list[_QuickEventIn])
_CAREFUL = (b"\\u0000", b"NaN", b"Infinity")  # a NUL in some string; what JSON has no number for


def quick_events(raw: bytes, now: datetime) -> list[dict[str, Any]] | None:
    """The events of a JSON body (one event or a list of them) as the rows
    ``data.ingest`` takes, every field present, ``ts`` in UTC (``now`` when
    not given), validated from the bytes in one pydantic-core pass; or None
    when the body needs the careful path (``orjson`` then :data:`EventList`).

    It accepts only what that path accepts, with the same values: a body with
    anything it does not check itself (a NUL escape, ``NaN``, nested ``attrs``,
    the ``{"events": [...]}`` form) or anything invalid gets None, so that
    the careful path answers it, with its field-named errors.

    >>> rows = quick_events(b'[{"type": "t", "ts": 0, "attrs": {"a": 1}}]', datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> rows[0]["ts"], rows[0]["source"], rows[0]["attrs"], rows[0]["uid"]
    (datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.timezone.utc), 'default', {'a': 1}, None)
    >>> quick_events(b'{"type": "t", "attrs": {"a": {"b": 1}}}', datetime(2026, 1, 1, tzinfo=timezone.utc)) is None
    True
    """
    if any(token in raw for token in _CAREFUL):
        return None
    start = raw.lstrip()[:1]
    try:
        if start == b"[":
            models = _QUICK_LIST.validate_json(raw)
        elif start == b"{":
            models = [_QUICK_ONE.validate_json(raw)]
        else:
            return None
    except ValidationError:
        return None
    latest = datetime.now(timezone.utc) + FUTURE_SLACK
    utc = timezone.utc
    rows = []
    for model in models:
        row = model.__dict__  # the validated fields, in declaration order (the model is dropped)
        ts = row["ts"]
        if ts is None:
            row["ts"] = now
        else:
            try:
                ts = ts.replace(tzinfo=utc) if ts.tzinfo is None else ts.astimezone(utc)
            except OverflowError:
                return None
            if ts < MIN_TS or ts > latest:
                return None
            row["ts"] = ts
        attrs = row["attrs"]
        if attrs is not None and len(orjson.dumps(attrs)) > MAX_ATTRS_BYTES:
            return None
        rows.append(row)
    return rows


class SessionStartIn(BaseModel):
    """``POST /api/sessions`` and the macro-sessions tool's ``POST /session/start``:
    fields other than these (e.g. ``canvas_mode``) are kept in ``attrs``."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False, populate_by_name=True)
    session_id: Ident | None = Field(None, alias="id")
    user: Label | None = Field(None, alias="username")
    source: Name = "default"
    started_at: UTC | None = Field(None, alias="ts")
    attrs: Attrs | None = None

    def extra_attrs(self) -> dict[str, Any] | None:
        """``attrs`` with the unknown fields; raises ValueError past the attrs limits."""
        merged = dict(self.model_extra or {}) | dict(self.attrs or {})
        return _attrs(merged) if merged else None


class SessionEndIn(Strict):
    session_id: Ident | None = None
    ended_at: UTC | None = Field(None, alias="ts")


class ExecutionIn(Strict):
    id: Ident | None = None
    # The script is also the entity of the run's events (200 wide).
    script: Annotated[str, Field(min_length=1, max_length=200), NoNul]
    source: Name = "runner"
    started_at: UTC | None = None
    finished_at: UTC | None = None
    duration_ms: RunDuration | None = None
    status: RunStatus | None = None
    exit_code: ExitCode | None = None
    attempt: Annotated[int, Field(ge=1, le=1000)] = 1
    metrics: Metrics = {}
    attrs: Attrs | None = None


class ExecutionFinishIn(Strict):
    finished_at: UTC | None = None
    duration_ms: RunDuration | None = None
    status: RunStatus | None = None
    exit_code: ExitCode | None = None
    metrics: Metrics = {}
    attrs: Attrs | None = None


class ComponentIn(Strict):
    status: RunStatus
    detail: Message | None = None
    source: Name = "default"
    ttl_seconds: Annotated[float, Field(gt=0, le=30 * 86400)] | None = None


class InteractionIn(BaseModel):
    """The macro-sessions tool's ``POST /ingest/interaction``; unknown fields go to attrs."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    session_id: Ident
    interaction_type: Name
    button_key: Label | None = None
    execution_time_ms: NonNegative | None = None
    total_boxes: Finite | None = None
    degradation_assignments: Annotated[str, Field(max_length=2000), NoNul] | None = None
    degradation_counts: dict[Annotated[str, Field(max_length=200), NoNul], Finite] | None = None
    timestamp: UTC | None = None
    uid: Uid | None = None

    def extra_attrs(self) -> dict[str, Any] | None:
        """Unknown fields and the degradation fields, as the event's ``attrs``;
        raises ValueError past the attrs limits."""
        merged = dict(self.model_extra or {})
        if self.degradation_assignments is not None:
            merged["degradation_assignments"] = self.degradation_assignments
        if self.degradation_counts is not None:
            merged["degradation_counts"] = self.degradation_counts
        return _attrs(merged) if merged else None


COMPONENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}\Z")  # \Z: "$" would let a trailing newline in


def field_errors(exc: ValidationError, *, batch: bool = False) -> list[dict[str, Any]]:
    """``[{"index": 3, "field": "ts", "message": "..."}]`` from a ValidationError."""
    errors = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = list(err["loc"])
        index = loc.pop(0) if batch and loc and isinstance(loc[0], int) else None
        # Drop pydantic's union/type tags (e.g. "datetime") from the path.
        path = ".".join(str(p) for p in loc if not (isinstance(p, str) and p.startswith(("function-", "datetime"))))
        message = err["msg"].removeprefix("Value error, ")
        item: dict[str, Any] = {"field": path or "(body)", "message": message}
        if batch:
            item = {"index": index} | item
        errors.append(item)
    return errors
