"""The API's HTTP plumbing: JSON bodies in, JSON errors out, API keys.

Every error the API returns has the shape ``{"error": "...", "errors": [...]}``
with a 4xx status for bad input; nothing a client sends produces a 500.
"""
from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from flask import Flask, Response, current_app, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from api.schemas import field_errors

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)

# Paths whose unknown routes answer 404 JSON (the rest belongs to the pages).
API_PREFIXES = ("/api/", "/ingest/", "/session/", "/admin/api/", "/realtime/", "/interactions/", "/metrics/")


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    data = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    return Response(data, status=status, mimetype="application/json", headers=headers)


def error_response(status: int, message: str, errors: list[dict[str, Any]] | None = None) -> Response:
    body: dict[str, Any] = {"error": message}
    if errors:
        body["errors"] = errors
    return json_response(body, status)


def read_json() -> Any:
    """The request body parsed as strict JSON (no NaN/Infinity, valid UTF-8)."""
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415, "send the body as JSON with 'Content-Type: application/json'")
    try:
        raw = request.get_data(cache=False)
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if limit is not None and len(raw) >= limit:
            # A streamed (chunked) body is cut at the limit, not refused: reading on raises if more is left.
            request.stream.read(1)
    except RequestEntityTooLarge:
        raise ApiError(413, _too_large()) from None
    if not raw.strip():
        raise ApiError(400, "the request body is empty; send a JSON document")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from None


def parse(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        raise ApiError(422, _summary(errors), errors) from None


def attrs_error(exc: ValueError) -> ApiError:
    """422 for ``attrs`` (with the unknown fields kept in it) past its limits."""
    return ApiError(422, f"invalid field 'attrs': {exc}", [{"field": "attrs", "message": str(exc)}])


def _summary(errors: list[dict[str, Any]]) -> str:
    first = errors[0]
    where = f"item {first['index']}, " if first.get("index") is not None else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid {where}field '{first['field']}': {first['message']}{more}"


def _too_large() -> str:
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return f"request body larger than {limit / 1024 / 1024:.3g} MB"


def require_key(view: F) -> F:
    """Refuse the request without a valid ``Authorization: Bearer <key>`` when keys are configured."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        keys: tuple[str, ...] = current_app.config["PULSE_API_KEYS"]
        if keys:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            # Compare against every key, always: the time taken says nothing about which matched.
            ok = False
            for key in keys:
                ok |= hmac.compare_digest(token.strip().encode(), key.encode())
            if scheme.lower() != "bearer" or not ok:
                raise ApiError(401, "a valid API key is required: send 'Authorization: Bearer <key>'")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def install_error_handlers(server: Flask) -> None:
    @server.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.message, exc.errors)

    @server.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if isinstance(exc, RequestEntityTooLarge):
            return error_response(413, _too_large())
        if exc.code == 404 and not request.path.startswith(API_PREFIXES):
            return exc
        return error_response(exc.code or 500, exc.description or exc.name)
