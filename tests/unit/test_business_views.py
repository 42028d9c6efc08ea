"""The business views (Overview, Revenue, Entities) without Pulseboard's own
self-monitoring events unless asked, and their averages over the periods
that have data; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from app import create_app
from callbacks.overview import refresh
from core.filters import SELF_SOURCE, Filters
from data.ingest import event_row, ingest
from reports import explore, usage
from reports import overview as report
from settings import load_settings

NOW = datetime(2026, 11, 19, 15, 30, tzinfo=timezone.utc)
PAYMENTS = Filters(type=("payment",))
REQUESTS = Filters(type=("request",))


@pytest.fixture
def services(db_url: str, tmp_path: Any) -> Iterator[Any]:
    svc = create_app(load_settings({"db": db_url, "data_dir": str(tmp_path)}, environ={})).server.extensions[
        "pulseboard"
    ]
    svc.clock = lambda: NOW
    yield svc
    svc.close()


def store(services: Any, rows: list[dict[str, Any]]) -> None:
    ingest(services.db, rows)


def business_and_own(services: Any) -> None:
    """Today: 4 payments-app events and 3 of Pulseboard's own, all in the last 10 minutes."""
    t = NOW - timedelta(minutes=5)
    store(
        services,
        [
            event_row(t, "payments", "request", entity="/api/products", status="200", duration_ms=40.0, user="ann"),
            event_row(t, "payments", "request", entity="/api/products", status="200", duration_ms=60.0, user="bob"),
            event_row(t, "payments", "payment", entity="card", status="completed", value=30.0, user="ann"),
            event_row(t, "payments", "payment", entity="card", status="failed", value=10.0, user="bob"),
            event_row(t, SELF_SOURCE, "request", entity="/health", status="200", duration_ms=2.0),
            event_row(t, SELF_SOURCE, "request", entity="/<path:path>", status="500", duration_ms=9.0),
            event_row(t, SELF_SOURCE, "cpu_percent", entity="pulseboard", value=12.0),
        ],
    )


def test_the_business_filter_leaves_out_pulseboards_own_events_unless_asked() -> None:
    assert Filters().business().exclude_source == (SELF_SOURCE,)
    assert Filters().business(include_self=True) == Filters()
    assert Filters(source=(SELF_SOURCE,)).business() == Filters(source=(SELF_SOURCE,))  # asked for by name
    assert Filters(type=("request",)).business().rollup_compatible  # still answered from rollups


def test_overview_kpis_exclude_pulseboards_own_events_by_default(services: Any) -> None:
    business_and_own(services)
    with services.db.read() as conn:
        plain = report.kpis(conn, NOW, Filters().business())
        every = report.kpis(conn, NOW, Filters().business(include_self=True))
    assert (plain["events_today"], plain["events_last_hour"]) == (4, 4)
    assert (every["events_today"], every["events_last_hour"]) == (7, 7)
    assert plain["success_rate"] == round(100 * 3 / 4, 2)  # 200, 200, completed of the four; failed
    assert every["success_rate"] == round(100 * 4 / 6, 2)  # ... and Pulseboard's 200 and 500


def test_overview_page_figures_follow_the_switch(services: Any) -> None:
    business_and_own(services)
    values = refresh(services, None, False)
    base = values[4]
    assert (base["events_today"], base["include_self"]) == (4, False)
    sources = values[-1]
    assert SELF_SOURCE not in str(sources.to_plotly_json()["data"])
    with_self = refresh(services, None, False, include_self=True)
    assert with_self[4]["events_today"] == 7
    assert SELF_SOURCE in str(with_self[-1].to_plotly_json()["data"])


def test_response_times_and_entities_exclude_pulseboards_routes(services: Any) -> None:
    business_and_own(services)
    since, until = NOW - timedelta(hours=1), NOW + timedelta(minutes=1)
    with services.db.read() as conn:
        timings = usage.timings(conn, since=since, until=until, filters=REQUESTS.business())
        all_timings = usage.timings(conn, since=since, until=until, filters=REQUESTS.business(include_self=True))
        entities = usage.entities(conn, filters=Filters().business())
        all_entities = usage.entities(conn, filters=Filters().business(include_self=True))
        users = usage.users(conn, now=NOW, minutes=30, filters=Filters().business())
        explored = explore.run(conn, explore.Query(since=since, until=until, group_by="source"))
    assert [(t["endpoint"], t["requests"]) for t in timings] == [("/api/products", 2)]
    assert {t["endpoint"] for t in all_timings} == {"/api/products", "/health", "/<path:path>"}
    assert entities == ["/api/products", "card"]
    assert set(all_entities) == {"/api/products", "card", "/health", "/<path:path>", "pulseboard"}
    assert users["active_users"] == 2
    # Explore (and the API) see every source unless the query filters it.
    assert dict(zip(explored["group"], explored["value"])) == {"payments": 4.0, SELF_SOURCE: 3.0}


def test_revenue_average_per_day_counts_the_days_since_the_first_payment(services: Any) -> None:
    paid = [(NOW - timedelta(days=d, hours=2), amount) for d, amount in ((0, 30.0), (1, 50.0), (1, 20.0), (6, 100.0))]
    store(services, [event_row(t, "payments", "payment", status="completed", value=v) for t, v in paid])
    with services.db.read() as conn:
        days = usage.revenue(
            conn, since=NOW - timedelta(days=30), until=NOW, freq="D", filters=PAYMENTS, success_only=True
        )
        hours = usage.revenue(
            conn, since=NOW - timedelta(hours=48), until=NOW, freq="H", filters=PAYMENTS, success_only=True
        )
    # From the first payment's day on (6 days ago; the quiet days between count as 0), not all 31.
    assert days["n_periods"] == 31 and days["periods_with_data"] == 7
    assert days["total"] == 200.0 and days["average"] == pytest.approx(200.0 / 7)
    assert hours["n_periods"] == 49 and hours["periods_with_data"] == 27  # from 26 hours ago
    assert hours["average"] == pytest.approx(100.0 / 27)
    with services.db.read() as conn:
        empty = usage.revenue(
            conn,
            since=NOW - timedelta(days=30),
            until=NOW,
            freq="D",
            filters=Filters(type=("none",)),
            success_only=True,
        )
    assert empty["average"] is None and empty["periods_with_data"] == 0


def test_the_per_minute_rate_of_a_fresh_install_divides_by_the_minutes_it_has(services: Any) -> None:
    store(services, [event_row(NOW - timedelta(minutes=2), "app", "click") for _ in range(6)])
    with services.db.read() as conn:
        assert report.kpis(conn, NOW)["rate_per_min"] == 3.0  # 6 events over 2 minutes, not over 10
    store(services, [event_row(NOW - timedelta(hours=2), "app", "click")])
    with services.db.read() as conn:
        assert report.kpis(conn, NOW)["rate_per_min"] == 0.6  # history before the window: 6 over 10 minutes
