"""Webhook notifications end to end: a real receiver on loopback, a real
Pulseboard server with its scheduler evaluating the rules, events sent over
HTTP. A burst that crosses the threshold gives exactly one firing POST, and
its end exactly one resolve; failing endpoints are retried, dead ones are
cut off by the circuit breaker."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from alerts.notify import Notice, Notifier
from tests.conftest import free_port, wait_until

MIN = timedelta(minutes=1)


class Receiver:
    """An HTTP server that records every JSON body POSTed to it; the first
    ``fail_first`` requests answer 500."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.requests = 0
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests += 1
                if receiver.requests <= receiver.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.bodies.append(json.loads(raw))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def kinds(self) -> list[str]:
        return [b["kind"] for b in self.bodies]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now


def test_a_burst_gives_one_firing_webhook_and_one_resolve(
    make_server_for: Any, sqlite_url: str, receiver: Receiver
) -> None:
    server = make_server_for(sqlite_url, alert_interval=0.1)
    svc = server.services
    svc.clock = clock = Clock()
    rule = {
        "name": "order-burst",
        "filter": {"type": "order"},
        "window": "5m",
        "threshold": 10,
        "severity": "error",
        "targets": [{"type": "webhook", "url": receiver.url}],
    }
    assert server.post("/api/rules", json=rule).status_code == 201
    svc.start_background()  # the scheduler now evaluates every 0.1 s

    for _ in range(6):  # 30 orders in six requests: the threshold (10) is crossed during the burst
        assert server.post("/api/events", json=[{"type": "order", "entity": "checkout"}] * 5).status_code == 201
    wait_until(lambda: receiver.bodies, message="the firing webhook")
    seen = svc.alerts.evaluations
    wait_until(lambda: svc.alerts.evaluations >= seen + 5, message="more evaluations while the alert fires")
    assert receiver.kinds() == ["firing"]  # one notification for the whole burst
    fired = receiver.bodies[0]
    assert (fired["rule"], fired["state"], fired["severity"]) == ("order-burst", "firing", "error")
    assert fired["value"] in (15.0, 20.0, 25.0, 30.0)  # the count when an evaluation first saw it above 10
    assert fired["link"] == "/explore?window=15min&type=order" and fired["summary"].startswith("order-burst: count is ")

    clock.now += 10 * MIN  # the burst leaves the 5-minute window
    wait_until(lambda: len(receiver.bodies) >= 2, message="the resolve webhook")
    seen = svc.alerts.evaluations
    wait_until(lambda: svc.alerts.evaluations >= seen + 5, message="more evaluations after the resolve")
    assert receiver.kinds() == ["firing", "resolved"]
    assert receiver.bodies[1]["alert_id"] == fired["alert_id"]

    detail = server.get(f"/api/alerts/{fired['alert_id']}").json()
    assert detail["state"] == "resolved"
    assert [(n["kind"], n["target"], n["ok"], n["attempts"]) for n in detail["notifications"]] == [
        ("firing", receiver.url, True, 1),
        ("resolved", receiver.url, True, 1),
    ]


def _notice(url: str, alert_id: int) -> Notice:
    now = datetime.now(timezone.utc)
    return Notice(alert_id, "firing", "r", "error", "fp", {}, 1.0, "s", "/explore", now, (("webhook", url),))


def test_a_failing_endpoint_is_retried_with_backoff(make_server_for: Any, sqlite_url: str) -> None:
    flaky = Receiver(fail_first=2)
    try:
        server = make_server_for(sqlite_url)
        notifier = Notifier(server.services, retries=3, backoff=0.01)
        assert notifier.deliver(flaky.url, {"kind": "firing"}) == (True, 3, None)
        assert flaky.requests == 3 and flaky.bodies == [{"kind": "firing"}]
        notifier.stop()
    finally:
        flaky.stop()


def test_a_dead_endpoint_opens_the_circuit_and_is_not_tried_meanwhile(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url)
    svc = server.services
    assert server.post("/api/rules", json={"name": "r", "threshold": 0}).status_code == 201
    assert server.post("/api/events", json=[{"type": "x"}]).status_code == 201
    alert_id = svc.alerts.evaluate()["transitions"][0]["alert_id"]
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    notifier = Notifier(svc, retries=2, backoff=0.01, timeout=2.0, breaker_failures=2, breaker_cooldown=3600, workers=1)
    try:
        notifier.dispatch([_notice(dead, alert_id) for _ in range(4)])
        assert notifier.wait_idle(30)
    finally:
        notifier.stop()
    rows = [n for n in server.get(f"/api/alerts/{alert_id}").json()["notifications"] if n["target"] == dead]
    assert len(rows) == 4 and not any(n["ok"] for n in rows)
    tried = [n for n in rows if n["attempts"] > 0]
    cut = [n for n in rows if n["attempts"] == 0]
    assert [n["attempts"] for n in tried] == [2, 2]  # two deliveries with their retries open the circuit
    assert len(cut) == 2 and all("circuit open" in n["error"] for n in cut)


def test_an_open_circuit_tries_the_endpoint_again_after_its_cooldown(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url)
    svc = server.services
    assert server.post("/api/rules", json={"name": "r", "threshold": 0}).status_code == 201
    assert server.post("/api/events", json=[{"type": "x"}]).status_code == 201
    alert_id = svc.alerts.evaluate()["transitions"][0]["alert_id"]
    dead = f"http://127.0.0.1:{free_port()}/hook"
    clock = [1000.0]
    notifier = Notifier(
        svc,
        retries=1,
        backoff=0.01,
        timeout=2.0,
        breaker_failures=1,
        breaker_cooldown=60,
        workers=1,
        monotonic=lambda: clock[0],
    )
    try:
        for _ in range(2):  # the first opens the circuit, the second is cut
            notifier.dispatch([_notice(dead, alert_id)])
            assert notifier.wait_idle(30)
        clock[0] += 61  # the cooldown is over: the next one is tried again
        notifier.dispatch([_notice(dead, alert_id)])
        assert notifier.wait_idle(30)
    finally:
        notifier.stop()
    rows = sorted(
        (n for n in server.get(f"/api/alerts/{alert_id}").json()["notifications"] if n["target"] == dead),
        key=lambda n: n["id"],
    )
    assert [n["attempts"] for n in rows] == [1, 0, 1]
