"""``/ws`` (WebSocket, JSON messages) and ``GET /api/stream`` (Server-Sent
Events): the same feed of committed events, filtered by topics.

WebSocket protocol
    client -> server: ``{"type": "subscribe", "topics": ["all" | "source:X" | ...]}``,
    ``{"type": "unsubscribe", "topics": [...]}``, ``{"type": "request_update"}``.
    server -> client: ``initial_data`` (KPIs, recent events, ``last_id``),
    ``realtime_update`` (a frame: ``events`` in id order and ``last_id``),
    ``error`` (``message``; ``resync: true`` when the client must reload from
    ``initial_data`` because it fell too far behind).

Frames go out at most every ``FRAME_INTERVAL`` seconds per client (longer
with many clients: see :func:`frame_interval`); an event after a quiet spell
goes out at once, bursts are coalesced.

The replaced dashboards' events (``join_session``, ``join_admin_room``, ...)
are handed to ``live/rooms.py``; so is ``request_update`` on a socket that
joined a session and subscribed to no topics (see ``live.rooms.takes``).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from flask import Flask, Response, request, stream_with_context
from flask_sock import Sock

from data.queries import Filters, events_frame
from live.broker import Broker, Subscriber, TooManyClients, TopicError, matches, parse_topics
from live.compat import refuse_socket, refuse_stream, register_compat_live
from live.rooms import RoomHub, connection_role, takes
from live.socketio import register_socketio
from reports.overview import event_json, kpis
from services import Services
from web.docs import ROUTES, Param, RouteDoc
from web.http import ApiError, client_gone

log = logging.getLogger(__name__)

FRAME_INTERVAL = 0.05
FRAME_CLIENTS = 100  # beyond this many live sockets in a process, frames space out in proportion
MAX_FRAME_INTERVAL = 0.1
MAX_OVERLAP = 16
KEEPALIVE = 15.0
REPLAY_LIMIT = 10_000
_FILTER_OF = {
    "source": "source",
    "session": "session_id",
    "entity": "entity",
    "execution": "execution_id",
    "type": "type",
}


def frame_interval(clients: int) -> float:
    """Seconds between two frames to one client when ``clients`` sockets are
    open in this process. Every frame wakes its socket's thread and takes the
    interpreter lock to send; past :data:`FRAME_CLIENTS` sockets the wake-ups
    themselves become the load and frames queue behind them, so each frame
    then carries more events instead (at 200 clients, 1,000 events/s: p95
    delivery 97 ms at 0.1 s against 156 ms at 0.05 s, and half the CPU).

    >>> frame_interval(1), frame_interval(100), round(frame_interval(150), 3), frame_interval(1000)
    (0.05, 0.05, 0.075, 0.1)
    """
    return min(MAX_FRAME_INTERVAL, FRAME_INTERVAL * max(1.0, clients / FRAME_CLIENTS))


def _dumps(message: dict[str, Any]) -> str:
    return orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS).decode()


def recent_for(
    services: Services, topics: frozenset[str], *, limit: int = 50, after_id: int | None = None
) -> list[dict[str, Any]]:
    """Events matching ``topics``: the newest ``limit`` (oldest first), or all after ``after_id``."""
    filters: list[Filters] = []
    if "all" in topics:
        filters = [Filters()]
    else:
        for topic in topics:
            kind, _, value = topic.partition(":")
            if kind in _FILTER_OF:
                filters.append(Filters(**{_FILTER_OF[kind]: (value,)}))
            elif kind == "components":
                filters.append(Filters(type=("component",)))
    found: dict[int, dict[str, Any]] = {}
    with services.db.read() as conn:
        for f in filters:
            if after_id is not None:
                df = events_frame(conn, filters=f, after_id=after_id, limit=REPLAY_LIMIT)
            else:
                df = events_frame(conn, filters=f, limit=limit, newest_first=True)
            for row in df.to_dict("records"):
                found[int(row["id"])] = event_json(row)
    ordered = [found[k] for k in sorted(found)]
    return ordered if after_id is not None else ordered[-limit:]


def initial_data(services: Services, topics: frozenset[str], after_id: int | None = None) -> dict[str, Any]:
    """KPIs and events: the newest 50, or (on a reconnect) all after ``after_id``."""
    # The broker's mark is read before the events: an event published in between
    # is then in the answer or above last_id (and so in a later frame), never lost.
    published = services.live.broker.last_id
    with services.db.read() as conn:
        figures = kpis(conn, services.now())
    events = recent_for(services, topics, after_id=after_id)
    last_id = max([published, *(e["id"] for e in events)])
    return {"type": "initial_data", "topics": sorted(topics), "kpis": figures, "events": events, "last_id": last_id}


def _after(message: dict[str, Any]) -> int | None:
    value = message.get("after_id")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class WebSocketSession:
    def __init__(self, ws: Any, services: Services, sub: Subscriber, hub: RoomHub) -> None:
        self.ws = ws
        self.services = services
        self.broker = services.live.broker
        self.sub = sub  # holds the client's place under the subscriber cap from the start
        self.rooms = hub.member(self.send, *connection_role())  # the replaced dashboards' events
        self.last_sent = 0.0
        self.seq = 0  # frame number: lets the browser notice a frame it did not apply
        self.floor = 0  # events up to this id went out in initial_data
        # With `overlap: k` in its subscribe, a client gets each frame's events again
        # in the next k-1 frames (a page whose socket component keeps only the newest
        # message then skips frames without losing events), and initial_data counts in seq.
        self.overlap = 1
        self.recent: deque[tuple[int, bytes, int]] = deque(maxlen=1)  # (seq, events' JSON, count) of the last frames

    def run(self) -> None:
        try:
            while self.ws.connected and not self.services.live.stopping.is_set():
                raw = self.ws.receive(timeout=0)
                while raw is not None:
                    self.handle(raw)
                    raw = self.ws.receive(timeout=0)
                self.pump()
                self.rooms.pump()
        finally:
            self.rooms.close()
            self.broker.unsubscribe(self.sub)
            if self.services.live.stopping.is_set():
                self.ws.close(reason=1001, message="server shutting down")

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(_dumps(message))
        self.last_sent = time.monotonic()

    def send_initial(self, topics: frozenset[str], after_id: int | None) -> None:
        message = initial_data(self.services, topics, after_id)
        self.floor = max(self.floor, message["last_id"])
        if self.overlap > 1:
            # Numbered, and no later frame repeats what came before it: a skipped
            # initial_data then shows as a gap in the next frame's from_seq.
            self.seq += 1
            self.recent.clear()
        self.send(message | {"seq": self.seq})

    def handle(self, raw: str | bytes) -> None:
        try:
            message = orjson.loads(raw)
            kind = message.get("type") if isinstance(message, dict) else None
        except orjson.JSONDecodeError:
            kind, message = None, {}
        try:
            if takes(kind, in_session=self.rooms.session_id is not None, subscribed=bool(self.sub.topics)):
                self.rooms.handle(kind, message)  # live/rooms.py
            elif kind == "subscribe":
                self.set_overlap(message.get("overlap"))
                topics = parse_topics(message.get("topics") or ["all"])
                self.sub.topics = self.sub.topics | topics
                self.send_initial(self.sub.topics, _after(message))
            elif kind == "unsubscribe":
                self.sub.topics = self.sub.topics - parse_topics(message.get("topics") or [])
            elif kind == "request_update":
                self.send_initial(self.sub.topics or frozenset({"all"}), _after(message))
            else:
                self.send(
                    {
                        "type": "error",
                        "message": "expected a JSON message of type subscribe, unsubscribe or request_update",
                    }
                )
        except TopicError as exc:
            self.send({"type": "error", "message": str(exc)})

    def set_overlap(self, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_OVERLAP:
            raise TopicError(f"overlap: expected a whole number of frames from 1 to {MAX_OVERLAP}, got {value!r}")
        self.overlap = value
        self.recent = deque(self.recent, maxlen=value)

    def pump(self) -> None:
        """Send what arrived, coalescing while events keep coming."""
        if not self.sub.topics:
            time.sleep(0.05)  # nothing subscribed yet: only client messages can arrive
            return
        wait = self.last_sent + frame_interval(self.broker.client_count) - time.monotonic()
        if wait > 0:
            # A plain sleep: hundreds of sockets waiting on one shared Event would
            # all queue on its lock. The loop checks for shutdown every round.
            time.sleep(wait)
        events, overflowed = self.sub.take(timeout=0.1)
        events = [e for e in events if e["id"] > self.floor]
        if overflowed:
            self.send(
                {
                    "type": "error",
                    "message": "you fell behind the live feed; reloading",
                    "resync": True,
                    "code": "overflow",
                }
            )
        elif events:
            self.seq += 1
            # The frame is assembled from each event's JSON, encoded once for all clients.
            self.recent.append((self.seq, b",".join(self.broker.encoded(e) for e in events), len(events)))
            first = self.recent[0][0]
            body = b",".join(part for _, part, _ in self.recent)
            count = sum(n for _, _, n in self.recent)
            head = b'{"type":"realtime_update","seq":%d,' % self.seq
            if self.overlap > 1:
                head += b'"from_seq":%d,' % first
            tail = b'],"last_id":%d,"count":%d}' % (events[-1]["id"], count)
            self.ws.send((head + b'"events":[' + body + tail).decode())
            self.last_sent = time.monotonic()


def _sse(broker: Broker, event: dict[str, Any]) -> str:
    return f"id: {event['id']}\nevent: event\ndata: {broker.encoded(event).decode()}\n\n"


def stream(
    services: Services,
    sub: Subscriber,
    topics: frozenset[str],
    last_id: int | None,
    gone: Callable[[], bool] = lambda: False,
) -> Iterator[str]:
    """The event stream; ``gone`` says whether the client closed the connection
    (checked every second, so its place under the cap is freed at once)."""
    sent = last_id or 0
    try:
        yield "retry: 2000\n\n"
        if last_id is not None:  # resume: what was committed after the client's last event
            for event in recent_for(services, topics, after_id=last_id):
                sent = max(sent, event["id"])
                yield _sse(services.live.broker, event)
        quiet_since = time.monotonic()
        while not services.live.stopping.is_set() and not gone():
            events, overflowed = sub.take(timeout=1.0)
            if overflowed:
                events = recent_for(services, topics, after_id=sent)
            fresh = [e for e in events if e["id"] > sent and matches(topics, e)]
            for event in fresh:
                sent = event["id"]
                yield _sse(services.live.broker, event)
            if fresh:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= KEEPALIVE:
                quiet_since = time.monotonic()
                yield ": keepalive\n\n"
    finally:
        services.live.broker.unsubscribe(sub)


ROUTES.append(
    RouteDoc(
        "GET",
        "/api/stream",
        "Server-Sent Events of committed events (Last-Event-ID resumes)",
        (
            Param(
                "topics",
                description="Comma-separated topics: all, source:X, session:X, entity:X, execution:X, type:X, components",
            ),
            Param("last_event_id", "integer", "Resume after this event id (or the Last-Event-ID header)", minimum=0),
        ),
        responses=(200, 503),
        produces=("text/event-stream",),
    )
)


def register_live(server: Flask, services: Services) -> None:
    server.config.setdefault("SOCK_SERVER_OPTIONS", {"ping_interval": 25})
    sock = Sock(server)
    hub = RoomHub(services)
    register_socketio(server, services, hub)

    @server.before_request
    def _start_live() -> None:
        services.live.ensure_started()

    @sock.route("/ws")  # type: ignore[untyped-decorator]
    def ws_route(ws: Any) -> None:
        try:
            sub = services.live.broker.subscribe(frozenset())
        except TooManyClients as exc:
            refuse_socket(ws, exc)
            return
        WebSocketSession(ws, services, sub, hub).run()

    def get_stream() -> Response:
        try:
            topics = parse_topics([t for t in (request.args.get("topics") or "all").split(",") if t])
        except TopicError as exc:
            raise ApiError(400, f"parameter 'topics': {exc}") from None
        raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
        try:
            last_id = int(raw) if raw else None
        except ValueError:
            raise ApiError(400, "parameter 'last_event_id': expected an integer") from None
        services.live.ensure_started()
        try:
            sub = services.live.broker.subscribe(topics)
        except TooManyClients as exc:
            return refuse_stream(exc)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        response = Response(
            stream_with_context(stream(services, sub, topics, last_id, client_gone(request.environ))),
            mimetype="text/event-stream",
            headers=headers,
        )
        response.call_on_close(lambda: services.live.broker.unsubscribe(sub))  # also when the stream never started
        return response

    server.add_url_rule("/api/stream", "live_stream", get_stream, methods=["GET"])
    register_compat_live(server, sock, services)
