"""``POST /api/events`` in its common case, answered below Flask.

Most ingest requests are alike: a JSON body of known length, sent by a
client (no browser ``Origin``), with a valid API key when keys are set, well
within the limits, and valid. For those, the request context, the hooks and
the response object of Flask cost several times what the storage does; this
WSGI layer, inside the app's own middleware (ProxyFix, Socket.IO), answers
them with the same checks, made once and cheaply:

- the access policy: with sign-in off, a ``Host`` this server answers to (the
  answer cached per ``Host``); with sign-in on, or API keys set, a valid key;
- the rate limit: the same bucket, one token (Flask's hook does not take
  another if the request goes on to Flask);
- the body: validated from its bytes (``core.schemas.quick_events``), then
  stored and committed with its rollups exactly as the Flask route does;
- the answer: the route's JSON, with the security headers every answer has,
  its latency and self-monitoring event recorded as for any route.

Anything else goes on to Flask unchanged (the body handed over as read): a
browser request (``Origin``/``Referer``), CORS in use, a chunked or oversized
body, a missing or invalid key, a body with anything to refuse or to check
more carefully, an empty bucket. So every error, and every case this layer
does not know, is answered by the route in ``api/ingest.py``, the one
reference for what ``POST /api/events`` does.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from flask import Flask
from werkzeug.exceptions import InternalServerError

from api.ingest import commit_events, events_answer
from api.limits import COUNTED
from api.metrics import RequestMetrics
from auth.policy import host_allowed
from core.schemas import quick_events
from services import Services
from web.http import SECURITY_HEADERS, key_index

log = logging.getLogger(__name__)

PATH = "/api/events"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_STATUS = {200: "200 OK", 201: "201 CREATED", 500: "500 INTERNAL SERVER ERROR"}
_HOSTS_KEPT = 256  # distinct Host headers whose answer is cached


class FastIngest:
    """The WSGI app in front of Flask's ``wsgi_app`` (see the module docstring)."""

    def __init__(self, app: WSGIApp, server: Flask, services: Services, metrics: RequestMetrics) -> None:
        settings = services.settings
        self.app = app
        self.server = server
        self.services = services
        self.metrics = metrics
        self.keys = settings.keys()
        self.need_key = settings.auth or bool(self.keys)
        self.enabled = not settings.origins()  # with CORS on, Flask-CORS answers every API request
        self.max_body = settings.max_body_bytes
        self.max_batch = settings.max_batch
        self.settings = settings
        self.hosts: dict[str, bool] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST" or not self.enabled:
            return self.app(environ, start_response)
        length = self._plain_length(environ)
        key = self._access(environ) if length else None
        if key is None:
            return self.app(environ, start_response)
        bucket = self.server.extensions.get("pulseboard_limits")
        if bucket is not None:
            if bucket.take(key):
                return self.app(environ, start_response)  # Flask's hook refuses it, with its 429
            environ[COUNTED] = True
        self.services.live.ensure_started()
        started = time.perf_counter()
        raw = environ["wsgi.input"].read(length)
        rows = quick_events(raw, self.services.now()) if len(raw) == length else None
        if not rows or len(rows) > self.max_batch:
            environ["wsgi.input"] = io.BytesIO(raw)
            return self.app(environ, start_response)
        try:
            body, status = events_answer(rows, commit_events(rows, self.services))
        except Exception:
            log.exception("Exception on %s [POST]", PATH)
            body, status = {"error": InternalServerError.description}, 500
        data = orjson.dumps(body)
        start_response(
            _STATUS[status],
            [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *SECURITY_HEADERS],
        )
        self.metrics.observe(PATH, "POST", status, time.perf_counter() - started)
        return [data]

    def _plain_length(self, environ: dict[str, Any]) -> int:
        """The body's length when it is JSON of a length given and accepted, and no browser sent it; else 0."""
        mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        length = environ.get("CONTENT_LENGTH", "")
        if (
            (mimetype != "application/json" and not mimetype.endswith("+json"))
            or not length.isdigit()
            or "HTTP_TRANSFER_ENCODING" in environ
            or "HTTP_ORIGIN" in environ
            or "HTTP_REFERER" in environ
            or "HTTP_UPGRADE" in environ
        ):
            return 0
        n = int(length)
        return n if 0 < n < self.max_body else 0

    def _access(self, environ: dict[str, Any]) -> tuple[str, Any] | None:
        """The rate-limit bucket of a request the policy lets in as it stands, or None."""
        if self.need_key:
            index = key_index(environ.get("HTTP_AUTHORIZATION", ""), self.keys)
            if index is None:
                return None
        else:
            index = None
        if not self.settings.auth:  # sign-in off: the Host must name this server
            host = environ.get("HTTP_HOST")
            if host is None:
                return None
            allowed = self.hosts.get(host)
            if allowed is None:
                if len(self.hosts) >= _HOSTS_KEPT:
                    self.hosts.clear()
                allowed = self.hosts[host] = host_allowed(host, self.settings)
            if not allowed:
                return None
        return ("key", index) if index is not None else ("addr", environ.get("REMOTE_ADDR"))


def install_fast_ingest(server: Flask, services: Services, metrics: RequestMetrics) -> None:
    """Put :class:`FastIngest` in front of the Flask app; call before any middleware wraps it."""
    server.wsgi_app = FastIngest(server.wsgi_app, server, services, metrics)  # type: ignore[method-assign]
