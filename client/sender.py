"""The background sender: takes what the host queued, sends it in batches,
spools what the server cannot take now and replays the spool in order.

Order: every request gets a sequence number when it leaves the in-memory
queue (under one lock, so numbers follow queue order), the spool replays by
that number, and while the spool holds anything new requests go in behind
it. A request goes to the spool on a connection error, a timeout, 5xx, 408,
429, 401 or 403 (the last two are a configuration problem; the data is kept
for when the key is fixed). Other 4xx answers are final: the request moves
to the spool's dead-letter table with the server's error. A 413 splits the
batch in halves; a 422 that names the bad events dead-letters only those.

Loss bound: a crash of the host loses what is still in memory - the queue
(sent within one flush interval, or as soon as one batch is full) and the
batch being sent at that moment: at most about two batches or two flush
intervals of events. Everything handed to the spool survives a crash.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from .spooldb import Request, Spool
from .transport import Answer, Transport, TransportError
from .wire import Op, events_request, lenient, op_request, prepare

log = logging.getLogger("pulseboard.client")

_RETRY_4XX = (401, 403, 408, 429)  # kept for later; other 4xx answers are final
COUNTERS = (
    "events_taken",
    "events_sent",
    "events_stored",
    "events_duplicate",
    "events_spooled",
    "events_replayed",
    "events_dead",
    "events_dropped",
    "records_sent",
    "records_dead",
    "requests_sent",
    "requests_failed",
)


class Sender:
    def __init__(
        self, transport: Transport, spool: Spool, *, batch_size: int, flush_interval: float, max_backoff: float
    ) -> None:
        self.transport = transport
        self.spool = spool
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_backoff = max_backoff
        self.queue: collections.deque[Any] = collections.deque()
        self.wake = threading.Event()
        self._drain_lock = threading.Lock()
        self._seq = itertools.count(time.time_ns())
        self._in_transit = False  # items left the queue, not yet acknowledged or spooled
        self._sending: list[Request] = []
        self._idle = threading.Condition()
        self._failures = 0
        self._backoff_until = 0.0
        self._force = False
        self._stopping = False
        self._deadline = float("inf")
        self._down_since: float | None = None
        self._stats_lock = threading.Lock()
        self.counters: dict[str, int] = collections.defaultdict(int)
        self.last_error: str | None = None
        self.last_error_at: str | None = None
        self._thread = threading.Thread(target=self._run, name="pulseboard-sender", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ host side

    def spill(self, extra: Iterable[Any] = ()) -> None:
        """Move the whole queue (then ``extra``) to the spool now, in order: the queue
        is full, or the sender is gone. Runs on the caller's thread."""
        with self._drain_lock:
            self._to_spool(self._encode(self._take(len(self.queue) + 1, extra)))

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued and spooled is acknowledged; False on timeout."""
        deadline = time.monotonic() + timeout
        last_force = 0.0
        while not self.idle():
            now = time.monotonic()
            if now >= deadline or not self._thread.is_alive():
                return False
            if now - last_force >= 0.5:  # retry promptly while someone waits, but not in a busy loop
                last_force = now
                self._force = True
                self.wake.set()
            with self._idle:
                self._idle.wait(min(deadline - now, 0.1))
        return True

    def idle(self) -> bool:
        with self._drain_lock:
            if self.queue or self._in_transit:
                return False
        return not self.spool.has_pending()

    def close(self, timeout: float) -> None:
        self._deadline = time.monotonic() + timeout
        self._force = True  # one last try even while backing off: a refused connection costs nothing
        self._stopping = True
        self.wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():  # stuck on the network: keep its batch too (retries are idempotent)
            with self._drain_lock:
                self._to_spool(self._sending + self._encode(self._take(len(self.queue) + 1)))
                self._sending = []

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stats(self) -> dict[str, Any]:
        with self._stats_lock:
            out: dict[str, Any] = dict.fromkeys(COUNTERS, 0) | dict(self.counters)
        out["queued"] = len(self.queue)
        out["events_logged"] = out.pop("events_taken", 0) + out["queued"]
        out["last_error"] = self.last_error
        out["last_error_at"] = self.last_error_at
        out["server_down_for_s"] = None if self._down_since is None else round(time.monotonic() - self._down_since, 3)
        out["next_retry_in_s"] = round(max(0.0, self._backoff_until - time.monotonic()), 3)
        return out

    # ------------------------------------------------------------ sender thread

    def _run(self) -> None:
        while True:
            if not self._stopping:
                self.wake.wait(self.flush_interval)
            self.wake.clear()
            try:
                self._cycle()
            except Exception:  # the sender must outlive any bug or odd answer
                log.exception("pulseboard client: sender error")
            with self._idle:
                self._idle.notify_all()
            if len(self.queue) >= self.batch_size:
                self.wake.set()  # a full batch is waiting already: no pause
            if self._stopping and (not self.queue or not self._may_try() or time.monotonic() > self._deadline):
                break
        with self._drain_lock:  # what arrived during the last cycle
            self._to_spool(self._encode(self._take(len(self.queue) + 1)))

    def _cycle(self) -> None:
        with self._drain_lock:
            groups = self._take(self.batch_size * 20)
            self._in_transit = bool(groups)
        requests: list[Request] = []
        try:
            requests = self._encode(groups)
            self._sending = requests
            if requests:
                self._deliver(requests)
        except Exception:  # keep the data whatever went wrong (a resend is harmless: uids, ids)
            log.exception("pulseboard client: sender error")
            self._to_spool(requests)
        finally:
            with self._drain_lock:
                self._in_transit = False
                self._sending = []
        if self._may_try() and self.spool.has_pending():
            self._replay()
        self._force = False

    def _may_try(self) -> bool:
        return self._force or time.monotonic() >= self._backoff_until

    def _deliver(self, requests: list[Request]) -> None:
        if not self._may_try() or self.spool.has_pending():
            self._to_spool(requests)  # behind what is already waiting
            return
        for i, request in enumerate(requests):
            rest = self._transmit(request)
            if rest is not None:
                self._to_spool(rest + requests[i + 1 :])
                return

    def _replay(self) -> None:
        with self.spool.replay_lock() as mine:
            if not mine:
                return
            while True:
                rows = self.spool.peek(16)
                if not rows:
                    return
                for row in rows:
                    rest = self._transmit(row.request, replay=True)
                    if rest is not None:
                        if len(rest) == 1 and rest[0] is row.request:
                            self.spool.failed(row.id, self.last_error or "")
                        else:
                            self.spool.replace(row.id, rest, self.last_error or "")
                        return
                    self.spool.delete(row.id)
                    if len(self.queue) >= self.batch_size:
                        self.spill()  # keep memory bounded during a long replay; it goes behind anyway
                    if self._stopping and time.monotonic() > self._deadline:
                        return

    def _transmit(self, request: Request, *, replay: bool = False) -> list[Request] | None:
        """Send one request; None when it is settled (acknowledged or dead-lettered),
        else the requests still to send later (the backoff is then armed)."""
        try:
            answer = self.transport.request(request.method, request.path, request.body)
        except TransportError as exc:
            self._failed(str(exc), None)
            return [request]
        status = answer.status
        if 200 <= status < 300:
            self._acknowledged(request, answer, replay)
            return None
        if status >= 500 or status in _RETRY_4XX:
            if status in (401, 403):
                log.error(
                    "pulseboard client: the server refused the API key (%s); data is kept in the spool",
                    answer.error_message(),
                )
            self._failed(answer.error_message(), answer.retry_after())
            return [request]
        if status == 413 and request.events > 1:
            items = request.items()
            half = len(items) // 2
            first, second = request.with_items(items[:half]), request.with_items(items[half:])
            rest = self._transmit(first, replay=replay)
            if rest is not None:
                return rest + [second]
            return self._transmit(second, replay=replay)
        if status == 422 and request.events > 1:
            good = self._drop_invalid(request, answer)
            if good is not None:
                return self._transmit(good, replay=replay)
        self._dead(request, status, answer.error_message())
        return None

    def _drop_invalid(self, request: Request, answer: Answer) -> Request | None:
        """Dead-letter only the events a 422 names; the rest of the batch, or None."""
        try:
            errors = answer.json().get("errors") or []
            bad = sorted({e["index"] for e in errors if isinstance(e.get("index"), int)})
        except (ValueError, AttributeError, TypeError):
            return None
        items = request.items()
        if not bad or len(bad) >= len(items) or bad[-1] >= len(items):
            return None
        named = [e for e in errors if e.get("index") in bad]
        self._dead(request.with_items([items[i] for i in bad]), 422, f"{answer.error_message()} {json.dumps(named)}")
        keep = set(range(len(items))) - set(bad)
        return request.with_items([items[i] for i in sorted(keep)])

    # ------------------------------------------------------------ bookkeeping

    def _acknowledged(self, request: Request, answer: Answer, replay: bool) -> None:
        if self._down_since is not None:
            log.warning("pulseboard client: server reachable again after %.1f s", time.monotonic() - self._down_since)
        self._failures = 0
        self._backoff_until = 0.0
        self._down_since = None
        body = answer.json() if request.events else None
        with self._stats_lock:
            self.counters["requests_sent"] += 1
            if request.events:
                self.counters["events_sent"] += request.events
                if isinstance(body, dict):
                    self.counters["events_stored"] += int(body.get("stored") or 0)
                    self.counters["events_duplicate"] += int(body.get("duplicates") or 0)
                if replay:
                    self.counters["events_replayed"] += request.events
            else:
                self.counters["records_sent"] += 1

    def _failed(self, error: str, retry_after: float | None) -> None:
        self._failures += 1
        cap = min(self.max_backoff, 0.5 * 2 ** min(self._failures - 1, 16))
        delay = cap / 2 + random.uniform(0, cap / 2)  # "equal jitter": spread out, never near zero
        if retry_after is not None:
            delay = max(delay, min(retry_after, 10 * self.max_backoff))
        self._backoff_until = time.monotonic() + delay
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning(
                "pulseboard client: cannot deliver to %s (%s); spooling to %s and retrying with backoff",
                self.transport.url,
                error,
                self.spool.path,
            )
        with self._stats_lock:
            self.counters["requests_failed"] += 1
            self.last_error = error
            self.last_error_at = datetime.now(timezone.utc).isoformat()

    def _dead(self, request: Request, status: int, error: str) -> None:
        log.error(
            "pulseboard client: %s %s not accepted (%s); kept in the dead letters of %s",
            request.method,
            request.path,
            error,
            self.spool.path,
        )
        try:
            self.spool.dead(request, status, error)
        except (sqlite3.Error, OSError) as exc:
            log.error("pulseboard client: cannot write the dead letter to %s: %s", self.spool.path, exc)
        with self._stats_lock:
            self.counters["events_dead" if request.events else "records_dead"] += max(request.events, 1)

    def _to_spool(self, requests: list[Request]) -> None:
        if not requests:
            return
        try:
            dropped = self.spool.put(requests)
        except (sqlite3.Error, OSError) as exc:  # a broken disk must not take the host down
            dropped = sum(max(r.events, 1) for r in requests)
            log.error(
                "pulseboard client: cannot write to the spool %s (%s): %d events lost", self.spool.path, exc, dropped
            )
        with self._stats_lock:
            self.counters["events_spooled"] += sum(r.events for r in requests)
            self.counters["events_dropped"] += dropped

    # ------------------------------------------------------------ queue -> requests

    def _take(self, limit: int, extra: Iterable[Any] = ()) -> list[tuple[int, Op | list[dict[str, Any]]]]:
        """Up to ``limit`` queue items (then ``extra``) in batches, numbered in queue order.
        Caller holds the drain lock; encoding happens after, outside it."""
        items: list[Any] = []
        queue = self.queue
        while queue and len(items) < limit:
            items.append(queue.popleft())
        items.extend(extra)
        groups: list[tuple[int, Op | list[dict[str, Any]]]] = []
        events: list[dict[str, Any]] = []
        for item in items:
            if isinstance(item, Op):
                if events:
                    groups.append((next(self._seq), events))
                    events = []
                groups.append((next(self._seq), item))
            else:
                events.append(item)
                if len(events) >= self.batch_size:
                    groups.append((next(self._seq), events))
                    events = []
        if events:
            groups.append((next(self._seq), events))
        return groups

    def _encode(self, groups: list[tuple[int, Op | list[dict[str, Any]]]]) -> list[Request]:
        requests: list[Request] = []
        for seq, group in groups:
            if isinstance(group, Op):
                request, reason = op_request(seq, group)
                if request is None:
                    self._dead(Request(seq, group.method, group.path, lenient(group.body)), 0, reason or "")
            else:
                for event in group:
                    prepare(event)
                with self._stats_lock:
                    self.counters["events_taken"] += len(group)
                request, bad = events_request(seq, group)
                for dead, why in bad:
                    self._dead(dead, 0, why)
            if request is not None:
                requests.append(request)
        return requests
