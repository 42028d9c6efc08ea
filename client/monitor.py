"""``Monitor``: the client object a program holds, with the device
monitor's methods. Writes never block on the network: they queue in memory
and a background thread sends them (see ``sender.py``); reads
(``get_metrics``) are plain synchronous HTTP calls.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sqlite3
import threading
import time
import urllib.parse
import weakref
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from .config import DEFAULT_SOURCE, DEFAULT_URL, Config
from .config import spool_path as default_spool_path
from .execution import Execution
from .sender import Sender
from .spoolcsv import export_csv
from .spooldb import Spool
from .sse import Callback, Subscription, Topics
from .transport import Transport, TransportError
from .wire import Op, new_id, segment, utcnow

log = logging.getLogger("pulseboard.client")

EVENT_FIELDS = frozenset(
    ("ts", "source", "entity", "user", "session_id", "execution_id", "status", "value", "duration_ms", "attrs", "uid")
)


class MonitorError(RuntimeError):
    """A synchronous call (``get_metrics``) got no usable answer from the server."""


class Monitor:
    """A Pulseboard client: ``Monitor(url, api_key, source)``.

    ``spool_dir`` / ``spool_path``: where the offline spool lives (default
    ``<user data dir>/pulseboard/spool-<source>.db``); ``spool_max_bytes``: its
    bound. ``batch_size`` / ``flush_interval``: a batch leaves when it is full
    or at the latest this many seconds after the last one. ``max_queue``: the
    in-memory bound (beyond it, ``log_event`` writes to the spool itself).
    ``timeout``: per HTTP request; ``max_backoff``: longest wait between
    retries while the server is down; ``close_timeout``: how long ``close()``
    (and the exit hook) tries to deliver before leaving the rest in the spool.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        source: str = DEFAULT_SOURCE,
        *,
        spool_dir: str | os.PathLike[str] | None = None,
        spool_path: str | os.PathLike[str] | None = None,
        spool_max_bytes: int = 100_000_000,
        batch_size: int = 500,
        flush_interval: float = 0.2,
        max_queue: int = 10_000,
        timeout: float = 10.0,
        max_backoff: float = 30.0,
        close_timeout: float = 5.0,
    ) -> None:
        if batch_size < 1 or max_queue < batch_size:
            raise ValueError("need 1 <= batch_size <= max_queue")
        self.url = url
        self.source = source
        self._api_key = api_key
        self._timeout = timeout
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_queue = max_queue
        self._max_backoff = max_backoff
        self._close_timeout = close_timeout
        self._spool_max_bytes = spool_max_bytes
        self.spool_path = str(spool_path or default_spool_path(source, spool_dir))
        Transport(url, api_key)  # fail fast on a bad URL, in the caller's thread
        self._session_id: str | None = None
        self._closed = False
        self._start_sender()
        atexit.register(self._at_exit)
        _LIVE.add(self)

    def _start_sender(self) -> None:
        try:
            spool = Spool(self.spool_path, max_bytes=self._spool_max_bytes)
        except (OSError, sqlite3.Error) as exc:  # monitoring must not take the host down
            log.error("pulseboard client: cannot open the spool %s (%s); spooling in memory only", self.spool_path, exc)
            spool = Spool(":memory:", max_bytes=self._spool_max_bytes)
        transport = Transport(self.url, self._api_key, timeout=self._timeout)
        self._sender = Sender(
            transport,
            spool,
            batch_size=self._batch_size,
            flush_interval=self._flush_interval,
            max_backoff=self._max_backoff,
        )
        self._queue = self._sender.queue
        self._wake = self._sender.wake.set

    @classmethod
    def from_env(cls, **overrides: Any) -> Monitor:
        """A monitor configured from PULSE_URL, PULSE_API_KEY, PULSE_SOURCE and PULSE_SPOOL_DIR."""
        config = Config.from_env()
        kwargs: dict[str, Any] = {
            "url": config.url,
            "api_key": config.api_key,
            "source": config.source,
            "spool_dir": config.spool_dir,
        } | overrides
        return cls(**kwargs)

    def start(self) -> Monitor:
        """Kept for the device monitor's ``monitor.start()``: the sender already runs."""
        return self

    # ------------------------------------------------------------ events

    def log_event(
        self, type: str, message: str | None = None, context: Mapping[str, Any] | None = None, **fields: Any
    ) -> None:
        """Queue one event and return at once. ``context`` becomes the event's ``attrs``;
        ``fields`` are event fields (entity, user, status, value, duration_ms, ts, ...)."""
        event: dict[str, Any] = {"ts": time.time(), "source": self.source, "type": type}
        if message is not None:
            event["message"] = message
        if context:
            event["attrs"] = dict(context)  # a copy: the caller may reuse its dict
        if self._session_id is not None:
            event["session_id"] = self._session_id
        if fields:
            if not EVENT_FIELDS.issuperset(fields):
                raise TypeError(f"log_event() got unknown fields {sorted(set(fields) - EVENT_FIELDS)}")
            if context and "attrs" in fields:
                fields["attrs"] = {**event["attrs"], **fields["attrs"]}
            event.update(fields)
        queue = self._queue
        if len(queue) >= self._max_queue or self._closed:
            self._sender.spill((event,))
            return
        queue.append(event)
        if len(queue) % self._batch_size == 0:
            self._wake()

    def update_system_state(
        self, component: str, status: str, detail: str | None = None, ttl_seconds: float | None = None
    ) -> None:
        """Set a component's state (camera online, cloud offline ...). Without a
        new report within ``ttl_seconds`` (default: the server's setting) the
        dashboard shows the component offline."""
        body: dict[str, Any] = {"status": status, "detail": detail, "source": self.source}
        if ttl_seconds is not None:
            body["ttl_seconds"] = ttl_seconds
        self.send_record("PUT", f"/api/components/{segment(component)}", body)

    def start_session(
        self, session_id: str | None = None, user: str | None = None, attrs: Mapping[str, Any] | None = None
    ) -> str:
        """Start a session and return its id; events logged after it carry that session_id."""
        session_id = session_id or new_id("sess")
        body: dict[str, Any] = {"id": session_id, "source": self.source, "ts": utcnow()}
        if user is not None:
            body["user"] = user
        if attrs:
            body["attrs"] = dict(attrs)
        self.send_record("POST", "/api/sessions", body)
        self._session_id = session_id
        return session_id

    def end_session(self, session_id: str | None = None) -> None:
        """End ``session_id`` (default: the current session)."""
        target = session_id or self._session_id
        if target is None:
            raise ValueError("no session to end: start_session() was not called")
        self.send_record("POST", f"/api/sessions/{segment(target)}/end", {"ts": utcnow()})
        if target == self._session_id:
            self._session_id = None

    @property
    def session_id(self) -> str | None:
        return self._session_id

    # ------------------------------------------------------------ executions

    def record_execution(
        self,
        script: str,
        *,
        status: str | None = None,
        exit_code: int | None = None,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
        duration_ms: float | None = None,
        attempt: int = 1,
        metrics: Mapping[str, float] | None = None,
        attrs: Mapping[str, Any] | None = None,
        execution_id: str | None = None,
    ) -> str:
        """Record a run in one call (typically a finished one); returns its id. The id is
        made here, so a retried request stores the run once."""
        execution_id = execution_id or new_id("exe")
        body = {
            "id": execution_id,
            "script": script,
            "source": self.source,
            "started_at": started_at,
            "finished_at": finished_at,
            "duration_ms": duration_ms,
            "status": status,
            "exit_code": exit_code,
            "attempt": attempt,
            "metrics": dict(metrics or {}),
            "attrs": dict(attrs) if attrs else None,
        }
        self.send_record("POST", "/api/executions", {k: v for k, v in body.items() if v is not None})
        return execution_id

    def execution(
        self, script: str, *, attempt: int = 1, attrs: Mapping[str, Any] | None = None, execution_id: str | None = None
    ) -> Execution:
        """``with monitor.execution("nightly-report") as run: run.metric("rows", 1200)``"""
        return Execution(self, script, attempt=attempt, attrs=attrs, execution_id=execution_id)

    def send_record(self, method: str, path: str, body: dict[str, Any]) -> None:
        """Queue a write other than an event (``POST /api/executions`` ...), in line with the events."""
        op = Op(method, path, body)
        if len(self._queue) >= self._max_queue or self._closed:
            self._sender.spill((op,))
            return
        self._queue.append(op)
        self._wake()  # records are few and often awaited (end of a run): send soon

    # ------------------------------------------------------------ reading

    def get_metrics(self, **params: Any) -> dict[str, Any]:
        """``GET /api/metrics`` (device-monitor metrics); ``params`` become the query string."""
        path = "/api/metrics" + (f"?{urllib.parse.urlencode(params, doseq=True)}" if params else "")
        transport = Transport(self.url, self._api_key, timeout=self._timeout)
        try:
            answer = transport.request("GET", path)
        except TransportError as exc:
            raise MonitorError(str(exc)) from None
        finally:
            transport.close()
        if answer.status != 200:
            raise MonitorError(answer.error_message())
        value = answer.json()
        if not isinstance(value, dict):
            raise MonitorError(f"GET /api/metrics: expected a JSON object, got {type(value).__name__}")
        return value

    def subscribe(self, callback: Callback, topics: Topics = None, *, last_event_id: str | None = None) -> Subscription:
        """Follow the live feed (``GET /api/stream``) in a daemon thread: ``callback(event_type,
        data)`` per event; reconnects with ``Last-Event-ID``. Call ``.close()`` on the result."""
        transport = Transport(self.url, self._api_key, timeout=self._timeout)
        return Subscription(transport, callback, topics, last_event_id=last_event_id)

    def stats(self) -> dict[str, Any]:
        """The client's own counters: queued, sent, spooled, replayed, dead, dropped ..."""
        return {"url": self.url, "source": self.source, **self._sender.stats(), "spool": self._sender.spool.stats()}

    def export_metrics(self, path: str | os.PathLike[str] | None = None) -> str:
        """Write the server's metrics and the client's counters as JSON; returns the file path."""
        now = utcnow()
        target = Path(path or f"metrics_export_{now:%Y%m%d_%H%M%S}.json")
        server: dict[str, Any] | None = None
        error = None
        try:
            server = self.get_metrics()
        except MonitorError as exc:
            error = str(exc)
        target.parent.mkdir(parents=True, exist_ok=True)
        snapshot = {"exported_at": now.isoformat(), "metrics": server, "server_error": error, "client": self.stats()}
        target.write_text(json.dumps(snapshot, indent=2, default=str), encoding="utf-8")
        return str(target)

    def export_spool_csv(self, path: str | os.PathLike[str], *, include_dead: bool = True) -> int:
        """What waits in the spool (and its dead letters) as CSV; returns the line count."""
        return export_csv(self._sender.spool, path, include_dead=include_dead)

    # ------------------------------------------------------------ lifecycle

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued or spooled is acknowledged; False on timeout."""
        return self._sender.flush(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Send what is queued (or spool it), stop the sender. Also runs at exit."""
        if self._closed:
            return
        self._closed = True
        self._sender.close(self._close_timeout if timeout is None else timeout)
        atexit.unregister(self._at_exit)

    @property
    def closed(self) -> bool:
        return self._closed

    def _at_exit(self) -> None:
        try:
            self.close()
        except Exception:  # never turn a clean exit into a traceback
            log.exception("pulseboard client: close at exit failed")

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _after_fork(self) -> None:
        """In a forked child: a sender of its own (the parent's queue stays the parent's)."""
        _ORPHANS.append(self._sender)  # never touch the parent's SQLite handle here
        if not self._closed:
            self._start_sender()


_LIVE: weakref.WeakSet[Monitor] = weakref.WeakSet()
_ORPHANS: list[Sender] = []
_instance: Monitor | None = None
_instance_lock = threading.Lock()


def _reinit_after_fork() -> None:
    global _instance_lock
    _instance_lock = threading.Lock()
    for monitor in list(_LIVE):
        monitor._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)


def get_monitor(**overrides: Any) -> Monitor:
    """The process-wide monitor, made on first use from PULSE_URL, PULSE_API_KEY,
    PULSE_SOURCE and PULSE_SPOOL_DIR (``overrides`` apply to that first call)."""
    global _instance
    with _instance_lock:
        if _instance is None or _instance.closed:
            _instance = Monitor.from_env(**overrides)
        return _instance
