"""Following the live feed: ``GET /api/stream`` (Server-Sent Events) in a
daemon thread, reconnecting with ``Last-Event-ID`` so that nothing between
two connections is missed (as far as the server keeps history).

Each event's ``data:`` is parsed as JSON; a JSON list is delivered item by
item. The callback gets ``(event_type, data)`` like the device
monitor's ``subscribe``: ``event_type`` is the ``type`` of the data (``scan``,
``sync`` ...), else the SSE ``event:`` name, else ``"message"``. ``topics`` are
the server's topics: ``["source:scanner", "entity:gate-1"]``, a mapping
``{"source": "scanner"}`` or ``"all"`` (the default).
"""

from __future__ import annotations

import json
import logging
import random
import socket
import threading
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .transport import Transport

log = logging.getLogger("pulseboard.client")

Callback = Callable[[str, Any], None]
Topics = str | Sequence[str] | Mapping[str, str] | None
STREAM_PATH = "/api/stream"
READ_TIMEOUT = 90.0  # well above the server's keepalive interval: silence this long means a dead link


class Subscription:
    def __init__(
        self,
        transport: Transport,
        callback: Callback,
        topics: Topics = None,
        *,
        last_event_id: str | None = None,
        path: str = STREAM_PATH,
        max_delay: float = 30.0,
    ) -> None:
        self.callback = callback
        self.last_event_id = last_event_id
        self.connected = threading.Event()
        self.received = 0
        self._transport = transport
        query = urllib.parse.urlencode({"topics": topic_list(topics)})
        self._path = f"{transport.prefix}{path}?{query}"
        self._max_delay = max_delay
        self._retry: float | None = None  # the server's "retry:" hint, seconds
        self._stop = threading.Event()
        self._sock_lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name="pulseboard-subscribe", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._sock_lock:
            if self._sock is not None:
                try:
                    self._sock.shutdown(socket.SHUT_RDWR)  # wakes the reader blocked in recv
                except OSError:
                    pass
        self._thread.join(timeout)

    @property
    def closed(self) -> bool:
        return self._stop.is_set()

    def _run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            before = self.received
            try:
                self._stream()
            except Exception as exc:  # any failure: reconnect later
                if not self._stop.is_set():
                    log.debug("pulseboard client: stream %s: %s", self._path, exc)
            self.connected.clear()
            if self.received > before:
                delay = 0.5
            wait = self._retry if self._retry is not None else delay
            self._stop.wait(wait / 2 + random.uniform(0, wait / 2))
            delay = min(delay * 2, self._max_delay)

    def _stream(self) -> None:
        conn = self._transport.connection(timeout=READ_TIMEOUT)
        headers = dict(self._transport.headers) | {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        try:
            conn.request("GET", self._path, headers=headers)
            with self._sock_lock:
                self._sock = conn.sock
            if self._stop.is_set():
                return
            resp = conn.getresponse()
            if resp.status != 200:
                body = resp.read(300).decode("utf-8", "replace")
                log.warning("pulseboard client: GET %s answered %s: %s", self._path, resp.status, body)
                return
            self.connected.set()
            self._read(resp)
        finally:
            with self._sock_lock:
                self._sock = None
            conn.close()

    def _read(self, resp: Any) -> None:
        data: list[str] = []
        event = ""
        event_id: str | None = None
        while not self._stop.is_set():
            raw = resp.readline(1 << 20)
            if not raw:
                return  # the server ended the stream
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                if data:
                    if event_id is not None:
                        self.last_event_id = event_id
                    self._dispatch(event, "\n".join(data))
                data, event, event_id = [], "", None
                continue
            if line.startswith(":"):
                continue  # a comment: keepalive
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
            elif name == "id" and "\0" not in value:
                event_id = value
            elif name == "retry" and value.isdigit():
                self._retry = int(value) / 1000

    def _dispatch(self, event: str, text: str) -> None:
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        for item in value if isinstance(value, list) else [value]:
            kind = item.get("type") if isinstance(item, dict) and isinstance(item.get("type"), str) else ""
            kind = kind or event or "message"
            self.received += 1
            try:
                self.callback(kind, item)
            except Exception:  # the subscriber's bug must not end the subscription
                log.exception("pulseboard client: subscribe callback failed")


def topic_list(topics: Topics) -> str:
    """The ``topics`` query parameter: comma-separated ``kind:value`` topics.

    >>> topic_list({"source": "scanner"}), topic_list(["all"]), topic_list(None)
    ('source:scanner', 'all', 'all')
    """
    if topics is None:
        return "all"
    if isinstance(topics, str):
        return topics
    if isinstance(topics, Mapping):
        return ",".join(f"{kind}:{value}" for kind, value in topics.items())
    return ",".join(topics) or "all"
