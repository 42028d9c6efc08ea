"""Tool-usage and payments routes: GET /api/entities/history, /api/revenue,
/api/transactions, /api/users/active, /api/heatmap and /api/timings.

Data (all anchored on ``NOW``): :func:`tests.read_factories.tool_borrows`
(``BORROWS``), :func:`~tests.read_factories.payments` (``PAYMENTS_TODAY``,
``PAYMENTS_EARLIER``) and :func:`~tests.read_factories.request_timings`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from analytics.histogram import RELATIVE_ERROR
from tests.read_factories import (
    DAY,
    HOUR,
    MIN,
    OTHER_TOOL,
    PAYMENTS_EARLIER,
    PAYMENTS_TODAY,
    TOOL,
    fixed_now,
    freeze,
    payments,
    request_timings,
    shared_server,
    tool_borrows,
)

NOW = fixed_now()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def usage(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shared_server(request, tmp_path_factory) as server:
        tool_borrows(server, NOW)
        payments(server, NOW)
        request_timings(server, NOW)
        freeze(server, NOW)
        yield server


def minute(offset: timedelta) -> str:
    ts = NOW + offset
    return ts.replace(second=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def point(offset: timedelta, count: int, users: list[str], overage: int) -> dict[str, Any]:
    return {"timestamp": minute(offset), "count": count, "users": users, "overage_count": overage}


# ------------------------------------------------------------ tool usage

CANOE = [point(-MIN / 2, 1, ["bob"], 1)]
# alice (overage), bob and alice again within 11:57 (now - 3 min).
BURST = point(-3 * MIN, 3, ["alice", "bob"], 1)
CAROL = point(-10 * MIN, 1, ["carol"], 1)
DAVE = point(-45 * MIN, 1, ["dave"], 0)
ERIN = point(-2 * HOUR, 1, ["erin"], 1)
FRANK = point(-5 * HOUR, 1, ["frank"], 0)
HISTORY = {
    "1min": {OTHER_TOOL: CANOE},
    "5min": {OTHER_TOOL: CANOE, TOOL: [BURST]},
    "10min": {OTHER_TOOL: CANOE, TOOL: [CAROL, BURST]},  # carol's borrow is exactly 10 minutes old
    "30min": {OTHER_TOOL: CANOE, TOOL: [CAROL, BURST]},
    "1h": {OTHER_TOOL: CANOE, TOOL: [DAVE, CAROL, BURST]},
    "3h": {OTHER_TOOL: CANOE, TOOL: [ERIN, DAVE, CAROL, BURST]},
    "6h": {OTHER_TOOL: CANOE, TOOL: [FRANK, ERIN, DAVE, CAROL, BURST]},  # gina's (7 h ago) is out
}


SECONDS = {"1min": 60, "5min": 300, "10min": 600, "30min": 1800, "1h": 3600, "3h": 10800, "6h": 21600}


@pytest.mark.parametrize("window", list(HISTORY))
def test_entity_history_per_minute_with_users_and_overage(usage: Any, window: str) -> None:
    r = usage.get("/api/entities/history", params={"window": window, "type": "borrow"})
    assert r.status_code == 200
    body = r.json()
    assert body["window_seconds"] == SECONDS[window]
    assert body["tool_metrics"] == HISTORY[window]


def test_entity_history_defaults_to_30_minutes_and_counts_another_flag(usage: Any) -> None:
    body = usage.get("/api/entities/history", params={"type": "borrow"}).json()
    assert (body["window_seconds"], body["tool_metrics"]) == (1800, HISTORY["30min"])
    body = usage.get("/api/entities/history", params={"type": "borrow", "window": "5min", "flag": "urgent"}).json()
    assert [p["overage_count"] for p in body["tool_metrics"][TOOL]] == [0]
    body = usage.get("/api/entities/history", params={"type": "borrow", "window": "1h", "user": "dave"}).json()
    assert body["tool_metrics"] == {TOOL: [DAVE]}


@pytest.mark.parametrize("window", ["7h", "1d", "abc", "0"])
def test_entity_history_refuses_windows_beyond_6_hours_or_malformed(usage: Any, window: str) -> None:
    r = usage.get("/api/entities/history", params={"window": window})
    assert r.status_code == 400
    assert "'window'" in r.json()["error"]


# -------------------------------------------------------------- revenue


def test_revenue_per_hour_sums_successful_payments(usage: Any) -> None:
    params = {"period": "hour", "type": "payment", "since": (NOW - 3 * HOUR).isoformat(), "until": NOW.isoformat()}
    body = usage.get("/api/revenue", params=params).json()
    assert body["period"] == "hour"
    assert [(p["period"], p["total"], p["count"]) for p in body["periods"]] == [
        ((NOW - 3 * HOUR).isoformat(), 30.0, 2),  # 10 + 20 completed
        ((NOW - 2 * HOUR).isoformat(), 0.0, 0),  # 50 failed and 5 pending are not revenue
        ((NOW - HOUR).isoformat(), 45.0, 2),  # 30 + 15
    ]
    assert (body["n_periods"], body["total"], body["average"]) == (3, 75.0, 25.0)
    assert (body["peak_period"], body["peak_amount"]) == ((NOW - HOUR).isoformat(), 45.0)


def test_revenue_per_day_covers_the_whole_default_week(usage: Any) -> None:
    body = usage.get("/api/revenue", params={"type": "payment"}).json()  # period=day, window 7 days
    midnight = NOW.replace(hour=0)
    totals = {p["period"]: p["total"] for p in body["periods"]}
    assert list(totals) == [(midnight - d * DAY).isoformat() for d in range(7, -1, -1)]
    # The first, partial day holds the 1000 paid 7 days ago + 1 h.
    assert totals[(midnight - 7 * DAY).isoformat()] == 1000.0
    assert totals[(midnight - 2 * DAY).isoformat()] == 100.0
    assert totals[(midnight - DAY).isoformat()] == 100.0  # 40 + 60; the failed 70 is not revenue
    assert totals[midnight.isoformat()] == 75.0
    assert (body["n_periods"], body["total"], body["average"]) == (8, 1275.0, 1275.0 / 8)
    assert (body["peak_period"], body["peak_amount"]) == ((midnight - 7 * DAY).isoformat(), 1000.0)


def test_revenue_counts_every_status_when_asked(usage: Any) -> None:
    body = usage.get("/api/revenue", params={"type": "payment", "success_only": "false"}).json()
    assert body["total"] == sum(p[1] for p in PAYMENTS_TODAY + PAYMENTS_EARLIER) == 1400.0


def test_revenue_per_week_starts_on_monday(usage: Any) -> None:
    body = usage.get("/api/revenue", params={"type": "payment", "period": "week", "window": "14d"}).json()
    weeks: dict[str, float] = {}
    for offset, amount, status, _ in PAYMENTS_TODAY + PAYMENTS_EARLIER:
        if status in ("completed", "success"):
            day = (NOW + offset).replace(hour=0, minute=0)
            monday = day - timedelta(days=day.weekday())
            weeks[monday.isoformat()] = weeks.get(monday.isoformat(), 0.0) + amount
    got = {p["period"]: p["total"] for p in body["periods"] if p["total"]}
    assert got == weeks
    assert all(datetime.fromisoformat(p["period"]).weekday() == 0 for p in body["periods"])
    assert body["total"] == 1275.0


# ---------------------------------------------------------- transactions


def test_transactions_status_mix_and_success_rate(usage: Any) -> None:
    body = usage.get("/api/transactions", params={"type": "payment"}).json()  # the last day, from now - 24 h
    assert body["statuses"] == [
        {"status": "completed", "count": 4, "amount": 75.0},
        {"status": "failed", "count": 2, "amount": 120.0},  # 50 today, 70 exactly a day ago
        {"status": "pending", "count": 1, "amount": 5.0},
        {"status": "success", "count": 1, "amount": 60.0},
    ]
    assert (body["success"], body["failure"], body["total"]) == (5, 2, 8)
    assert body["success_rate"] == round(100 * 5 / 7, 2) == 71.43


def test_active_users_in_the_last_minutes(usage: Any) -> None:
    body = usage.get("/api/users/active", params={"type": "payment"}).json()
    assert body == {"window_minutes": 30, "active_users": 1, "users": ["eve"]}
    assert usage.get("/api/users/active", params={"type": "payment", "minutes": 60}).json()["users"] == ["dee", "eve"]
    body = usage.get("/api/users/active", params={"type": "payment", "minutes": 180}).json()
    assert (body["active_users"], body["users"]) == (5, ["ann", "ben", "cid", "dee", "eve"])
    body = usage.get("/api/users/active", params={"minutes": 1}).json()
    assert body["users"] == ["bob"]  # his CANoe borrow 30 s ago; requests carry no user


# --------------------------------------------------------------- heatmap


@pytest.mark.parametrize("tz", ["UTC", "Asia/Tokyo", "America/New_York"])
def test_heatmap_counts_payments_per_weekday_and_local_hour(usage: Any, tz: str) -> None:
    body = usage.get("/api/heatmap", params={"type": "payment", "tz": tz}).json()
    assert body["tz"] == tz
    assert body["weekdays"] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert body["hours"] == list(range(24))
    expected = [[0] * 24 for _ in range(7)]
    for offset, *_ in PAYMENTS_TODAY + PAYMENTS_EARLIER:
        local = (NOW + offset).astimezone(ZoneInfo(tz))
        expected[local.weekday()][local.hour] += 1
    assert body["counts"] == expected
    assert sum(map(sum, body["counts"])) == 11


def test_heatmap_refuses_an_unknown_time_zone(usage: Any) -> None:
    r = usage.get("/api/heatmap", params={"tz": "Mars/Olympus"})
    assert r.status_code == 400
    assert "'tz'" in r.json()["error"] and "Mars/Olympus" in r.json()["error"]


# --------------------------------------------------------------- timings


def test_timings_average_exact_and_p95_within_the_histogram_error(usage: Any) -> None:
    body = usage.get("/api/timings", params={"type": "request"}).json()
    checkout, cart = body["endpoints"]
    assert (checkout["endpoint"], checkout["requests"], checkout["max_ms"]) == ("/api/checkout", 100, 1000.0)
    assert checkout["avg_ms"] == 505.0  # (10 + 20 + ... + 1000) / 100, exact from rollups
    true_p95 = 10.0 * math.ceil(0.95 * 100)  # the 95th of 100 sorted durations: 950 ms
    assert checkout["relative_error"] == RELATIVE_ERROR
    assert abs(checkout["p95_ms"] - true_p95) <= RELATIVE_ERROR * true_p95
    assert (cart["endpoint"], cart["requests"], cart["avg_ms"], cart["max_ms"]) == ("/api/cart", 2, 50.0, 60.0)
    assert abs(cart["p95_ms"] - 60.0) <= RELATIVE_ERROR * 60.0


def test_timings_cover_the_last_hour_by_default(usage: Any) -> None:
    # /api/checkout requests run every 30 s back to now - 50 min: all inside the hour.
    body = usage.get("/api/timings", params={"type": "request", "window": "10min"}).json()
    assert [(e["endpoint"], e["requests"]) for e in body["endpoints"]] == [("/api/checkout", 20), ("/api/cart", 2)]
    assert usage.get("/api/timings", params={"type": "payment"}).json() == {"endpoints": []}


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/api/revenue", {"period": "month"}, "period"),
        ("/api/revenue", {"window": "abc"}, "window"),
        ("/api/revenue", {"since": NOW.isoformat(), "until": (NOW - HOUR).isoformat()}, "since"),
        ("/api/revenue", {"window": "401d"}, "window"),
        ("/api/revenue", {"since": (NOW - 500 * DAY).isoformat()}, "since"),
        ("/api/revenue", {"success_only": "maybe"}, "success_only"),
        ("/api/revenue", {"user": "ann"}, "user"),  # revenue comes from rollups, which keep no users
        ("/api/transactions", {"session_id": "s1"}, "session_id"),
        ("/api/heatmap", {"execution_id": "e1"}, "execution_id"),
        ("/api/timings", {"user": "ann"}, "user"),
        ("/api/timings", {"until": "not-a-time"}, "until"),
        ("/api/users/active", {"minutes": "0"}, "minutes"),
        ("/api/users/active", {"minutes": "x"}, "minutes"),
        ("/api/entities/history", {"window": "-5min"}, "window"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(usage: Any, path: str, params: dict[str, str], name: str) -> None:
    r = usage.get(path, params=params)
    assert r.status_code == 400, r.text
    assert f"'{name}'" in r.json()["error"]
