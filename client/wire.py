"""What goes on the wire: queue items, their JSON encoding, ids and timestamps."""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from .spooldb import Request

EVENTS_PATH = "/api/events"
ENCODE_ERRORS = (ValueError, TypeError, RecursionError)


@dataclasses.dataclass(slots=True)
class Op:
    """A write other than an event (session, execution, component), kept in line with the events."""

    method: str
    path: str
    body: dict[str, Any]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id(prefix: str) -> str:
    """``exe_20261122_075623_3f2a9c1b0d4e``: sortable by time, unique, valid as a server id."""
    return f"{prefix}_{utcnow():%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:12]}"


def segment(value: str) -> str:
    """``value`` quoted as one URL path segment."""
    return urllib.parse.quote(value, safe="")


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def dumps(value: Any) -> bytes:
    """Strict JSON (no NaN), with datetimes as ISO 8601 and other objects as text."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=_default).encode()


def lenient(value: Any) -> bytes:
    """Some JSON for a value that is not valid JSON, to keep it in the dead letters."""
    try:
        return json.dumps(value, default=repr).encode()
    except ENCODE_ERRORS:
        return json.dumps(repr(value)).encode()


def prepare(event: dict[str, Any]) -> None:
    """Give a queued event its final ``ts`` (ISO 8601) and ``uid``, once, before its first send."""
    ts = event["ts"]
    if isinstance(ts, float):  # time.time() from log_event
        event["ts"] = datetime.fromtimestamp(ts, timezone.utc).isoformat()
    if "uid" not in event:
        event["uid"] = uuid.uuid4().hex


def events_request(seq: int, events: Sequence[dict[str, Any]]) -> tuple[Request | None, list[tuple[Request, str]]]:
    """One ``POST /api/events`` of ``events``, and the events that cannot be encoded
    (each as a one-event request with the reason) - those are left out."""
    try:
        return Request(seq, "POST", EVENTS_PATH, dumps(events), len(events)), []
    except ENCODE_ERRORS:
        pass
    good, bad = [], []
    for event in events:
        try:
            dumps(event)
            good.append(event)
        except ENCODE_ERRORS as exc:
            bad.append((Request(seq, "POST", EVENTS_PATH, b"[" + lenient(event) + b"]", 1), f"not valid JSON: {exc}"))
    request = Request(seq, "POST", EVENTS_PATH, dumps(good), len(good)) if good else None
    return request, bad


def op_request(seq: int, op: Op) -> tuple[Request | None, str | None]:
    """The request of a record, or None and the reason it cannot be encoded."""
    try:
        return Request(seq, op.method, op.path, dumps(op.body)), None
    except ENCODE_ERRORS as exc:
        return None, f"not valid JSON: {exc}"
