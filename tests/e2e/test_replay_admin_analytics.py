"""The payments app's admin panel replayed against ``python app.py serve``
with sign-in on (SQLite and PostgreSQL): its server side logs payments,
request and query timings, user actions, file conversions and host gauges
with an API key; an admin opens ``/admin/dashboard``, signs in, and the panel
calls every ``/admin/api/...`` route it called before. Every answer is
checked against what was logged."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

from tests.conftest import wait_until
from tests.e2e.test_serve_cli import ROOT, clean_env

KEY = "payments-app-key"
PASSWORD = "ada-admin-password"
MIN = timedelta(minutes=1)
TTLS = {"live": 30.0, "revenue": 300.0, "activity": 120.0, "health": 30.0}
SRC = "payments"


def add_admin(tmp_path: Path, db_url: str) -> None:
    cmd = [sys.executable, str(ROOT / "app.py"), "user", "add", "ada", "--role", "admin", "--password-stdin"]
    cmd += ["--data-dir", str(tmp_path), "--db", db_url]
    done = subprocess.run(
        cmd, cwd=ROOT, env=clean_env(), input=PASSWORD + "\n", capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def logged(now: datetime) -> list[dict[str, Any]]:
    """What the app's own database methods logged, as Pulseboard events."""

    def ev(offset: timedelta, type_: str, **fields: Any) -> dict[str, Any]:
        return {"ts": (now - offset).isoformat(), "source": SRC, "type": type_, **fields}

    return [
        # get_transactions_since(): payments with amount and status
        ev(20 * MIN, "payment", user="u1", value=25.0, status="completed", attrs={"transaction_id": "tx1"}),
        ev(15 * MIN, "payment", user="u2", value=40.0, status="completed", attrs={"transaction_id": "tx2"}),
        ev(10 * MIN, "payment", user="u3", value=12.5, status="pending", attrs={"transaction_id": "tx3"}),
        ev(5 * MIN, "payment", user="u1", value=99.0, status="failed", attrs={"transaction_id": "tx4"}),
        ev(26 * 60 * MIN, "payment", user="u4", value=60.0, status="completed", attrs={"transaction_id": "tx0"}),
        # log_performance_metric(): requests per endpoint and database queries
        ev(4 * MIN, "request", entity="/api/checkout", duration_ms=120.0, status="201"),
        ev(4 * MIN, "request", entity="/api/checkout", duration_ms=180.0, status="201"),
        ev(3 * MIN, "request", entity="/api/vectorize", duration_ms=900.0, status="200"),
        ev(3 * MIN, "db_query", entity="orders.insert", duration_ms=8.0),
        # log_user_activity() and the vectorization activities
        ev(6 * MIN, "user_activity", user="u1", entity="login", status="ok"),
        ev(7 * MIN, "user_activity", user="u2", entity="upload", status="ok"),
        ev(7 * MIN, "vectorization", user="u2", entity="logo.png", status="completed", duration_ms=1500.0),
        ev(2 * MIN, "vectorization", user="u3", entity="photo.jpg", status="failed", duration_ms=300.0),
        # log_system_metric(): the host's gauges
        ev(MIN, "cpu_percent", entity="web-1", value=47.5),
        ev(MIN, "memory_percent", entity="web-1", value=63.0),
        ev(MIN, "disk_percent", entity="web-1", value=71.25),
    ]


def sign_in(url: str, next_: str) -> requests.Session:
    """Navigate to ``next_``, get sent to the sign-in form, authenticate with admin credentials."""
    browser = requests.Session()
    browser.headers["Origin"] = url  # a browser sends it on the panel's own POSTs
    first = browser.get(url + next_, headers={"Accept": "text/html"}, allow_redirects=False, timeout=10)
    assert (first.status_code, first.headers["Location"]) == (302, f"/login?next={next_}")
    form = browser.get(url + first.headers["Location"], timeout=10).text
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    data = {"username": "ada", "password": PASSWORD, "csrf_token": token, "next": next_}
    landed = browser.post(url + "/login", data=data, headers={"Accept": "text/html"}, timeout=10)
    assert landed.status_code == 200 and landed.url == url + "/revenue", landed.url  # /admin/dashboard opens Revenue
    assert [r.headers["Location"] for r in landed.history] == [next_, "/revenue"]
    return browser


def stats(browser: requests.Session, url: str) -> dict[str, Any]:
    caches: dict[str, Any] = browser.get(url + "/admin/api/cache/stats", timeout=10).json()["caches"]
    return caches


def test_the_admin_panel_and_its_clients_replayed(tmp_path: Path, process_server: Any, db_url: str) -> None:
    add_admin(tmp_path, db_url)
    server = process_server("--db", db_url, "--auth", env={"PULSE_API_KEYS": KEY})
    url = server.url
    app = requests.Session()
    app.headers["Authorization"] = f"Bearer {KEY}"
    now = datetime.now(timezone.utc).replace(microsecond=0)
    rows = logged(now)
    stored = app.post(url + "/api/events", json=rows, timeout=10)
    assert stored.status_code == 201, stored.text

    # 1-2. Navigate to /admin/dashboard, authenticate with admin credentials: the Revenue view.
    browser = sign_in(url, "/admin/dashboard")

    # A rule over failed payments, as the panel's alert management had; evaluated at once.
    rule = {"name": "payment_failures", "filter": {"type": "payment", "status": "failed"}, "window": "1h"}
    assert browser.post(url + "/api/rules", json=rule | {"severity": "error"}, timeout=10).status_code == 201
    assert browser.post(url + "/api/alerts/evaluate", timeout=10).status_code == 200

    # 3. fetch('/admin/api/metrics/live').then(response => response.json())
    live = browser.get(url + "/admin/api/metrics/live", timeout=10)
    assert live.status_code == 200 and live.headers["Content-Type"] == "application/json"
    body = live.json()
    system = body["system"]
    assert (system["source"], system["host"]) == (SRC, "web-1")
    assert (system["cpu_percent"], system["memory_percent"], system["disk_percent"]) == (47.5, 63.0, 71.25)
    assert "pulseboard" in [h["source"] for h in system["hosts"]]  # Pulseboard's own host beside the app's
    endpoints = {e["endpoint"]: e for e in body["response_times"]["endpoints"]}
    assert (endpoints["/api/checkout"]["requests"], endpoints["/api/checkout"]["avg_ms"]) == (2, 150.0)
    assert (endpoints["/api/vectorize"]["requests"], endpoints["/api/vectorize"]["max_ms"]) == (1, 900.0)
    app_only = browser.get(url + "/admin/api/metrics/live", params={"source": SRC}, timeout=10).json()
    assert (app_only["response_times"]["requests"], app_only["response_times"]["avg_ms"]) == (3, 400.0)
    assert app_only["database"]["queries"]["by_query"][0]["endpoint"] == "orders.insert"
    assert body["database"]["status"] == "ok" and body["database"]["dialect"] in ("sqlite", "postgresql")
    assert body["active_users"] == 3  # u1, u2, u3 in the last 30 minutes
    flow = body["transactions"]
    assert (flow["completed"], flow["pending"], flow["failed"]) == (
        {"count": 2, "amount": 65.0},
        {"count": 1, "amount": 12.5},
        {"count": 1, "amount": 99.0},
    )
    assert flow["success_rate"] == round(100 * 2 / 3, 2)

    # Revenue analytics: hourly, daily and weekly breakdowns.
    paid = [r for r in rows if r["type"] == "payment" and r["status"] == "completed"]
    for period in ("hourly", "daily", "weekly"):
        revenue = browser.get(url + "/admin/api/analytics/revenue", params={"period": period}, timeout=10).json()
        expected: dict[str, float] = {}
        for r in paid:
            ts = datetime.fromisoformat(r["ts"])
            start = ts.replace(minute=0, second=0) if period == "hourly" else ts.replace(hour=0, minute=0, second=0)
            if period == "weekly":
                start -= timedelta(days=start.weekday())
            expected[start.isoformat()] = expected.get(start.isoformat(), 0.0) + r["value"]
        assert {p["period"]: p["revenue"] for p in revenue["series"] if p["revenue"]} == expected, period
        assert (revenue["total"], revenue["transactions"]) == (125.0, 3), period
        assert revenue["peak"]["amount"] == max(expected.values())
        assert revenue["revenue_per_transaction"] == 125.0 / 3
        assert revenue["success_rate"] == 75.0  # 3 completed of 4 decided (the pending one undecided)
    bad = browser.get(url + "/admin/api/analytics/revenue", params={"period": "monthly"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "period"

    # User activity: the feed, active users, the heatmap, the file conversions.
    activity = browser.get(url + "/admin/api/user-activity", timeout=10).json()
    feed = [(a["type"], a["user"]) for a in activity["activities"]]
    assert feed[:3] == [("vectorization", "u3"), ("payment", "u1"), ("user_activity", "u1")]
    assert len(feed) == 9  # 5 payments, 2 actions, 2 conversions
    assert {"u1", "u2", "u3"} <= set(activity["users"]) and activity["active_users"] >= 3
    assert sum(map(sum, activity["heatmap"]["counts"])) >= len(rows)
    conversions = activity["vectorization"]
    assert (conversions["total"], conversions["completed"], conversions["failed"]) == (2, 1, 1)
    assert conversions["duration"]["avg_ms"] == 900.0

    # Health and alerts: the failed payment fires the rule, an error: health is degraded.
    alerts = browser.get(url + "/admin/api/alerts", timeout=10).json()
    assert [(a["rule"], a["state"], a["severity"]) for a in alerts["active"]] == [
        ("payment_failures", "firing", "error")
    ]
    assert alerts["counts"]["firing"] == 1 and alerts["recent"][0]["rule"] == "payment_failures"
    health = browser.get(url + "/admin/api/health", timeout=10)
    assert health.status_code == 200
    assert (health.json()["status"], health.json()["database"]["status"]) == ("degraded", "ok")
    assert health.json()["alerts"]["firing"] == 1

    # The app's server side reads with its key; an API key never clears the caches.
    assert app.get(url + "/admin/api/metrics/live", timeout=10).status_code == 200
    assert app.post(url + "/admin/api/cache/clear", timeout=10).status_code == 403
    assert requests.get(url + "/admin/api/health", timeout=10).status_code == 401  # no key, no session

    # Cache statistics: the document's TTLs, a hit on a repeated read (self-monitoring may store
    # request events in between, which renews the caches: the pair is repeated until one hits).
    caches = stats(browser, url)
    assert {name: caches[name]["ttl_seconds"] for name in TTLS} == TTLS
    assert all(caches[name]["entries"] >= 1 and caches[name]["misses"] >= 1 for name in TTLS)

    def repeated_read_hits() -> bool:
        before = stats(browser, url)["revenue"]["hits"]
        browser.get(url + "/admin/api/analytics/revenue", timeout=10)
        browser.get(url + "/admin/api/analytics/revenue", timeout=10)
        return bool(stats(browser, url)["revenue"]["hits"] > before)

    wait_until(repeated_read_hits, timeout=30, message="a cache hit on a repeated revenue read")
    held = sum(c["entries"] for c in stats(browser, url).values())
    cleared = browser.post(url + "/admin/api/cache/clear", timeout=10)
    assert cleared.status_code == 200 and cleared.json() == {"status": "success", "cleared": held}
    assert all(c["entries"] == 0 for c in stats(browser, url).values())
