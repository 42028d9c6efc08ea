"""Write routes: events, sessions, executions, components.

| route                                   | body                         |
|-----------------------------------------|------------------------------|
| POST /api/events                        | event, [events], {"events"}  |
| POST /api/sessions                      | SessionStartIn               |
| POST /api/sessions/<id>/end             | SessionEndIn (optional)      |
| POST /api/executions                    | ExecutionIn                  |
| POST /api/executions/<id>/finish        | ExecutionFinishIn            |
| PUT  /api/components/<name>             | ComponentIn                  |

A 2xx answer means the write is committed; the live feed hears of it after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, request
from pydantic import ValidationError

from core.schemas import (
    COMPONENT_NAME,
    ComponentIn,
    EventList,
    ExecutionFinishIn,
    ExecutionIn,
    SessionEndIn,
    SessionStartIn,
    field_errors,
    quick_events,
)
from data import records
from data.ingest import IngestResult, ingest, write_retrying
from services import Services
from web.http import ApiError, attrs_error, json_response, parse, parse_json, read_body, read_json, require_key

bp = Blueprint("ingest", __name__)


def services() -> Services:
    return current_app.extensions["pulseboard"]  # type: ignore[no-any-return]


def event_rows(raw: bytes, max_batch: int) -> list[dict[str, Any]]:
    """The events of a request body as rows to store, validated whole: any bad
    item rejects all of it, naming index and field. Most bodies pass in one
    pydantic-core pass over the bytes; the rest take :func:`event_batch`."""
    now = services().now()
    rows = quick_events(raw, now)
    if rows is not None and 0 < len(rows) <= max_batch:
        return rows
    return event_batch(parse_json(raw), max_batch, now)


def event_batch(body: Any, max_batch: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """Validate a whole batch: any bad item rejects all of it, naming index and field."""
    if isinstance(body, dict) and "events" in body and set(body) == {"events"}:
        body = body["events"]
    items = body if isinstance(body, list) else [body]
    if not items:
        raise ApiError(400, "no events in the request")
    if len(items) > max_batch:
        raise ApiError(413, f"{len(items)} events in one request; at most {max_batch} are accepted")
    try:
        parsed = EventList.validate_python(items)
    except ValidationError as exc:
        errors = field_errors(exc, batch=True)
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ApiError(
            422,
            f"event {first['index']}: field '{first['field']}': {first['message']}{more}; nothing was stored",
            errors,
        ) from None
    now = now or services().now()
    rows = [e.model_dump() for e in parsed]
    for row in rows:
        if row["ts"] is None:
            row["ts"] = now
    return rows


def commit_events(rows: list[dict[str, Any]], svc: Services | None = None) -> IngestResult:
    svc = svc or services()
    result = ingest(svc.db, rows)
    svc.committed(result.stored)
    return result


def events_answer(rows: list[dict[str, Any]], result: IngestResult) -> tuple[dict[str, Any], int]:
    """The body and status of ``POST /api/events``: 201 when something was stored, 200 for duplicates only."""
    body = {"accepted": len(rows), "stored": len(result.stored), "duplicates": result.duplicates, "ids": result.ids}
    return body, 201 if result.stored else 200


@bp.post("/api/events")
@require_key
def post_events() -> Response:
    rows = event_rows(read_body(), current_app.config["PULSE_MAX_BATCH"])
    return json_response(*events_answer(rows, commit_events(rows)))


def _optional_body() -> Any:
    """The JSON body, or ``{}`` when the request has none (end/finish need none)."""
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    return read_json() if request.content_length or chunked else {}


def start_session(body: Any) -> tuple[dict[str, Any], bool]:
    data = parse(SessionStartIn, body)
    svc = services()
    now = svc.now()
    started = data.started_at or now
    session_id = data.session_id or f"sess_{started:%Y%m%d_%H%M%S}"
    try:
        attrs = data.extra_attrs()
    except ValueError as exc:
        raise attrs_error(exc) from None
    row, created, result = write_retrying(
        svc.db,
        lambda conn: records.start_session(
            conn, session_id=session_id, source=data.source, user=data.user, started_at=started, attrs=attrs
        ),
    )
    if result:
        svc.committed(result.stored)
    return row, created


def end_session(session_id: str, body: Any) -> dict[str, Any]:
    data = parse(SessionEndIn, body)
    svc = services()
    ended_at = data.ended_at or svc.now()
    row, result = write_retrying(svc.db, lambda conn: records.end_session(conn, session_id, ended_at))
    if result:
        svc.committed(result.stored)
    return row


def session_json(row: dict[str, Any]) -> dict[str, Any]:
    return row | {"duration_s": (row["ended_at"] - row["started_at"]).total_seconds() if row["ended_at"] else None}


@bp.post("/api/sessions")
@require_key
def post_session() -> Response:
    row, created = start_session(_optional_body())
    return json_response(session_json(row), 201 if created else 200)


@bp.post("/api/sessions/<session_id>/end")
@require_key
def post_session_end(session_id: str) -> Response:
    return json_response(session_json(end_session(session_id, _optional_body())))


def _execution_json(write: records.ExecutionWrite) -> dict[str, Any]:
    return write.row | {"metrics": write.metrics}


@bp.post("/api/executions")
@require_key
def post_execution() -> Response:
    data = parse(ExecutionIn, read_json())
    svc = services()
    fields, now = data.model_dump(), svc.now()
    write = write_retrying(svc.db, lambda conn: records.record_execution(conn, fields, now))
    if write.result:
        svc.committed(write.result.stored)
    return json_response(_execution_json(write), 201 if write.created else 200)


@bp.post("/api/executions/<execution_id>/finish")
@require_key
def post_execution_finish(execution_id: str) -> Response:
    data = parse(ExecutionFinishIn, _optional_body())
    svc = services()
    fields, now = data.model_dump(), svc.now()
    write = write_retrying(svc.db, lambda conn: records.finish_execution(conn, execution_id, fields, now))
    if write.result:
        svc.committed(write.result.stored)
    return json_response(_execution_json(write))


def set_component(name: str, body: Any) -> dict[str, Any]:
    if not COMPONENT_NAME.match(name):
        raise ApiError(400, "component name: use 1-100 letters, digits, '_', '.', ':' or '-'")
    data = parse(ComponentIn, body)
    svc = services()
    now = svc.now()
    row, result = write_retrying(
        svc.db,
        lambda conn: records.set_component(conn, name, data.status, data.detail, data.source, now, data.ttl_seconds),
    )
    svc.committed(result.stored)
    return row


@bp.put("/api/components/<name>")
@require_key
def put_component(name: str) -> Response:
    return json_response(set_component(name, read_json()))
