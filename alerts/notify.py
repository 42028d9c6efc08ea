"""Notifications of alerts: a live toast, the log, webhooks (raw JSON,
Slack, Teams), e-mail through the outbox, and SMS through an HTTP gateway.

* ``live``: an event (source ``pulseboard``, type ``alert``, entity = rule
  name, status = severity or ``resolved``, message = summary, attrs =
  ``{alert_id, fingerprint, state, kind, labels, link}``) written through
  ``data.ingest``, so every open dashboard raises a toast from the live feed.
* ``log``: one WARNING (firing) or INFO (resolved) line on the
  ``pulseboard.alerts`` logger.
* ``webhook``: a JSON POST, sent off the evaluation thread by a small pool
  of workers, retried with exponential backoff, behind a circuit breaker per
  URL: after ``breaker_failures`` failed deliveries in a row the URL is not
  tried for ``breaker_cooldown`` seconds (those deliveries are recorded as
  failed at once), so a dead endpoint neither slows evaluation nor ties up
  the workers.
* ``slack`` and ``teams``: the same sender and breaker as webhooks, with a
  Slack-compatible (``text`` + ``blocks``) or a Teams (Adaptive Card) body
  (alerts.chat).
* ``email``: the notice joins its rule's group mail in the outbox
  (alerts.mail); the mailer (jobs.mailer) sends it.
* ``sms``: error alerts only; the ``sms_body`` template filled and sent to
  ``sms_url`` (GET or POST) through the webhook sender and its breaker.

Every delivery is recorded in ``alert_notifications`` (ok, attempts, error;
for e-mail: queued, with the outbox message ids, whose state is the outbox's).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from alerts import chat
from alerts.mail import MailGroups
from data import alerts as store
from data.ingest import event_row, ingest

log = logging.getLogger("pulseboard.alerts")
SOURCE = "pulseboard"


@dataclasses.dataclass(frozen=True)
class Notice:
    """One notification of one alert, for every target of its rule."""

    alert_id: int
    kind: str  # firing | repeat | resolved
    rule: str
    severity: str
    fingerprint: str
    labels: dict[str, str]
    value: float | None
    summary: str
    link: str
    ts: datetime
    targets: tuple[tuple[str, str | None], ...]  # (type, url or addresses or SMS name)
    group_waits: tuple[tuple[str, float], ...] = ()  # e-mail addresses -> group_wait seconds

    @property
    def state(self) -> str:
        return "resolved" if self.kind == "resolved" else "firing"

    def payload(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "kind": self.kind,
            "state": self.state,
            "rule": self.rule,
            "severity": self.severity,
            "fingerprint": self.fingerprint,
            "labels": self.labels,
            "value": self.value,
            "summary": self.summary,
            "link": self.link,
            "timestamp": self.ts.isoformat(),
        }


@dataclasses.dataclass
class _Breaker:
    failures: int = 0
    open_until: float = 0.0


class Notifier:
    def __init__(
        self,
        services: Any,
        *,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 5.0,
        breaker_failures: int = 3,
        breaker_cooldown: float = 60.0,
        workers: int = 2,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.services = services
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self.breaker_failures, self.breaker_cooldown = breaker_failures, breaker_cooldown
        self.monotonic = monotonic
        self.queue: queue.Queue[tuple[str, Notice, str] | None] = queue.Queue()  # (type, notice, address)
        self.mail = MailGroups(services)
        self.breakers: dict[str, _Breaker] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._workers = workers

    # ------------------------------------------------------------ dispatch

    def dispatch(self, notices: list[Notice]) -> int:
        """Send ``notices``: live and log at once (one write for all), webhooks
        queued. Returns the number of deliveries started."""
        if not notices:
            return 0
        live = [n for n in notices if ("live", None) in n.targets]
        rows: list[tuple[Notice, str, bool, int, str | None]] = []
        if live:
            try:
                result = ingest(self.services.db, [self._live_event(n) for n in live])
                self.services.committed(result.stored)
                rows += [(n, "live", True, 1, None) for n in live]
            except Exception as exc:  # a failed toast must not stop the others
                log.exception("live alert notification failed")
                rows += [(n, "live", False, 1, str(exc)[:500]) for n in live]
        for n in notices:
            if ("log", None) in n.targets:
                level = logging.INFO if n.kind == "resolved" else logging.WARNING
                log.log(level, "alert %s [%s] %s: %s (%s)", n.kind, n.severity, n.rule, n.summary, n.link)
                rows.append((n, "log", True, 1, None))
        self._record(rows)
        started = len(rows)
        for n in notices:
            for kind, address in n.targets:
                if kind in ("live", "log") or not address:
                    continue
                if kind == "sms" and n.severity != "error":
                    continue  # SMS wake people: error alerts only
                self._ensure_workers()
                self.queue.put((kind, n, address))
                started += 1
        return started

    def _live_event(self, n: Notice) -> dict[str, Any]:
        attrs = {
            "alert_id": n.alert_id,
            "fingerprint": n.fingerprint,
            "state": n.state,
            "kind": n.kind,
            "labels": n.labels,
            "link": n.link,
        }
        status = "resolved" if n.kind == "resolved" else n.severity
        return event_row(
            n.ts, SOURCE, "alert", entity=n.rule[:200], status=status, message=n.summary, value=n.value, attrs=attrs
        )

    def _record(self, rows: list[tuple[Notice, str, bool, int, str | None]]) -> None:
        if not rows:
            return
        try:
            with self.services.db.write() as conn:
                for n, target, ok, attempts, error in rows:
                    store.insert_notification(
                        conn,
                        alert_id=n.alert_id,
                        ts=self.services.now(),
                        kind=n.kind,
                        target=target,
                        ok=ok,
                        attempts=attempts,
                        error=error,
                    )
        except Exception:  # e.g. the rule (and its alerts) was deleted meanwhile
            log.exception("recording alert notifications failed")

    # ------------------------------------------------------------ webhooks

    def _ensure_workers(self) -> None:
        with self._lock:
            if self._threads or self._stop.is_set():
                return
            for i in range(self._workers):
                thread = threading.Thread(target=self._work, name=f"alert-webhook-{i}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while True:
            item = self.queue.get()
            try:
                if item is None:
                    return
                kind, notice, address = item
                self._record(self._send(kind, notice, address))
            except Exception:
                log.exception("%s notification failed", item[0] if item else "")
            finally:
                self.queue.task_done()

    def _send(self, kind: str, notice: Notice, address: str) -> list[tuple[Notice, str, bool, int, str | None]]:
        """Deliver one notice to one target; the rows to record."""
        settings = self.services.settings
        base = getattr(settings, "public_url", "")
        if kind == "webhook":
            return [(notice, address, *self.deliver(address, notice.payload()))]
        if kind in ("slack", "teams"):
            payload = chat.slack_payload(notice, base) if kind == "slack" else chat.teams_payload(notice, base)
            return [(notice, f"{kind}:{address}", *self.deliver(address, payload))]
        if kind == "sms":
            return [(notice, f"sms:{address}", *self.send_sms(notice, address))]
        if kind == "email":
            recipients = tuple(a for a in address.split(",") if a)
            wait = dict(notice.group_waits).get(address, 30.0)
            ids = self.mail.add(notice, recipients, wait)
            return [
                (notice, f"email:{to}", to in ids, 0, None if to in ids else "not queued: the same notice is queued")
                for to in recipients
            ]
        return [(notice, kind, False, 0, f"unknown target type {kind!r}")]

    def send_sms(self, notice: Notice, name: str) -> tuple[bool, int, str | None]:
        """Text ``name`` (a name of ``sms_to``, or a number) through the gateway."""
        settings = self.services.settings
        if not getattr(settings, "sms_url", ""):
            return False, 0, "no SMS gateway is set (--sms-url)"
        numbers = settings.sms_numbers()
        number = numbers.get(name) or (name if name.lstrip("+").isdigit() else None)
        if number is None:
            return False, 0, f"no number for {name!r} in --sms-to"
        url, method, body, content_type = chat.sms_request(
            notice,
            url=settings.sms_url,
            method=settings.sms_method,
            body=settings.sms_body,
            number=number,
            base=getattr(settings, "public_url", ""),
        )
        return self.request(url, data=body, method=method, content_type=content_type)

    def deliver(self, url: str, payload: dict[str, Any]) -> tuple[bool, int, str | None]:
        """POST ``payload`` as JSON with retries; ``(ok, attempts, error)``."""
        return self.request(url, data=orjson.dumps(payload), method="POST", content_type="application/json")

    def request(
        self, url: str, *, data: bytes | None, method: str, content_type: str | None
    ) -> tuple[bool, int, str | None]:
        """One HTTP request with retries and exponential backoff, behind the
        URL's circuit breaker (a gateway URL with the message in its query is
        keyed without it); ``(ok, attempts, error)``."""
        key = url.split("?", 1)[0] if method == "GET" else url
        with self._lock:
            breaker = self.breakers.setdefault(key, _Breaker())
            if breaker.open_until > self.monotonic():
                return False, 0, "circuit open: the endpoint failed repeatedly; not tried"
        headers = {"User-Agent": "pulseboard-alerts"}
        if content_type:
            headers["Content-Type"] = content_type
        error: str | None = None
        attempts = 0
        for attempt in range(self.retries):
            attempts = attempt + 1
            try:
                req = urllib.request.Request(url, data=data, method=method, headers=headers)
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    if 200 <= resp.status < 300:
                        error = None
                        break
                    error = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                error = f"HTTP {exc.code}"
            except Exception as exc:  # connection refused, timeout, DNS...
                error = f"{type(exc).__name__}: {exc}"[:500]
            if attempt + 1 < self.retries and self._stop.wait(self.backoff * 2**attempt):
                break
        with self._lock:
            if error is None:
                breaker.failures, breaker.open_until = 0, 0.0
            else:
                breaker.failures += 1
                if breaker.failures >= self.breaker_failures:
                    breaker.open_until = self.monotonic() + self.breaker_cooldown
        return error is None, attempts, error

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every queued webhook is delivered (or given up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for _ in self._threads:
            self.queue.put(None)
        for thread in self._threads:
            thread.join(timeout=timeout)
        self._threads.clear()
