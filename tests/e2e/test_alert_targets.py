"""E-mail, Slack, Teams and SMS targets end to end: a real Pulseboard server
on a fixed clock, rules evaluated through the API, mail to a real SMTP server
(aiosmtpd) through the outbox and its sender, chat and SMS requests to a real
HTTP server on loopback."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from data import outbox
from tests.conftest import SmtpSink, wait_until

MIN = timedelta(minutes=1)
PUBLIC = "https://pulse.example"
RULE = {
    "name": "orders-burst",
    "description": "Too many orders",
    "filter": {"type": "order"},
    "group_by": ["source"],
    "window": "5m",
    "threshold": 3,
    "severity": "error",
}


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)

    def __call__(self) -> datetime:
        return self.now


class Hooks:
    """An HTTP server that records every request: (method, path, query, content type, body)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = urlsplit(self.path)
                hooks.requests.append(
                    {
                        "method": self.command,
                        "path": parts.path,
                        "query": parse_qs(parts.query),
                        "type": self.headers.get("Content-Type"),
                        "body": raw,
                    }
                )
                self.send_response(200)
                self.end_headers()

            do_GET = do_POST = _record

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def json_to(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests if r["path"] == path]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    h = Hooks()
    yield h
    h.stop()


def evaluate(server: Any) -> dict[str, Any]:
    r = server.post("/api/alerts/evaluate")
    assert r.status_code == 200, r.text
    assert server.services.alerts.notifier.wait_idle(120)  # chat, SMS and mail are sent off the evaluation
    return r.json()  # type: ignore[no-any-return]


def orders(server: Any, n: int, source: str) -> None:
    r = server.post("/api/events", json=[{"type": "order", "source": source}] * n)
    assert r.status_code == 201, r.text


def outbox_rows(server: Any) -> list[dict[str, Any]]:
    with server.services.db.read() as conn:
        return outbox.recent(conn, with_bodies=True)


def test_alerts_of_a_rule_go_out_as_one_grouped_mail_per_state_with_links_and_chart(
    make_server_for: Any, db_url: str, smtp_sink: SmtpSink
) -> None:
    server = make_server_for(
        db_url, smtp_host="127.0.0.1", smtp_port=smtp_sink.port, smtp_security="none", public_url=PUBLIC
    )
    svc = server.services
    svc.clock = clock = Clock()
    svc.mailer.start()
    targets = [{"type": "email", "to": "ops@example.com, dev@example.com", "group_wait": "30s"}]
    assert server.post("/api/rules", json=RULE | {"targets": targets}).status_code == 201
    wall = {
        "uid": "ops-wall",
        "title": "Ops wall",
        "panels": [{"id": "open", "title": "Open alerts", "kind": "alerts", "grid": {"x": 0, "y": 0, "w": 6, "h": 6}}],
    }
    assert server.post("/api/boards", json=wall).status_code == 201  # the board that shows the alerts

    orders(server, 4, "web")
    orders(server, 5, "shop")
    assert evaluate(server)["firing"] == 2
    clock.now += 10 * timedelta(seconds=1)  # within the group's 30 s
    orders(server, 6, "app")
    assert evaluate(server)["firing"] == 3
    pending = outbox_rows(server)
    assert sorted(m["recipient"] for m in pending) == ["dev@example.com", "ops@example.com"]
    assert {(m["state"], m["subject"]) for m in pending} == {("pending", "[FIRING] orders-burst (3)")}
    assert smtp_sink.received == []  # the group waits for its 30 s

    clock.now += 25 * timedelta(seconds=1)
    svc.mailer.wake()
    wait_until(lambda: len(smtp_sink.received) == 2, timeout=30, message="the firing mail to both recipients")
    assert sorted(to for (to,), _m in smtp_sink.received) == ["dev@example.com", "ops@example.com"]
    msg = smtp_sink.received[0][1]
    assert msg["Subject"] == "[FIRING] orders-burst (3)"
    text = msg.get_body(("plain",)).get_content()
    active = server.get("/api/alerts/active").json()["alerts"]
    assert len(active) == 3
    for alert in active:
        assert alert["summary"] in text
        assert f"{PUBLIC}/alerts?alert={alert['id']}" in text
        assert f"{PUBLIC}/explore?window=15min&type=order&source={alert['labels']['source']}" in text
    assert "value: 6" in text and "labels: source=app" in text
    assert f"Board Ops wall: {PUBLIC}/boards/ops-wall" in text
    html = msg.get_body(("html",)).get_content()
    assert f"href='{PUBLIC}/alerts?alert=" in html and "Too many orders" in html
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    if importlib.util.find_spec("kaleido") is not None:
        (image,) = images
        assert image["Content-ID"] == "<chart>" and "src='cid:chart'" in html
        assert image.get_content().startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert images == [] and "No chart: plotly's image export" in text

    detail = server.get(f"/api/alerts/{active[0]['id']}").json()
    assert {(n["kind"], n["target"], n["ok"]) for n in detail["notifications"]} == {
        ("firing", "email:ops@example.com", True),
        ("firing", "email:dev@example.com", True),
    }

    clock.now += 10 * MIN  # every series resolves in the same evaluation
    assert [t["to"] for t in evaluate(server)["transitions"]] == ["resolved"] * 3
    clock.now += 31 * timedelta(seconds=1)
    svc.mailer.wake()
    wait_until(lambda: len(smtp_sink.received) == 4, timeout=30, message="the resolved mail to both recipients")
    resolved = [m for _to, m in smtp_sink.received[2:]]
    assert {m["Subject"] for m in resolved} == {"[RESOLVED] orders-burst (3)"}
    assert "3 alerts of rule orders-burst resolved" in resolved[0].get_body(("plain",)).get_content()
    wait_until(lambda: {m["state"] for m in outbox_rows(server)} == {"sent"}, message="every mail marked sent")
    assert len(smtp_sink.received) == 4  # each mail once


def test_slack_and_teams_receive_their_formats_with_title_state_value_and_link(
    make_server_for: Any, sqlite_url: str, hooks: Hooks
) -> None:
    server = make_server_for(sqlite_url, public_url=PUBLIC)
    server.services.clock = clock = Clock()
    targets = [f"slack:{hooks.url}/slack", {"type": "teams", "url": f"{hooks.url}/teams"}]
    assert server.post("/api/rules", json=RULE | {"group_by": [], "targets": targets}).status_code == 201
    orders(server, 4, "web")
    assert evaluate(server)["firing"] == 1
    (alert,) = server.get("/api/alerts/active").json()["alerts"]
    link = f"{PUBLIC}/alerts?alert={alert['id']}"

    (slack,) = hooks.json_to("/slack")
    assert slack["text"].startswith("[FIRING] orders-burst: Too many orders") and link in slack["text"]
    header, summary, fields, context = slack["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "[FIRING] orders-burst"}}
    assert summary["text"]["text"] == alert["summary"].replace(">", "&gt;")  # Slack's mrkdwn escapes
    assert {"type": "mrkdwn", "text": "*State*\nfiring"} in fields["fields"]
    assert {"type": "mrkdwn", "text": "*Value*\n4"} in fields["fields"]
    assert f"<{link}|Alert>" in context["elements"][0]["text"]

    (teams,) = hooks.json_to("/teams")
    assert teams["type"] == "message"
    (attachment,) = teams["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["body"][0]["text"] == "[FIRING] orders-burst"
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert (facts["State"], facts["Value"], facts["Severity"]) == ("firing", "4", "error")
    assert card["actions"][0] == {"type": "Action.OpenUrl", "title": "Alert", "url": link}

    clock.now += 10 * MIN
    evaluate(server)
    assert [b["blocks"][0]["text"]["text"] for b in hooks.json_to("/slack")] == [
        "[FIRING] orders-burst",
        "[RESOLVED] orders-burst",
    ]
    assert hooks.json_to("/teams")[1]["attachments"][0]["content"]["body"][0]["color"] == "Good"
    detail = server.get(f"/api/alerts/{alert['id']}").json()
    assert sorted((n["kind"], n["target"], n["ok"]) for n in detail["notifications"]) == [
        ("firing", f"slack:{hooks.url}/slack", True),
        ("firing", f"teams:{hooks.url}/teams", True),
        ("resolved", f"slack:{hooks.url}/slack", True),
        ("resolved", f"teams:{hooks.url}/teams", True),
    ]


def test_an_error_alert_texts_the_sms_gateway_with_the_filled_template(
    make_server_for: Any, sqlite_url: str, hooks: Hooks
) -> None:
    server = make_server_for(
        sqlite_url,
        public_url=PUBLIC,
        sms_url=f"{hooks.url}/sms",
        sms_body='{"to": "{to}", "text": "{message}", "rule": "{rule}", "state": "{state}"}',
        sms_to="oncall=+491701234567, +15550100",
    )
    server.services.clock = Clock()
    assert server.post("/api/rules", json=RULE | {"group_by": [], "targets": ["sms:oncall"]}).status_code == 201
    quiet = RULE | {"name": "orders-note", "group_by": [], "severity": "warning", "targets": ["sms:oncall"]}
    assert server.post("/api/rules", json=quiet).status_code == 201
    unknown = RULE | {"name": "orders-unknown", "group_by": [], "targets": ["sms:nobody"]}
    assert server.post("/api/rules", json=unknown).status_code == 201
    orders(server, 4, "web")
    assert evaluate(server)["firing"] == 3

    (request,) = hooks.requests  # the warning rule sends no SMS; nobody has no number
    assert (request["method"], request["path"], request["type"]) == ("POST", "/sms", "application/json")
    body = json.loads(request["body"])
    alerts = {a["rule"]: a for a in server.get("/api/alerts/active").json()["alerts"]}
    error = alerts["orders-burst"]
    assert body == {
        "to": "+491701234567",
        "text": f"[FIRING] orders-burst: {error['summary']} {PUBLIC}/alerts?alert={error['id']}",
        "rule": "orders-burst",
        "state": "firing",
    }
    detail = server.get(f"/api/alerts/{alerts['orders-unknown']['id']}").json()
    assert [(n["target"], n["ok"], n["error"]) for n in detail["notifications"]] == [
        ("sms:nobody", False, "no number for 'nobody' in --sms-to")
    ]
    assert server.get(f"/api/alerts/{alerts['orders-note']['id']}").json()["notifications"] == []


def test_a_get_gateway_takes_the_template_as_its_query(make_server_for: Any, sqlite_url: str, hooks: Hooks) -> None:
    server = make_server_for(
        sqlite_url, sms_url=f"{hooks.url}/send?key=k1", sms_method="GET", sms_body="to={to}&msg={message}"
    )
    server.services.clock = Clock()
    assert server.post("/api/rules", json=RULE | {"group_by": [], "targets": ["sms:+15550100"]}).status_code == 201
    orders(server, 4, "web")
    evaluate(server)
    (request,) = hooks.requests
    (alert,) = server.get("/api/alerts/active").json()["alerts"]
    assert (request["method"], request["path"], request["body"]) == ("GET", "/send", b"")
    assert request["query"] == {
        "key": ["k1"],
        "to": ["+15550100"],
        "msg": [f"[FIRING] orders-burst: {alert['summary']} /alerts?alert={alert['id']}"],
    }
