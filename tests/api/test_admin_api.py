"""The payments app's admin analytics under /admin/api/: live metrics,
revenue per hour, day and week, user activity, health, alerts, the named
caches' statistics and clearing them, and who may call what with sign-in on.

Data (anchored on ``NOW``): :func:`tests.read_factories.payments` (source
``shop``), :func:`~tests.read_factories.request_timings` (source ``web``) and
:func:`admin_events` below (source ``payments``: host gauges, database query
timings, user actions, file conversions; two gauges of Pulseboard's own
source). Every figure expected is computed here from the rows inserted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from analytics.histogram import RELATIVE_ERROR
from auth.passwords import hash_password
from data.users import add_user
from tests.read_factories import (
    DAY,
    HOUR,
    MIN,
    PAYMENTS_EARLIER,
    PAYMENTS_TODAY,
    event,
    fixed_now,
    freeze,
    payments,
    post_events,
    request_timings,
    shared_server,
)

NOW = fixed_now()
PAID = {"completed", "success"}
FAILED = {"failed"}
SPANS = {"hourly": 48 * HOUR, "daily": 30 * DAY, "weekly": 12 * 7 * DAY}
TTLS = {"live": 30.0, "revenue": 300.0, "activity": 120.0, "health": 30.0}
ROUTES = (
    "/admin/api/metrics/live",
    "/admin/api/analytics/revenue",
    "/admin/api/user-activity",
    "/admin/api/health",
    "/admin/api/alerts",
    "/admin/api/cache/stats",
)

#: (offset, host, gauge, value) of source "payments"; web-old's gauge is too old to be current.
GAUGES = [
    (-10 * MIN, "web-1", "cpu_percent", 41.0),
    (-2 * MIN, "web-1", "cpu_percent", 55.5),
    (-2 * MIN, "web-1", "memory_percent", 70.25),
    (-2 * MIN, "web-1", "disk_percent", 62.5),
    (-5 * MIN, "web-2", "cpu_percent", 20.0),
    (-2 * HOUR, "web-old", "cpu_percent", 99.0),
]
#: (offset, query name, duration ms)
DB_QUERIES = [(-20 * MIN, "orders.select", 5.0), (-20 * MIN, "orders.select", 15.0), (-7 * MIN, "users.update", 30.0)]
#: (offset, user, action)
ACTIVITIES = [
    (-3 * MIN, "ann", "login"),
    (-12 * MIN, "kim", "upload"),
    (-40 * MIN, "lou", "search"),
    (-2 * HOUR, "max", "logout"),
]
#: (offset, user, status, duration ms); the last is older than the 24 hours shown.
CONVERSIONS = [
    (-4 * MIN, "kim", "completed", 1000.0),
    (-6 * MIN, "ann", "processing", None),
    (-25 * MIN, "ann", "completed", 2000.0),
    (-3 * HOUR, "lou", "completed", 3000.0),
    (-5 * HOUR, "kim", "failed", 500.0),
    (-2 * DAY - HOUR, "max", "completed", 4000.0),
]


def admin_events(server: Any, now: datetime) -> list[dict[str, Any]]:
    freeze(server, now)
    src = "payments"
    events = [event(now + off, gauge, source=src, entity=host, value=v) for off, host, gauge, v in GAUGES]
    events += [
        event(now - MIN, "cpu_percent", source="pulseboard", value=3.5),
        event(now - MIN, "memory_mb", source="pulseboard", value=180.0),
    ]
    events += [event(now + off, "db_query", source=src, entity=q, duration_ms=d) for off, q, d in DB_QUERIES]
    events += [event(now + off, "user_activity", source=src, user=u, entity=a, status="ok") for off, u, a in ACTIVITIES]
    events += [
        event(now + off, "vectorization", source=src, user=u, status=st, entity=f"file{i}.png", duration_ms=d)
        for i, (off, u, st, d) in enumerate(CONVERSIONS)
    ]
    post_events(server, events)
    return events


def an_alert_fires(server: Any) -> list[dict[str, Any]]:
    """A rule that fires at once; its notification is stored as an ``alert`` event, returned."""
    server.post("/api/rules", json={"name": "always", "threshold": -1}).raise_for_status()
    server.post("/api/alerts/evaluate").raise_for_status()
    notices = server.get("/api/events", params={"type": "alert"}).json()["events"]
    assert [(e["source"], e["entity"]) for e in notices] == [("pulseboard", "always")]
    return [e | {"ts": datetime.fromisoformat(e["ts"])} for e in notices]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def admin(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shared_server(request, tmp_path_factory) as server:
        rows = payments(server, NOW) + request_timings(server, NOW) + admin_events(server, NOW)
        server.rows = rows + an_alert_fires(server)
        freeze(server, NOW)
        yield server


def paid_rows(span: timedelta) -> list[dict[str, Any]]:
    return [r for r in payment_rows() if r["status"] in PAID and NOW - span <= r["ts"] < NOW + MIN]


def payment_rows() -> list[dict[str, Any]]:
    return [
        {"ts": NOW + off, "value": v, "status": st, "user": u} for off, v, st, u in PAYMENTS_TODAY + PAYMENTS_EARLIER
    ]


def period_start(ts: datetime, period: str) -> datetime:
    if period == "hourly":
        return ts.replace(minute=0, second=0, microsecond=0)
    day = ts.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if period == "daily" else day - timedelta(days=day.weekday())


# ------------------------------------------------------------ live metrics


def test_live_metrics_show_the_newest_gauges_per_host_the_app_first(admin: Any) -> None:
    body = admin.get("/admin/api/metrics/live").json()
    assert body["timestamp"] == NOW.isoformat() and body["window_seconds"] == 3600
    system = body["system"]
    assert (system["source"], system["host"]) == ("payments", "web-1")
    assert (system["cpu_percent"], system["memory_percent"], system["disk_percent"]) == (55.5, 70.25, 62.5)
    hosts = system["hosts"]
    assert [(h["source"], h["host"]) for h in hosts] == [
        ("payments", "web-1"),
        ("payments", "web-2"),
        ("pulseboard", "pulseboard"),
    ]
    assert hosts[0]["updated_at"] == (NOW - 2 * MIN).isoformat()
    assert (hosts[1]["cpu_percent"], hosts[1]["memory_percent"]) == (20.0, None)
    own = hosts[2]
    assert (own["cpu_percent"], own["memory_mb"]) == (3.5, 180.0)
    assert 0.0 < own["disk_percent"] <= 100.0 and own["disk_free_gb"] > 0  # the disk of the data directory


def test_live_metrics_response_times_overall_and_per_endpoint(admin: Any) -> None:
    times = admin.get("/admin/api/metrics/live").json()["response_times"]
    durations = sorted(r["duration_ms"] for r in admin.rows if r["type"] == "request")
    assert times["requests"] == len(durations) == 102
    assert times["avg_ms"] == pytest.approx(sum(durations) / len(durations))
    true_p95 = durations[math.ceil(0.95 * len(durations)) - 1]
    assert abs(times["p95_ms"] - true_p95) <= RELATIVE_ERROR * true_p95
    by_endpoint = {e["endpoint"]: e for e in times["endpoints"]}
    assert set(by_endpoint) == {"/api/checkout", "/api/cart"}
    assert (by_endpoint["/api/checkout"]["requests"], by_endpoint["/api/checkout"]["avg_ms"]) == (100, 505.0)
    assert (by_endpoint["/api/cart"]["requests"], by_endpoint["/api/cart"]["avg_ms"]) == (2, 50.0)


def test_live_metrics_database_timings(admin: Any) -> None:
    database = admin.get("/admin/api/metrics/live").json()["database"]
    assert database["dialect"] == admin.services.db.dialect
    assert database["status"] == "ok" and database["check_ms"] >= 0 and database["size_mb"] > 0
    queries = database["queries"]
    assert (queries["requests"], queries["avg_ms"], queries["max_ms"]) == (3, pytest.approx(50.0 / 3), 30.0)
    assert [(q["endpoint"], q["requests"], q["avg_ms"]) for q in queries["by_query"]] == [
        ("orders.select", 2, 10.0),
        ("users.update", 1, 30.0),
    ]


def test_live_metrics_active_users_and_the_transaction_flow_of_the_window(admin: Any) -> None:
    body = admin.get("/admin/api/metrics/live", params={"window": "3h"}).json()
    users = {r["user"] for r in admin.rows if r.get("user") and r["ts"] >= NOW - 30 * MIN}
    assert body["active_users"] == len(users) == 3  # ann, eve, kim
    flow = body["transactions"]
    today = [r for r in payment_rows() if r["ts"] >= NOW - 3 * HOUR]
    for name, statuses in (("completed", PAID), ("failed", FAILED), ("pending", {"pending"})):
        rows = [r for r in today if r["status"] in statuses]
        assert flow[name] == {"count": len(rows), "amount": sum(r["value"] for r in rows)}, name
    assert flow["completed"] == {"count": 4, "amount": 75.0}
    assert flow["total"] == {"count": 6, "amount": 130.0}
    assert flow["success_rate"] == 80.0  # 4 of the 5 decided
    last_hour = admin.get("/admin/api/metrics/live").json()["transactions"]
    assert (last_hour["completed"], last_hour["failed"]["count"]) == ({"count": 2, "amount": 45.0}, 0)


# ----------------------------------------------------------------- revenue


@pytest.mark.parametrize("period", ["hourly", "daily", "weekly"])
def test_revenue_per_period_sums_the_successful_payments_inserted(admin: Any, period: str) -> None:
    body = admin.get("/admin/api/analytics/revenue", params={"period": period}).json()
    rows = paid_rows(SPANS[period])
    expected: dict[str, float] = {}
    for r in rows:
        key = period_start(r["ts"], period).isoformat()
        expected[key] = expected.get(key, 0.0) + r["value"]
    series = body["series"]
    assert {p["period"]: p["revenue"] for p in series if p["revenue"]} == expected
    assert [p["period"] for p in series] == sorted(p["period"] for p in series)
    assert series[0]["period"] == period_start(NOW - SPANS[period], period).isoformat()
    assert series[-1]["period"] == period_start(NOW, period).isoformat()
    total = sum(r["value"] for r in rows)
    assert body["total"] == total and body["transactions"] == len(rows)
    # per period with data: from the first period with a payment of any status on
    spanned = [r for r in payment_rows() if NOW - SPANS[period] <= r["ts"] < NOW + MIN]
    first = period_start(min(r["ts"] for r in spanned), period).isoformat()
    assert body["average"] == pytest.approx(total / sum(p["period"] >= first for p in series))
    peak = max(expected.values())
    assert body["peak"] == {"period": min(k for k, v in expected.items() if v == peak), "amount": peak}
    assert body["revenue_per_transaction"] == pytest.approx(total / len(rows))
    span = [r for r in payment_rows() if NOW - SPANS[period] <= r["ts"]]
    paid, failed = sum(r["status"] in PAID for r in span), sum(r["status"] in FAILED for r in span)
    assert body["success_rate"] == round(100 * paid / (paid + failed), 2)
    assert (body["period"], body["until"]) == (period, NOW.isoformat())


def test_revenue_figures_written_out(admin: Any) -> None:
    daily = admin.get("/admin/api/analytics/revenue").json()  # daily by default
    assert daily["period"] == "daily" and len(daily["series"]) == 31
    assert (daily["total"], daily["transactions"], daily["peak"]["amount"]) == (1275.0, 8, 1000.0)
    hourly = admin.get("/admin/api/analytics/revenue", params={"period": "hourly"}).json()
    assert len(hourly["series"]) == 49 and hourly["total"] == 75.0 + 100.0 + 40.0 + 60.0
    assert hourly["success_rate"] == round(100 * 7 / 9, 2)  # failed: 50 today, 70 a day ago


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/admin/api/analytics/revenue", {"period": "monthly"}, "period"),
        ("/admin/api/analytics/revenue", {"period": "hour"}, "period"),  # the name /api/revenue takes
        ("/admin/api/analytics/revenue", {"user": "ann"}, "user"),
        ("/admin/api/metrics/live", {"window": "soon"}, "window"),
        ("/admin/api/alerts", {"limit": "-1"}, "limit"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(admin: Any, path: str, params: dict[str, str], field: str) -> None:
    r = admin.get(path, params=params)
    assert r.status_code == 400, r.text
    body = r.json()
    assert f"'{field}'" in body["error"] and body["errors"][0]["field"] == field


# ----------------------------------------------------------- user activity


def test_user_activity_feed_users_and_heatmap(admin: Any) -> None:
    body = admin.get("/admin/api/user-activity").json()
    shown = ("payment", "user_activity", "vectorization")
    feed = sorted((r for r in admin.rows if r["type"] in shown), key=lambda r: r["ts"], reverse=True)
    assert [(a["type"], a["user"], a["ts"]) for a in body["activities"]] == [
        (r["type"], r.get("user"), r["ts"].isoformat()) for r in feed
    ]
    users = sorted({r["user"] for r in admin.rows if r.get("user") and r["ts"] >= NOW - 30 * MIN})
    assert (body["active_users"], body["users"], body["active_users_window_minutes"]) == (3, users, 30)
    heat = body["heatmap"]
    assert heat["weekdays"] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] and heat["hours"] == list(range(24))
    expected = [[0.0] * 24 for _ in range(7)]
    for r in admin.rows:
        expected[r["ts"].weekday()][r["ts"].hour] += 1
    assert heat["counts"] == expected


def test_user_activity_shows_the_file_conversions_of_the_last_day(admin: Any) -> None:
    conversions = admin.get("/admin/api/user-activity").json()["vectorization"]
    day = [c for c in CONVERSIONS if c[0] > -DAY]
    assert conversions["total"] == len(day) == 5
    assert (conversions["completed"], conversions["failed"], conversions["pending"]) == (3, 1, 1)
    assert conversions["success_rate"] == 75.0
    durations = [c[3] for c in day if c[3] is not None]
    assert conversions["duration"]["requests"] == len(durations)
    assert conversions["duration"]["avg_ms"] == pytest.approx(sum(durations) / len(durations))
    assert [(e["user"], e["status"]) for e in conversions["recent"]] == [(c[1], c[2]) for c in day]


# ------------------------------------------------------ health and alerts


def test_health_reports_the_database_components_and_firing_alerts(admin: Any) -> None:
    r = admin.get("/admin/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "healthy"  # the firing alert is a warning
    assert body["database"]["status"] == "ok" and body["database"]["dialect"] == admin.services.db.dialect
    assert (body["components"], body["components_status"]) == ([], "unknown")
    assert body["alerts"] == {"firing": 1, "pending": 0}
    assert body["timestamp"] == NOW.isoformat() and body["version"] == "1.0.0"


def test_alerts_lists_open_and_recent_alerts_of_the_engine(admin: Any) -> None:
    body = admin.get("/admin/api/alerts").json()
    assert [(a["rule"], a["state"], a["severity"]) for a in body["active"]] == [("always", "firing", "warning")]
    assert body["counts"] == {"firing": 1, "pending": 0}
    assert [a["id"] for a in body["recent"]] == [body["active"][0]["id"]] and body["total"] == 1
    assert admin.get("/admin/api/alerts", params={"limit": 0}).json()["recent"] == []


# ------------------------------------------------------------------ caches


def stats(server: Any) -> dict[str, Any]:
    r = server.get("/admin/api/cache/stats")
    assert r.status_code == 200
    caches: dict[str, Any] = r.json()["caches"]
    return caches


def test_each_cache_counts_a_hit_on_a_repeat_and_a_miss_after_new_data(server: Any) -> None:
    freeze(server, NOW)
    payments(server, NOW)
    before = stats(server)
    assert {name: before[name]["ttl_seconds"] for name in TTLS} == TTLS
    assert all(before[n]["entries"] == before[n]["hits"] == before[n]["misses"] == 0 for n in TTLS)
    assert before["live"]["hit_ratio"] is None
    paths = {
        "live": "/admin/api/metrics/live",
        "revenue": "/admin/api/analytics/revenue",
        "activity": "/admin/api/user-activity",
        "health": "/admin/api/health",
    }
    first = {name: server.get(path).json() for name, path in paths.items()}
    second = {name: server.get(path).json() for name, path in paths.items()}
    assert second == first
    after = stats(server)
    for name in paths:
        assert (after[name]["entries"], after[name]["hits"], after[name]["misses"], after[name]["hit_ratio"]) == (
            1,
            1,
            1,
            0.5,
        ), name
    post_events(server, [event(NOW - MIN, "payment", source="shop", value=500.0, status="completed", user="new")])
    third = server.get("/admin/api/analytics/revenue").json()
    assert third["total"] == first["revenue"]["total"] + 500.0
    assert server.get("/admin/api/metrics/live").json()["transactions"]["completed"]["amount"] == 45.0 + 500.0
    later = stats(server)
    assert (later["revenue"]["hits"], later["revenue"]["misses"]) == (1, 2)
    assert (later["live"]["hits"], later["live"]["misses"]) == (1, 2)
    assert (later["activity"]["hits"], later["activity"]["misses"]) == (1, 1)  # not asked again


def test_clearing_the_caches_says_how_many_entries_went(server: Any) -> None:
    freeze(server, NOW)
    payments(server, NOW)
    for path in (
        "/admin/api/metrics/live",
        "/admin/api/analytics/revenue?period=hourly",
        "/admin/api/analytics/revenue",
        "/api/overview",
    ):
        assert server.get(path).status_code == 200
    held = stats(server)
    assert (
        sum(c["entries"] for c in held.values()) == 4
        and held["revenue"]["entries"] == 2
        and held["shared"]["entries"] == 1
    )
    r = server.post("/admin/api/cache/clear")
    assert r.status_code == 200
    assert r.json() == {"status": "success", "cleared": 4}
    assert all(c["entries"] == 0 for c in stats(server).values())
    assert server.post("/admin/api/cache/clear").json()["cleared"] == 0


def test_a_broken_component_degrades_health_and_an_empty_store_answers_zeros(server: Any) -> None:
    freeze(server, NOW)
    live = server.get("/admin/api/metrics/live").json()
    assert [h["source"] for h in live["system"]["hosts"]] == ["pulseboard"]
    assert live["system"]["cpu_percent"] is None and live["system"]["disk_percent"] > 0
    assert live["transactions"]["total"] == {"count": 0, "amount": 0.0} and live["transactions"]["success_rate"] is None
    assert (live["response_times"]["requests"], live["response_times"]["p95_ms"]) == (0, None)
    revenue = server.get("/admin/api/analytics/revenue").json()
    assert (revenue["total"], revenue["transactions"], revenue["revenue_per_transaction"]) == (0.0, 0, None)
    activity = server.get("/admin/api/user-activity").json()
    assert (activity["activities"], activity["active_users"], activity["vectorization"]) == ([], 0, None)
    assert server.get("/admin/api/health").json()["status"] == "healthy"
    r = server.put("/api/components/gateway", json={"status": "error", "detail": "timeouts"})
    assert r.status_code == 200
    health = server.get("/admin/api/health").json()  # a new event: not the cached answer
    assert (health["status"], health["components_status"]) == ("degraded", "error")
    assert [(c["name"], c["status"]) for c in health["components"]] == [("gateway", "error")]


def test_the_admin_dashboard_opens_the_revenue_page(admin: Any) -> None:
    r = admin.get("/admin/dashboard", allow_redirects=False)
    assert (r.status_code, r.headers["Location"]) == (302, "/revenue")


def test_unknown_admin_api_paths_answer_404_json(admin: Any) -> None:
    r = admin.get("/admin/api/nothing-here")
    assert r.status_code == 404 and "error" in r.json()


# ----------------------------------------------------------------- sign-in

KEY = "admin-api-key"
PASSWORDS = {"ada": "ada-admin-pw", "vic": "vic-viewer-pw"}


@pytest.fixture(scope="module")
def secured(make_shared_server: Any, module_db_url: str) -> Any:
    server = make_shared_server(module_db_url, auth=True, api_keys=KEY)
    for name, role in (("ada", "admin"), ("vic", "viewer")):
        with server.services.db.write() as conn:
            add_user(conn, username=name, password_hash=hash_password(PASSWORDS[name]), role=role, now=NOW)
    return server


def sign_in(server: Any, name: str) -> requests.Session:
    http = requests.Session()
    http.headers["Origin"] = server.url
    form = http.get(server.url + "/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, form[:300]
    data = {"username": name, "password": PASSWORDS[name], "csrf_token": token.group(1)}
    r = http.post(server.url + "/login", data=data, allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.text[:300]
    return http


@pytest.mark.parametrize("path", ROUTES)
def test_with_sign_in_on_an_admin_or_an_api_key_reads_and_nobody_else(secured: Any, path: str) -> None:
    anonymous = requests.get(secured.url + path, timeout=30)
    assert anonymous.status_code == 401 and "API key" in anonymous.json()["error"]
    with sign_in(secured, "vic") as viewer:
        refused = viewer.get(secured.url + path, timeout=30)
    assert refused.status_code == 403 and "vic is a viewer" in refused.json()["error"]
    keyed = requests.get(secured.url + path, headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
    assert keyed.status_code == 200 and isinstance(keyed.json(), dict)
    with sign_in(secured, "ada") as ada:
        signed = ada.get(secured.url + path, timeout=30)
    assert signed.status_code == 200 and signed.json().keys() == keyed.json().keys()


def test_with_sign_in_on_only_a_signed_in_admin_clears_the_caches(secured: Any) -> None:
    url = secured.url + "/admin/api/cache/clear"
    assert requests.post(url, timeout=30).status_code == 401
    keyed = requests.post(url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
    assert keyed.status_code == 403 and "signed-in admin" in keyed.json()["error"]
    with sign_in(secured, "vic") as viewer:
        assert viewer.post(url, timeout=30).status_code == 403
    with sign_in(secured, "ada") as ada:
        assert ada.get(secured.url + "/admin/api/metrics/live", timeout=30).status_code == 200
        entries = sum(
            c["entries"] for c in ada.get(secured.url + "/admin/api/cache/stats", timeout=30).json()["caches"].values()
        )
        assert entries >= 1
        elsewhere = ada.post(url, headers={"Origin": "https://evil.example"}, timeout=30)
        assert elsewhere.status_code == 403 and "cross-origin" in elsewhere.json()["error"]
        r = ada.post(url, timeout=30)
        assert (r.status_code, r.json()) == (200, {"status": "success", "cleared": entries})
        dashboard = ada.get(secured.url + "/admin/dashboard", allow_redirects=False, timeout=30)
        assert (dashboard.status_code, dashboard.headers["Location"]) == (302, "/revenue")


def test_with_sign_in_off_clearing_takes_an_api_key_when_keys_are_set(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, api_keys=KEY)
    assert server.get("/admin/api/cache/stats").status_code == 200  # reads are open, as every read
    refused = server.post("/admin/api/cache/clear")
    assert refused.status_code == 401 and "API key" in refused.json()["error"]
    r = server.post("/admin/api/cache/clear", headers={"Authorization": f"Bearer {KEY}"})
    assert (r.status_code, r.json()) == (200, {"status": "success", "cleared": 0})
