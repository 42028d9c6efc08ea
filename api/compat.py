"""Routes of the clients Pulseboard replaces, with their payloads and answers,
so that they work unchanged against its single port.

| route                      | from                      |
|----------------------------|---------------------------|
| POST /ingest/interaction   | macro sessions            |
| POST /session/start        | macro sessions            |
| POST /session/end          | macro sessions            |
| GET  /health               | macro sessions            |
| GET  /api/health           | script runner             |
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from api.ingest import commit_events, end_session, services, start_session
from core.schemas import InteractionIn
from data.ingest import event_row
from data.queries import session_user
from web.http import ApiError, attrs_error, json_response, parse, read_json, require_key

bp = Blueprint("compat", __name__)


@bp.post("/ingest/interaction")
@require_key
def post_interaction() -> Response:
    data = parse(InteractionIn, read_json())
    try:
        attrs = data.extra_attrs()
    except ValueError as exc:
        raise attrs_error(exc) from None
    svc = services()
    with svc.db.read() as conn:
        user = session_user(conn, data.session_id)
    row = event_row(
        data.timestamp or svc.now(),
        "macro",
        data.interaction_type,
        entity=data.button_key,
        user=user,
        session_id=data.session_id,
        value=data.total_boxes,
        duration_ms=data.execution_time_ms,
        attrs=attrs or None,
        uid=data.uid,
    )
    result = commit_events([row])
    return json_response({"status": "success", "interaction_id": result.ids[0], "session_id": data.session_id}, 201)


@bp.post("/session/start")
@require_key
def post_session_start() -> Response:
    body = read_json()
    if isinstance(body, dict) and "source" not in body:
        body = {**body, "source": "macro"}  # the session's source is its interactions' source
    row, created = start_session(body)
    return json_response({"status": "success", "session_id": row["id"], "created": created}, 201 if created else 200)


@bp.post("/session/end")
@require_key
def post_session_end() -> Response:
    body = read_json()
    session_id = body.get("session_id") if isinstance(body, dict) else None
    if not isinstance(session_id, str) or not session_id:
        raise ApiError(
            422, "invalid field 'session_id': Field required", [{"field": "session_id", "message": "Field required"}]
        )
    row = end_session(session_id, {k: v for k, v in body.items() if k != "session_id"})
    duration = (row["ended_at"] - row["started_at"]).total_seconds()
    return json_response({"status": "success", "session_id": row["id"], "duration_s": duration})


def health_body() -> tuple[dict[str, Any], int]:
    """``healthy`` (200); ``starting`` (503, with ``waiting_for``) while the
    server still prepares (the demo's backfill); ``unhealthy`` (503) when the
    database does not answer. With a read replica, ``read_replica`` says
    whether it is up and its replay lag; a replica that is down leaves the
    server healthy, as its reads go to the primary."""
    svc = services()
    try:
        svc.db.check()
        database = "ok"
    except Exception as exc:  # the health route reports a broken database, it does not fail
        database = f"error: {type(exc).__name__}"
    waiting = svc.starting()
    status = "unhealthy" if database != "ok" else ("starting" if waiting else "healthy")
    body: dict[str, Any] = {
        "status": status,
        "database": database,
        "timestamp": svc.now().isoformat(),
        "uptime_seconds": round(svc.uptime_seconds(), 1),
        "version": "1.0.0",
    }
    if waiting:
        body["waiting_for"] = waiting
    replica = svc.db.replica_status()
    if replica.configured:
        body["read_replica"] = {"up": replica.up, "lag_seconds": replica.lag_seconds, "error": replica.error}
    return body, 200 if status == "healthy" else 503


@bp.get("/health")
@bp.get("/api/health")
def get_health() -> Response:
    body, status = health_body()
    return json_response(body, status)
