"""The socket events of the dashboards Pulseboard replaces: one session's
live figures for the macro-sessions tool's clients, and the live metrics of
the payments admin panel's clients. Spoken on ``/ws`` as JSON messages with a
``type`` and over Socket.IO (``live/socketio.py``), where the type is the
event name and the message its payload.

Macro sessions
    client -> server: ``join_session`` ``{"session_id": "sess_1"}``,
    ``leave_session``, ``request_update``.
    server -> client: ``initial_data`` (the session's ``metrics`` as
    ``GET /metrics/<session_id>`` gives them, ``null`` until it has an event,
    and its newest ``interactions`` as ``GET /interactions/<session_id>``
    gives them), then ``realtime_update`` (its new interactions in id order
    and its ``metrics`` updated), at most every ``FRAME_INTERVAL`` seconds;
    ``error`` on bad input.
Admin room
    client -> server: ``join_admin_room``, ``leave_admin_room``,
    ``request_live_update``.
    server -> client: ``status`` (``joined`` or ``left``), ``live_update``
    (``data``: the live metrics, as ``GET /admin/api/metrics/live`` gives
    them) on joining, every ``LIVE_EVERY`` seconds and
    at once when asked; ``error`` on bad input. The room needs what
    ``GET /admin/api/metrics/live`` needs under the sign-in policy.

On ``/ws``, ``request_update`` belongs to Pulseboard's own vocabulary
(``live/endpoints.py``) unless the socket joined a session and subscribed to
no topics: see :func:`takes`.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeGuard

import orjson

from auth.policy import ADMIN, INGEST, current_role, current_user, needs
from core.schemas import ID_PATTERN
from data.queries import Filters
from reports import admin, sessions
from reports.cache import cached
from services import Services

SESSION_TYPES = ("join_session", "leave_session", "request_update")
ADMIN_TYPES = ("join_admin_room", "leave_admin_room", "request_live_update")
ROOM_TYPES = frozenset(SESSION_TYPES + ADMIN_TYPES)
ADMIN_ROUTE = "/admin/api/metrics/live"  # the room shows what this route answers, to whom it answers
FRAME_INTERVAL = 0.25  # a session's metrics are recomputed per frame: bursts are coalesced to 4 a second
LIVE_EVERY = 5.0
LIVE_WINDOW = timedelta(hours=1)  # GET /admin/api/metrics/live's default window
RECENT = 100  # interactions in initial_data, as GET /interactions/<session_id> gives by default
MAX_QUEUE = 10_000
MAX_SESSION_ID = 100
_SESSION_ID = re.compile(ID_PATTERN)

Send = Callable[[dict[str, Any]], None]


class RoomError(ValueError):
    """Bad input to a room event: answered with an ``error`` message."""


def live_metrics(services: Services) -> dict[str, Any]:
    """The admin room's live metrics (CPU, memory, disk, response times, active
    users, transaction flow): what ``GET /admin/api/metrics/live`` answers."""
    return admin.live_metrics(services, window=LIVE_WINDOW, filters=Filters())


def takes(kind: object, *, in_session: bool, subscribed: bool) -> TypeGuard[str]:
    """Whether a ``/ws`` message of type ``kind`` is a room event. ``request_update``
    is one only on a socket in a session with no topics subscribed.

    >>> takes("join_admin_room", in_session=False, subscribed=True)
    True
    >>> takes("request_update", in_session=True, subscribed=False), takes("request_update", in_session=True, subscribed=True)
    (True, False)
    """
    if kind == "request_update":
        return in_session and not subscribed
    return kind in ROOM_TYPES


def plain(message: dict[str, Any]) -> dict[str, Any]:
    """``message`` with only JSON types (numpy numbers and timestamps as the HTTP API writes them)."""
    data = orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    out: dict[str, Any] = orjson.loads(data)
    return out


def connection_role() -> tuple[str, str | None]:
    """The role and user name of the request that opened the socket (``admin`` when sign-in is off)."""
    return current_role(), current_user()


def session_id_of(message: Any) -> str:
    value = message.get("session_id") if isinstance(message, Mapping) else None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_SESSION_ID or not _SESSION_ID.match(value):
        raise RoomError(
            f"join_session needs 'session_id': 1 to {MAX_SESSION_ID} letters, digits or _.:@- "
            f"(starting with a letter or digit), got {value!r}"[:300]
        )
    return value


class RoomHub:
    """One per process: which member joined which session, fed every batch the broker publishes."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._lock = threading.Lock()
        self._by_session: dict[str, set[RoomMember]] = {}
        self.wake = threading.Condition()  # notified when a member has events waiting
        services.live.broker.on_publish.append(self.publish)

    def member(self, send: Send, role: str, user: str | None = None) -> RoomMember:
        return RoomMember(self, send, role, user)

    def join(self, member: RoomMember, session_id: str) -> None:
        with self._lock:
            self._by_session.setdefault(session_id, set()).add(member)

    def leave(self, member: RoomMember, session_id: str) -> None:
        with self._lock:
            members = self._by_session.get(session_id)
            if members is not None:
                members.discard(member)
                if not members:
                    del self._by_session[session_id]

    def publish(self, events: list[dict[str, Any]]) -> None:
        """The broker's hook (its tail thread): hand each member its session's events, never blocking."""
        with self._lock:
            if not self._by_session:
                return
            picked: dict[str, list[dict[str, Any]]] = {}
            for event in events:
                session_id = event.get("session_id")
                if session_id in self._by_session:
                    picked.setdefault(session_id, []).append(event)
            targets = [(m, found) for session_id, found in picked.items() for m in self._by_session[session_id]]
        for member, found in targets:
            member.offer(found)
        if targets:
            with self.wake:
                self.wake.notify_all()


class RoomMember:
    """One socket's place in the rooms; ``handle`` and ``pump`` are called by its transport."""

    def __init__(self, hub: RoomHub, send: Send, role: str, user: str | None) -> None:
        self.hub = hub
        self.services = hub.services
        self.send = send
        self.role = role
        self.user = user
        self.session_id: str | None = None
        self.admin = False
        self.floor = 0  # the session's events up to this id went out in initial_data
        self.last_frame = 0.0
        self.next_live = math.inf
        self._queue: list[dict[str, Any]] = []
        self._overflowed = False
        self._queue_lock = threading.Lock()
        self._lock = threading.RLock()  # one member's messages and frames, one at a time

    # ------------------------------------------------------------ client events

    def handle(self, kind: str, message: Any) -> None:
        """Answer one room event; bad input is answered with ``error``, never raised."""
        handlers: dict[str, Callable[[Any], None]] = {
            "join_session": self._join_session,
            "leave_session": self._leave_session,
            "request_update": self._request_update,
            "join_admin_room": self._join_admin,
            "leave_admin_room": self._leave_admin,
            "request_live_update": self._request_live,
        }
        with self._lock:
            try:
                handlers[kind](message)
            except RoomError as exc:
                self.send({"type": "error", "event": kind, "message": str(exc)})

    def _join_session(self, message: Any) -> None:
        session_id = session_id_of(message)
        if self.session_id is not None and self.session_id != session_id:
            self.hub.leave(self, self.session_id)
        self.session_id = session_id
        self.hub.join(self, session_id)  # before reading: nothing committed meanwhile is missed
        self._send_initial()

    def _leave_session(self, _message: Any) -> None:
        if self.session_id is not None:
            self.hub.leave(self, self.session_id)
            self.session_id = None
        self._take()

    def _request_update(self, _message: Any) -> None:
        if self.session_id is None:
            raise RoomError("request_update needs a session: send join_session with a 'session_id' first")
        self._send_initial()

    def _join_admin(self, _message: Any) -> None:
        need = needs(ADMIN_ROUTE, "GET")
        if need == ADMIN and self.role != "admin":
            who = "API keys may read and ingest only" if self.role == "key" else f"{self.user or 'you'}: {self.role}"
            raise RoomError(f"the admin room needs a signed-in admin ({who})")
        if need == INGEST and self.role not in ("admin", "key"):
            raise RoomError(f"the admin room needs an admin or an API key ({self.user or 'you'}: {self.role})")
        self.admin = True
        self.send(
            {
                "type": "status",
                "status": "joined",
                "room": "admin",
                "message": f"joined the admin room: live updates every {LIVE_EVERY:g} s",
                "interval_seconds": LIVE_EVERY,
            }
        )
        self._send_live()

    def _leave_admin(self, _message: Any) -> None:
        self.admin = False
        self.next_live = math.inf
        self.send({"type": "status", "status": "left", "room": "admin", "message": "left the admin room"})

    def _request_live(self, _message: Any) -> None:
        if not self.admin:
            raise RoomError("request_live_update needs the admin room: send join_admin_room first")
        self._send_live()

    # ------------------------------------------------------------ server frames

    def offer(self, events: list[dict[str, Any]]) -> None:
        """Queue this member's session events (the broker's thread); a full queue turns into a resync."""
        with self._queue_lock:
            if self._overflowed:
                return
            if len(self._queue) + len(events) > MAX_QUEUE:
                self._queue.clear()
                self._overflowed = True
            else:
                self._queue.extend(events)

    def _take(self) -> tuple[list[dict[str, Any]], bool]:
        with self._queue_lock:
            events, self._queue = self._queue, []
            overflowed, self._overflowed = self._overflowed, False
            return events, overflowed

    def due(self, now: float) -> float:
        """Seconds until :meth:`pump` has something to send (``inf``: nothing)."""
        wait = self.next_live - now if self.admin else math.inf
        if self._queue or self._overflowed:
            wait = min(wait, self.last_frame + FRAME_INTERVAL - now)
        return max(0.0, wait)

    def pump(self) -> None:
        """Send the session's new interactions and the admin room's live update when due."""
        with self._lock:
            now = time.monotonic()
            if self.session_id is not None and now >= self.last_frame + FRAME_INTERVAL:
                events, overflowed = self._take()
                if overflowed:  # fell too far behind: start again from the database
                    self._send_initial()
                else:
                    fresh = [e for e in events if e["id"] > self.floor and e.get("session_id") == self.session_id]
                    if fresh:  # a start or end marker alone still moves the metrics
                        self._send_update(self.session_id, fresh)
            if self.admin and now >= self.next_live:
                self._send_live()

    def _metrics(self, session_id: str) -> dict[str, Any] | None:
        svc = self.services

        def compute() -> dict[str, Any] | None:
            with svc.db.read() as conn:
                found = sessions.session_metrics(conn, session_id, svc.now())
            return plain(found) if found is not None else None

        # Shared by every member of the session; recomputed once a new event is stored.
        return cached(svc, ("room-session-metrics", session_id), compute, ttl=1.0)

    def _send_initial(self) -> None:
        assert self.session_id is not None
        self._take()
        svc = self.services
        with svc.db.read() as conn:
            recent = sessions.interactions(conn, self.session_id, RECENT)
        self.floor = max([svc.live.broker.last_id, *(e["id"] for e in recent)])
        message = {
            "type": "initial_data",
            "session_id": self.session_id,
            "timestamp": svc.now().isoformat(),
            "metrics": self._metrics(self.session_id),
            "interactions": recent,
            "count": len(recent),
            "last_id": self.floor,
        }
        self.send(plain(message))
        self.last_frame = time.monotonic()

    def _send_update(self, session_id: str, events: list[dict[str, Any]]) -> None:
        interactions = [e for e in events if e.get("type") not in sessions.MARKERS]
        message = {
            "type": "realtime_update",
            "session_id": session_id,
            "timestamp": self.services.now().isoformat(),
            "interactions": interactions,
            "count": len(interactions),
            "last_id": max(e["id"] for e in events),
            "metrics": self._metrics(session_id),
        }
        self.send(plain(message))
        self.last_frame = time.monotonic()

    def _send_live(self) -> None:
        svc = self.services
        data = plain(live_metrics(svc))  # cached there like the route's answer
        self.send({"type": "live_update", "room": "admin", "timestamp": data.get("timestamp"), "data": data})
        self.next_live = time.monotonic() + LIVE_EVERY

    def close(self) -> None:
        with self._lock:
            if self.session_id is not None:
                self.hub.leave(self, self.session_id)
                self.session_id = None
            self.admin = False
