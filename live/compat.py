"""Live routes of the clients Pulseboard replaces.

| route                 | from               | what                                                 |
|-----------------------|--------------------|------------------------------------------------------|
| GET /realtime/stream  | tool usage (003)   | SSE every second: tools, rates, per-tool history     |
| /ws/metrics           | script runner (004)| WebSocket: scripts, recent runs and metrics every 2 s |
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import orjson
from flask import Flask, Response, request, stream_with_context
from flask_sock import Sock

from core.durations import parse_duration
from data.queries import Filters
from live.broker import TooManyClients
from reports import scripts, usage
from reports.cache import cached
from reports.overview import recent_events
from services import Services
from web.docs import ROUTES, Param, RouteDoc
from web.http import ApiError, client_gone, error_response

TOOL_WINDOW = timedelta(hours=6)  # the history the tool-usage dashboard kept, and filters in the browser
TOOL_TYPE = "borrow"  # what its per-minute counts count
METRICS_EVERY = 2.0

ROUTES.append(
    RouteDoc(
        "GET",
        "/realtime/stream",
        "Tool-usage SSE: per-tool per-minute history every second",
        (
            Param("source", description="Only this source"),
            Param("flag", description="attrs key counted as a flag"),
            Param("type", description="Event type counted per tool and minute (default borrow; 'all' for every type)"),
            Param("window", description="History sent, at most 6h (default 6h): 90, 30min, 1h"),
        ),
        responses=(200, 503),
        produces=("text/event-stream",),
    )
)


def refuse_socket(ws: Any, exc: TooManyClients) -> None:
    """Tell a WebSocket client over the subscriber cap why, then close (1013: try again later)."""
    ws.send(
        orjson.dumps({"type": "error", "code": exc.code, "message": str(exc), "retry_after": exc.retry_after}).decode()
    )
    ws.close(reason=1013, message="too many live clients")
    # Wait for the client's answering close frame: a socket closed with it unread
    # is reset, and a reset can discard the error message before the client reads it.
    reader = getattr(ws, "thread", None)
    if reader is not None:
        reader.join(timeout=2.0)


def refuse_stream(exc: TooManyClients) -> Response:
    """503 JSON with Retry-After for an event stream over the subscriber cap."""
    response = error_response(503, str(exc))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def tool_snapshot(
    services: Services, filters: Filters, flag: str, *, counted: Filters = Filters(), window: timedelta = TOOL_WINDOW
) -> dict[str, Any]:
    """The stream's payload: per-tool per-minute history of the ``counted`` events
    over ``window``, rates, and the recent events of every type."""
    now = services.now()

    def compute() -> dict[str, Any]:
        with services.db.read() as conn:
            history = usage.entity_history(
                conn, window=window, now=now, filters=dataclasses.replace(filters, type=counted.type), flag_key=flag
            )
            recent = recent_events(conn, limit=20, filters=filters)
        rates = {}
        for minutes in (1, 5, 10):
            cutoff = (now - timedelta(minutes=minutes)).isoformat()
            rates[f"per_min_{minutes}m"] = round(
                sum(p["count"] for pts in history.values() for p in pts if p["timestamp"] >= cutoff[:16]) / minutes, 2
            )
        return {
            "timestamp": now.isoformat(),
            "tools": sorted(history),
            "rates": rates,
            "recent_events": recent,
            "buffer_stats": {
                "window_seconds": int(window.total_seconds()),
                "points": sum(len(v) for v in history.values()),
            },
            "tool_metrics": history,
        }

    key = ("tool-stream", filters, flag, counted, window, now.replace(microsecond=0))
    return cached(services, key, compute, ttl=1.0)


def tool_stream(
    services: Services,
    filters: Filters,
    flag: str,
    gone: Callable[[], bool] = lambda: False,
    *,
    counted: Filters = Filters(),
    window: timedelta = TOOL_WINDOW,
) -> Iterator[str]:
    yield "retry: 2000\n\n"
    while not services.live.stopping.is_set() and not gone():
        snapshot = tool_snapshot(services, filters, flag, counted=counted, window=window)
        yield f"data: {orjson.dumps(snapshot).decode()}\n\n"
        services.live.stopping.wait(1.0)


def metrics_snapshot(services: Services) -> dict[str, Any]:
    with services.db.read() as conn:
        return {
            "type": "metrics_update",
            "timestamp": services.now().isoformat(),
            "scripts": scripts.scripts(conn),
            "recent_executions": scripts.executions(conn, script=None, status=None, limit=20),
            "latest_metrics": scripts.latest_metrics(conn, limit=50),
        }


def register_compat_live(server: Flask, sock: Sock, services: Services) -> None:
    def get_tool_stream() -> Response:
        source = request.args.get("source")
        if source is not None and not 0 < len(source) <= 100:
            raise ApiError(400, "parameter 'source': 1 to 100 characters")
        filters = Filters(source=(source,) if source else ())
        kind = request.args.get("type") or TOOL_TYPE
        if not 0 < len(kind) <= 100:
            raise ApiError(400, "parameter 'type': 1 to 100 characters")
        counted = Filters() if kind == "all" else Filters(type=(kind,))
        raw_window = request.args.get("window")
        window = parse_duration(raw_window, "window", longest=TOOL_WINDOW) if raw_window else TOOL_WINDOW
        try:  # a place under the subscriber cap (no topics: the snapshots come from the database)
            slot = services.live.broker.subscribe(frozenset())
        except TooManyClients as exc:
            return refuse_stream(exc)
        flag = request.args.get("flag") or "overage"
        body = stream_with_context(
            tool_stream(services, filters, flag, client_gone(request.environ), counted=counted, window=window)
        )
        response = Response(
            body, mimetype="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
        response.call_on_close(lambda: services.live.broker.unsubscribe(slot))
        return response

    server.add_url_rule("/realtime/stream", "tool_stream", get_tool_stream, methods=["GET"])

    @sock.route("/ws/metrics")  # type: ignore[untyped-decorator]
    def ws_metrics(ws: Any) -> None:
        try:
            slot = services.live.broker.subscribe(frozenset())
        except TooManyClients as exc:
            refuse_socket(ws, exc)
            return
        try:
            next_at = 0.0
            while ws.connected and not services.live.stopping.is_set():
                if time.monotonic() >= next_at:
                    ws.send(orjson.dumps(metrics_snapshot(services)).decode())
                    next_at = time.monotonic() + METRICS_EVERY
                ws.receive(timeout=0.2)  # drains pings and client messages; closes are noticed here
        finally:
            services.live.broker.unsubscribe(slot)
