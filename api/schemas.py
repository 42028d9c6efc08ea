"""Every body the API accepts, as pydantic models, and the one function that
turns a validation failure into field-named errors.

Limits here are the product's contract: strings have sane lengths, numbers are
finite, timestamps lie between 1970 and one day ahead, ``attrs`` is a small
shallow object.
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
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]*$"


def _utc(value: datetime) -> datetime:
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    if value < MIN_TS:
        raise ValueError("timestamp before 1970-01-01")
    if value > datetime.now(timezone.utc) + FUTURE_SLACK:
        raise ValueError("timestamp more than one day in the future")
    return value


def _depth(value: Any, level: int = 1) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level - 1


def _attrs(value: dict[str, Any]) -> dict[str, Any]:
    if _depth(value) > MAX_ATTRS_DEPTH:
        raise ValueError(f"nested deeper than {MAX_ATTRS_DEPTH} levels")
    if len(orjson.dumps(value)) > MAX_ATTRS_BYTES:
        raise ValueError(f"larger than {MAX_ATTRS_BYTES} bytes as JSON")
    return value


UTC = Annotated[datetime, AfterValidator(_utc)]
Attrs = Annotated[dict[str, Any], AfterValidator(_attrs)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Label = Annotated[str, Field(max_length=200)]
Ident = Annotated[str, Field(min_length=1, max_length=100, pattern=ID_PATTERN)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class EventIn(Strict):
    ts: UTC | None = None
    source: Name = "default"
    type: Name
    entity: Label | None = None
    user: Label | None = None
    session_id: Label | None = None
    execution_id: Label | None = None
    status: Annotated[str, Field(max_length=50)] | None = None
    value: Finite | None = None
    duration_ms: NonNegative | None = None
    message: Annotated[str, Field(max_length=MAX_MESSAGE)] | None = None
    attrs: Attrs | None = None
    uid: Annotated[str, Field(min_length=1, max_length=100)] | None = None


EventList = TypeAdapter(list[EventIn])


class SessionStartIn(BaseModel):
    """``POST /api/sessions`` and the macro document's ``POST /session/start``:
    fields other than these (e.g. ``canvas_mode``) are kept in ``attrs``."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False, populate_by_name=True)
    session_id: Ident | None = Field(None, alias="id")
    user: Label | None = Field(None, alias="username")
    source: Name = "default"
    started_at: UTC | None = Field(None, alias="ts")
    attrs: Attrs | None = None

    def extra_attrs(self) -> dict[str, Any] | None:
        merged = dict(self.model_extra or {}) | dict(self.attrs or {})
        return _attrs(merged) if merged else None


class SessionEndIn(Strict):
    session_id: Ident | None = None
    ended_at: UTC | None = Field(None, alias="ts")


class ExecutionIn(Strict):
    id: Ident | None = None
    script: Annotated[str, Field(min_length=1, max_length=300)]
    source: Name = "runner"
    started_at: UTC | None = None
    finished_at: UTC | None = None
    duration_ms: NonNegative | None = None
    status: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    exit_code: Annotated[int, Field(ge=-(2**31), lt=2**31)] | None = None
    attempt: Annotated[int, Field(ge=1, le=1000)] = 1
    metrics: Annotated[dict[Annotated[str, Field(min_length=1, max_length=200)], Finite], Field(max_length=200)] = {}
    attrs: Attrs | None = None


class ExecutionFinishIn(Strict):
    finished_at: UTC | None = None
    duration_ms: NonNegative | None = None
    status: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    exit_code: Annotated[int, Field(ge=-(2**31), lt=2**31)] | None = None
    metrics: Annotated[dict[Annotated[str, Field(min_length=1, max_length=200)], Finite], Field(max_length=200)] = {}
    attrs: Attrs | None = None


class ComponentIn(Strict):
    status: Annotated[str, Field(min_length=1, max_length=50)]
    detail: Annotated[str, Field(max_length=MAX_MESSAGE)] | None = None
    source: Name = "default"


class InteractionIn(BaseModel):
    """The macro document's ``POST /ingest/interaction``; unknown fields go to attrs."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    session_id: Ident
    interaction_type: Name
    button_key: Label | None = None
    execution_time_ms: NonNegative | None = None
    total_boxes: Finite | None = None
    degradation_assignments: Annotated[str, Field(max_length=2000)] | None = None
    degradation_counts: dict[Annotated[str, Field(max_length=200)], Finite] | None = None
    timestamp: UTC | None = None
    uid: Annotated[str, Field(min_length=1, max_length=100)] | None = None


COMPONENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


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
