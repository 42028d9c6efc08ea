"""``GET /api/openapi.json``: an OpenAPI 3.1 document of every route, built
from the route table in ``api/docs.py`` and the pydantic request models."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response

from core import schemas
from web.docs import ROUTES, Param, RouteDoc, doc
from web.http import MAX_ID, json_response

bp = Blueprint("openapi", __name__)

ERROR = {"$ref": "#/components/schemas/Error"}

# Write routes (declared in api/ingest.py and api/compat.py).
for _route in (
    RouteDoc(
        "POST",
        "/api/events",
        'Store one event, a list, or {"events": [...]}; all or nothing',
        body=schemas.EventIn,
        tag="ingest",
        responses=(200, 201, 401, 413, 415, 422),
    ),
    RouteDoc(
        "POST",
        "/api/sessions",
        "Start a session (id generated as sess_YYYYMMDD_HHMMSS when absent)",
        body=schemas.SessionStartIn,
        tag="ingest",
        responses=(200, 201, 401, 422),
    ),
    RouteDoc(
        "POST",
        "/api/sessions/<session_id>/end",
        "End a session",
        body=schemas.SessionEndIn,
        tag="ingest",
        responses=(200, 401, 404, 422),
    ),
    RouteDoc(
        "POST",
        "/api/executions",
        "Record a finished run, or a start",
        body=schemas.ExecutionIn,
        tag="ingest",
        responses=(200, 201, 401, 422),
    ),
    RouteDoc(
        "POST",
        "/api/executions/<execution_id>/finish",
        "Finish a run",
        body=schemas.ExecutionFinishIn,
        tag="ingest",
        responses=(200, 401, 404, 422),
    ),
    RouteDoc(
        "PUT",
        "/api/components/<name>",
        "Set a component's state",
        body=schemas.ComponentIn,
        tag="ingest",
        responses=(200, 400, 401, 422),
    ),
    RouteDoc(
        "POST",
        "/ingest/interaction",
        "Macro interaction (compatible route)",
        body=schemas.InteractionIn,
        tag="compatible",
        responses=(201, 401, 422),
    ),
    RouteDoc(
        "POST",
        "/session/start",
        "Macro session start (compatible route)",
        body=schemas.SessionStartIn,
        tag="compatible",
        responses=(200, 201, 401, 422),
    ),
    RouteDoc(
        "POST",
        "/session/end",
        "Macro session end (compatible route)",
        body=schemas.SessionEndIn,
        tag="compatible",
        responses=(200, 401, 404, 422),
    ),
    RouteDoc("GET", "/health", "Health check", tag="health", responses=(200, 503)),
    RouteDoc("GET", "/api/health", "Health check", tag="health", responses=(200, 503)),
    RouteDoc(
        "GET",
        "/metrics",
        "Prometheus metrics: ingested events, requests and latency per endpoint, live clients, database size",
        tag="health",
        produces=("text/plain",),
    ),
):
    ROUTES.append(_route)


def _path(flask_path: str) -> tuple[str, list[tuple[str, str]]]:
    """The OpenAPI path and its parameters as (converter, name)."""
    names = re.findall(r"<(?:([a-z]+):)?([a-z_]+)>", flask_path)
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", flask_path), names


_PATH_SCHEMAS: dict[str, dict[str, Any]] = {"id": {"type": "integer", "minimum": 0, "maximum": MAX_ID}}


def _operation(route: RouteDoc, defs: dict[str, Any] | None = None) -> dict[str, Any]:
    path, names = _path(route.path)
    parameters: list[dict[str, Any]] = [
        {"name": n, "in": "path", "required": True, "schema": _PATH_SCHEMAS.get(converter, {"type": "string"})}
        for converter, n in names
    ]
    parameters += [
        {"name": q.name, "in": "query", "required": False, "description": q.description, "schema": q.schema()}
        for q in route.params
    ]
    op: dict[str, Any] = {"summary": route.summary, "tags": [route.tag], "parameters": parameters, "responses": {}}
    for status in route.responses:
        if status < 300:
            content = {
                m: {"schema": {"type": "object"} if m == "application/json" else {"type": "string"}}
                for m in route.produces
            }
            op["responses"][str(status)] = {"description": "OK", "content": content}
        else:
            op["responses"][str(status)] = {"description": "Error", "content": {"application/json": {"schema": ERROR}}}
    if route.method == "GET" and 400 not in route.responses:
        op["responses"]["400"] = {"description": "Bad parameter", "content": {"application/json": {"schema": ERROR}}}
    if names and "404" not in op["responses"]:
        op["responses"]["404"] = {"description": "Not found", "content": {"application/json": {"schema": ERROR}}}
    if route.method in ("POST", "PUT", "PATCH"):
        # Any write route reading a JSON body answers these for a body it cannot take.
        op["responses"].setdefault(
            "413", {"description": "Body too large", "content": {"application/json": {"schema": ERROR}}}
        )
        op["responses"].setdefault(
            "415", {"description": "Body not sent as JSON", "content": {"application/json": {"schema": ERROR}}}
        )
    if route.body is not None:
        model_schema = route.body.model_json_schema(ref_template="#/components/schemas/{model}")  # type: ignore[attr-defined]
        # Nested models are referred to as components of the document.
        (defs if defs is not None else {}).update(model_schema.pop("$defs", {}))
        op["requestBody"] = {
            "required": route.path != "/api/sessions",
            "content": {"application/json": {"schema": model_schema}},
        }
        op["responses"].setdefault(
            "400", {"description": "Malformed body", "content": {"application/json": {"schema": ERROR}}}
        )
    return op


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    defs: dict[str, Any] = {}
    for route in ROUTES:
        path, _ = _path(route.path)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, defs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pulseboard API",
            "version": "1.0.0",
            "description": "Events in, analytics out. Errors are JSON: {error, errors}.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                **defs,
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@doc("GET", "/api/openapi.json", "This document")
@bp.get("/api/openapi.json")
def get_openapi() -> Response:
    return json_response(document())


__all__ = ["bp", "document", "Param"]
