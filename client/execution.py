"""``Execution``: one run of a script, recorded when it starts (status
``running``) and when it finishes, as a context manager or by hand."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, Protocol

from .wire import new_id, segment, utcnow


class Recorder(Protocol):
    """What an execution needs of its monitor."""

    source: str

    def send_record(self, method: str, path: str, body: dict[str, Any]) -> None: ...

    def log_event(
        self, type: str, message: str | None = None, context: Mapping[str, Any] | None = None, **fields: Any
    ) -> None: ...


class Execution:
    """One run of a script, recorded at start (``running``) and at finish."""

    def __init__(
        self,
        monitor: Recorder,
        script: str,
        *,
        attempt: int = 1,
        attrs: Mapping[str, Any] | None = None,
        execution_id: str | None = None,
    ) -> None:
        self.monitor = monitor
        self.script = script
        self.attempt = attempt
        self.id = execution_id or new_id("exe")
        self.attrs: dict[str, Any] = dict(attrs or {})
        self.metrics: dict[str, float] = {}
        self.started_at: datetime | None = None
        self.finished = False
        self._t0 = 0.0

    def start(self) -> Execution:
        self.started_at = utcnow()
        self._t0 = time.monotonic()
        body = {
            "id": self.id,
            "script": self.script,
            "source": self.monitor.source,
            "started_at": self.started_at,
            "status": "running",
            "attempt": self.attempt,
            "attrs": self.attrs or None,
        }
        self.monitor.send_record("POST", "/api/executions", {k: v for k, v in body.items() if v is not None})
        return self

    def metric(self, name: str, value: float) -> None:
        self.metrics[name] = float(value)

    def log_event(
        self, type: str, message: str | None = None, context: Mapping[str, Any] | None = None, **fields: Any
    ) -> None:
        fields.setdefault("execution_id", self.id)
        self.monitor.log_event(type, message, context, **fields)

    def finish(
        self,
        status: str | None = None,
        exit_code: int | None = None,
        *,
        metrics: Mapping[str, float] | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        """Record the end; ``status`` defaults to success (or failed for a non-zero exit code)."""
        if self.finished:
            return
        if self.started_at is None:
            self.start()
        assert self.started_at is not None
        self.finished = True
        duration_ms = (time.monotonic() - self._t0) * 1000
        self.metrics.update({k: float(v) for k, v in (metrics or {}).items()})
        finished_attrs = dict(attrs or {})
        body = {
            "finished_at": datetime.fromtimestamp(self.started_at.timestamp() + duration_ms / 1000, timezone.utc),
            "duration_ms": round(duration_ms, 3),
            "status": status or ("success" if not exit_code else "failed"),
            "exit_code": exit_code,
            "metrics": self.metrics,
            "attrs": finished_attrs or None,
        }
        self.monitor.send_record(
            "POST", f"/api/executions/{segment(self.id)}/finish", {k: v for k, v in body.items() if v is not None}
        )

    def __enter__(self) -> Execution:
        return self if self.started_at is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.finish()
        elif isinstance(exc, KeyboardInterrupt):
            self.finish("interrupted", attrs={"error": "KeyboardInterrupt"})
        else:
            self.finish("failed", attrs={"error": f"{type(exc).__name__}: {exc}"[:2000]})
        # the exception, if any, propagates
