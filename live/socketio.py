"""Socket.IO on Pulseboard's own port, for the clients of the dashboards it
replaces that spoke Flask-SocketIO: an unchanged ``io();
socket.emit('join_admin_room')`` page gets its ``live_update`` events.

The events are those of ``live/rooms.py``: the client emits the message type
as the event name with the rest of the message as its payload, and the
server emits each message under its ``type``. python-socketio runs in
threading mode and wraps the Flask app at ``/socket.io/``, so gunicorn's
threaded worker and the test servers serve it beside ``/ws`` with nothing
else to set; both the websocket and the polling transport work.

A connection takes a place under the live-client cap (``--max-ws-clients``)
for as long as it is open and, with sign-in on, passes the same policy as
``/ws`` when it connects (a signed-in session from the dashboard's own
origin, or an API key): its handshake request goes through the app's
before-request hooks. One thread per process sends every connection's
frames; it ends the connections when the server stops.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import socketio
from flask import Flask

from live.broker import Subscriber, TooManyClients
from live.rooms import ROOM_TYPES, RoomHub, RoomMember, connection_role
from services import Services

log = logging.getLogger(__name__)

PATH = "socket.io"
MAX_MESSAGE = 64 * 1024  # room events are a few bytes; a client cannot make the server buffer more
IDLE_WAIT = 0.5


class Refused(socketio.exceptions.ConnectionRefusedError):  # type: ignore[misc]
    """A refused connection: the client's ``connect_error`` carries ``message`` and ``data``."""

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message, {"type": "error", "message": message, **data})


class SocketIOServer:
    """The room events over Socket.IO: one member of the rooms per connection."""

    def __init__(self, server: Flask, services: Services, hub: RoomHub) -> None:
        self.server = server
        self.services = services
        self.hub = hub
        self.sio = socketio.Server(
            async_mode="threading",
            async_handlers=False,  # a client's events are answered in the order it sent them
            max_http_buffer_size=MAX_MESSAGE,
            ping_interval=25,
        )
        self.sio.on("connect", self.connect)
        self.sio.on("disconnect", self.disconnect)
        self.sio.on("*", self.event)
        self._members: dict[str, tuple[RoomMember, Subscriber]] = {}
        self._lock = threading.Lock()
        self._pump: threading.Thread | None = None
        self._pump_pid = 0

    def wrap(self) -> None:
        """Serve ``/socket.io/`` in front of the Flask app (a proxy fix added later wraps both)."""
        self.server.wsgi_app = socketio.WSGIApp(self.sio, self.server.wsgi_app, socketio_path=PATH)  # type: ignore[method-assign]

    @property
    def client_count(self) -> int:
        with self._lock:
            return len(self._members)

    def connect(self, sid: str, environ: dict[str, Any], _auth: Any = None) -> bool:
        # The handshake request passes the app's before-request hooks as any request to
        # /socket.io/ would: the sign-in policy (or, with sign-in off, the host and origin checks).
        with self.server.request_context(environ):
            refusal = self.server.preprocess_request()
            if refusal is not None:
                response = self.server.make_response(refusal)
                body = response.get_json(silent=True) or {}
                raise Refused(str(body.get("error") or "connection refused"), status=response.status_code)
            role, user = connection_role()
        self.services.live.ensure_started()
        try:
            slot = self.services.live.broker.subscribe(frozenset())  # a place under the cap only
        except TooManyClients as exc:
            raise Refused(str(exc), code=exc.code, retry_after=exc.retry_after) from None
        member = self.hub.member(lambda message: self.emit(sid, message), role, user)
        with self._lock:
            self._members[sid] = (member, slot)
        self._ensure_pump()
        return True

    def disconnect(self, sid: str, _reason: Any = None) -> None:
        with self._lock:
            found = self._members.pop(sid, None)
        if found is not None:
            member, slot = found
            member.close()
            self.services.live.broker.unsubscribe(slot)

    def emit(self, sid: str, message: dict[str, Any]) -> None:
        self.sio.emit(message["type"], message, to=sid)

    def event(self, name: str, sid: str, *args: Any) -> None:
        with self._lock:
            found = self._members.get(sid)
        if found is None:
            return
        if name in ROOM_TYPES:
            found[0].handle(name, args[0] if args else None)
        else:
            self.emit(
                sid,
                {
                    "type": "error",
                    "event": name,
                    "message": f"unknown event {name!r}"[:200] + f"; send one of {', '.join(sorted(ROOM_TYPES))}",
                },
            )

    def _ensure_pump(self) -> None:
        with self._lock:
            if self._pump is not None and self._pump.is_alive() and self._pump_pid == os.getpid():
                return
            self._pump = threading.Thread(target=self._run, name="pulse-socketio", daemon=True)
            self._pump_pid = os.getpid()
            self._pump.start()

    def _run(self) -> None:
        stopping = self.services.live.stopping
        while not stopping.is_set():
            with self._lock:
                members = [member for member, _ in self._members.values()]
            with self.hub.wake:  # held while deciding to wait: a publish cannot slip between
                now = time.monotonic()
                wait = min((m.due(now) for m in members), default=IDLE_WAIT)
                if wait > 0:
                    self.hub.wake.wait(min(wait, IDLE_WAIT))
            for member in members:
                try:
                    member.pump()
                except Exception:  # one client's failed frame must not end the others' feed
                    log.exception("Socket.IO frame failed")
        with self._lock:
            sids = list(self._members)
        for sid in sids:
            self.sio.disconnect(sid)


def register_socketio(server: Flask, services: Services, hub: RoomHub) -> SocketIOServer:
    bridge = SocketIOServer(server, services, hub)
    bridge.wrap()
    server.extensions["pulseboard_socketio"] = bridge
    return bridge
