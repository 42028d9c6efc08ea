"""The HTTP plumbing that api/, live/ and auth/ share: JSON bodies in, JSON
errors out, API keys, and the one place where domain errors become status
codes.

Every error the API returns has the shape ``{"error": "...", "errors": [...]}``
with a 4xx status for bad input; nothing a client sends produces a 500.
"""

from __future__ import annotations

import functools
import hmac
import json
import socket
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from dash.exceptions import DependencyException
from flask import Flask, Response, current_app, g, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from core.errors import Conflict, DomainError, InvalidDocument, InvalidInput, NotFound, TooLarge
from core.schemas import field_errors

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)

# Paths whose unknown routes answer 404 JSON (the rest belongs to the pages).
API_PREFIXES = ("/api/", "/ingest/", "/session/", "/admin/api/", "/realtime/", "/interactions/", "/metrics/")


# Each kind of domain error and the status it is answered with.
STATUS_OF: tuple[tuple[type[DomainError], int], ...] = (
    (InvalidInput, 400),
    (InvalidDocument, 422),
    (NotFound, 404),
    (Conflict, 409),
    (TooLarge, 400),
)


def status_of(exc: DomainError) -> int:
    for kind, status in STATUS_OF:
        if isinstance(exc, kind):
            return status
    return 400


class ApiError(Exception):
    """An answer only HTTP has words for: 401, 413, 415, 429, a route's own 404."""

    def __init__(
        self, status: int, message: str, errors: list[dict[str, Any]] | None = None, *, close: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []
        self.close = close  # answer, then end the connection (the body was not read)


# On every answer: no page of Pulseboard may be framed by another site (clickjacking), nor sniffed as another type.
SECURITY_HEADERS = (
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
)


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
    return parse_json(read_body())


YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def read_body(*, yaml: bool = False) -> bytes:
    """The request body of a JSON request (or, with ``yaml``, a YAML one:
    see :func:`is_yaml`), as bytes: refused when it is sent as another
    type, is larger than the limit or is empty."""
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json") and not (yaml and is_yaml()):
        if yaml:
            raise ApiError(415, "send the body as JSON or YAML ('Content-Type: application/json' or application/yaml)")
        raise ApiError(415, "send the body as JSON with 'Content-Type: application/json'")
    try:
        raw = request.get_data(cache=False)
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if limit is not None and len(raw) >= limit:
            # A streamed (chunked) body is cut at the limit, not refused: reading on raises if more is left.
            request.stream.read(1)
    except RequestEntityTooLarge:
        raise ApiError(413, _too_large(), close=True) from None
    if not raw.strip():
        raise ApiError(400, "the request body is empty; send a JSON document")
    return raw


def is_yaml() -> bool:
    """Whether this request's body is sent as YAML (``Content-Type: application/yaml`` or a synonym)."""
    return (request.mimetype or "") in YAML_TYPES


def parse_json(raw: bytes) -> Any:
    """``raw`` parsed as strict JSON; a 400 naming what is wrong with it."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        where = _non_finite_at(raw)
        if where is not None:
            raise where from None
        raise ApiError(400, f"malformed JSON: {exc}") from None


class _NonFinite:
    def __init__(self, text: str) -> None:
        self.text = text


def _non_finite_at(raw: bytes) -> ApiError | None:
    """A 400 naming the field of the first ``NaN``/``Infinity``/``-Infinity``
    in ``raw`` when that is all that makes it invalid JSON (Python's json
    module accepts them; JSON does not), else None."""
    if b"NaN" not in raw and b"Infinity" not in raw:
        return None
    try:
        doc = json.loads(raw, parse_constant=_NonFinite)
    except (ValueError, RecursionError):
        return None
    path = _find(doc, _NonFinite)
    if path is None:
        return None
    value = path.pop()
    index = path.pop(0) if isinstance(doc, list) and path else None
    if isinstance(doc, dict) and path[:1] == ["events"] and len(path) > 1 and isinstance(path[1], int):
        index = path[1]
        path = path[2:]
    field = ".".join(str(p) for p in path) or "(body)"
    message = f"{value.text} is not a JSON number; send a finite number or null"
    item: dict[str, Any] = {"field": field, "message": message}
    if index is not None:
        item = {"index": index} | item
    where = f"event {index}: " if index is not None else ""
    return ApiError(400, f"malformed JSON: {where}field '{field}': {message}", [item])


def _find(value: Any, kind: type, depth: int = 0) -> list[Any] | None:
    """The path to the first instance of ``kind`` in ``value``, ending with that instance."""
    if isinstance(value, kind):
        return [value]
    if depth > 64:
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _find(item, kind, depth + 1)
        if found is not None:
            return [key, *found]
    return None


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


def too_large_response() -> Response:
    """413 for a body over the limit, after reading and discarding up to twice the
    limit of it: a client that writes its whole body before reading the answer
    (urllib, Pulseboard's own client) then gets the 413, not a reset connection.
    The connection closes after the answer; past twice the limit it may close sooner."""
    limit = int(current_app.config.get("MAX_CONTENT_LENGTH") or 0)
    stream = request.environ.get("wsgi.input")
    length = request.content_length
    budget = 2 * limit if length is None else min(length, 2 * limit)
    if stream is not None and (length is not None or request.environ.get("wsgi.input_terminated")):
        try:
            while budget > 0:
                chunk = stream.read(min(budget, 1 << 16))
                if not chunk:
                    break
                budget -= len(chunk)
        except (OSError, ValueError):
            pass  # the client stopped sending: it gets what answer it still reads
    response = error_response(413, _too_large())
    response.headers["Connection"] = "close"
    return response


def client_gone(environ: dict[str, Any]) -> Callable[[], bool]:
    """A check, for a long response (an event stream), of whether its client has
    closed the connection: such a client sends nothing more, so a readable
    socket with nothing to read is a closed one. Without the socket: never."""
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    if not isinstance(sock, socket.socket):
        return lambda: False

    def gone() -> bool:
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True

    return gone


def presented_key() -> int | None:
    """Index of the configured API key sent as ``Authorization: Bearer <key>``, or None.
    Worked out once per request (the rate limit, the sign-in policy and
    ``require_key`` all ask)."""
    if "pulse_key" not in g:
        g.pulse_key = _match_key()
    found: int | None = g.pulse_key
    return found


def _match_key() -> int | None:
    return key_index(request.headers.get("Authorization", ""), current_app.config.get("PULSE_API_KEYS", ()))


def key_index(header: str, keys: tuple[str, ...]) -> int | None:
    """Index in ``keys`` of the key an ``Authorization`` header value presents as ``Bearer <key>``, or None."""
    scheme, _, token = header.partition(" ")
    if not keys or scheme.lower() != "bearer":
        return None
    # Compare against every key, always: the time taken says nothing about which matched.
    found = None
    for index, key in enumerate(keys):
        if hmac.compare_digest(token.strip().encode(), key.encode()):
            found = index
    return found


def require_key(view: F) -> F:
    """Refuse the request without a valid ``Authorization: Bearer <key>`` when keys are configured
    (a signed-in admin, with dashboard sign-in on, needs none)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_app.config["PULSE_API_KEYS"] and presented_key() is None and g.get("pulse_role") != "admin":
            raise ApiError(401, "a valid API key is required: send 'Authorization: Bearer <key>'")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def install_error_handlers(server: Flask) -> None:
    @server.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        if exc.status == 413 and exc.close:
            return too_large_response()
        return error_response(exc.status, exc.message, exc.errors)

    @server.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        # str(exc), not .message: a subclass may keep its own short .message (RuleError does).
        return error_response(status_of(exc), str(exc), exc.errors)

    @server.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if isinstance(exc, RequestEntityTooLarge):
            return too_large_response()
        if exc.code == 404 and not request.path.startswith(API_PREFIXES):
            return exc
        return error_response(exc.code or 500, exc.description or exc.name)

    @server.errorhandler(DependencyException)
    def _no_such_asset(exc: DependencyException) -> Response:
        # A path under /_dash-component-suites/ that Dash does not serve: a client error, not a 500.
        return error_response(404, "no such file")


MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<id:name>`` in a route: a database id. A number beyond the id columns
    becomes -1, which no row has, so the view answers its own 404 (never an
    overflow in the database driver, a 500)."""

    def to_python(self, value: str) -> int:
        number = int(value)
        return number if number <= MAX_ID else -1
