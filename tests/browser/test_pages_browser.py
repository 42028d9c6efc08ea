"""Sessions, Entities, Revenue and System pages in a real browser."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_a_session_shows_boxes_speed_categories_and_interactions(page: Page, sqlite_server: Any) -> None:
    sqlite_server.post(
        "/session/start", json={"session_id": "sess_20261122_101500", "username": "john_doe", "canvas_mode": "wide"}
    )
    for boxes in (5, 3):
        sqlite_server.post(
            "/ingest/interaction",
            json={
                "session_id": "sess_20261122_101500",
                "interaction_type": "macro_execution",
                "button_key": "Num5",
                "execution_time_ms": 1250,
                "total_boxes": boxes,
                "degradation_counts": {"smudge": 1, "glare": 1},
            },
        )
    page.goto(sqlite_server.url + "/sessions")
    page.get_by_role("link", name="sess_20261122_101500").click()
    expect(page).to_have_url(sqlite_server.url + "/sessions/sess_20261122_101500")
    expect(page.locator("#s-detail")).to_contain_text("TOTAL BOXES", ignore_case=True)
    expect(page.locator("#s-detail .pb-card-value").first).to_have_text("8")
    expect(page.locator("#s-interactions .ag-center-cols-container .ag-row")).to_have_count(2)
    expect(page.locator("#s-categories")).to_contain_text("smudge")


def test_entity_history_survives_switching_and_reloading(page: Page, sqlite_server: Any) -> None:
    now = datetime.now(timezone.utc)
    sqlite_server.post(
        "/api/events",
        json=[
            {
                "ts": (now - timedelta(minutes=3)).isoformat(),
                "type": "borrow",
                "source": "tools",
                "entity": "MATLAB",
                "user": "ann",
                "attrs": {"overage": True},
            },
            {
                "ts": (now - timedelta(minutes=3)).isoformat(),
                "type": "borrow",
                "source": "tools",
                "entity": "MATLAB",
                "user": "bob",
            },
            {
                "ts": (now - timedelta(minutes=2)).isoformat(),
                "type": "borrow",
                "source": "tools",
                "entity": "CANoe",
                "user": "cy",
            },
        ],
    )
    page.goto(sqlite_server.url + "/entities?entity=MATLAB")
    expect(page.locator("#en-users")).to_contain_text("2 events, 1 flagged, 2 users: ann, bob")
    page.locator("#en-entity").click()
    page.get_by_role("option", name="CANoe", exact=True).click()
    expect(page.locator("#en-users")).to_contain_text("1 users: cy")
    expect(page).to_have_url(sqlite_server.url + "/entities?entity=CANoe")
    page.reload()
    expect(page.locator("#en-users")).to_contain_text("1 users: cy")
    page.goto(sqlite_server.url + "/entities?entity=MATLAB")
    expect(page.locator("#en-users")).to_contain_text("2 events, 1 flagged, 2 users: ann, bob")


def test_revenue_totals_and_status_mix(page: Page, sqlite_server: Any) -> None:
    sqlite_server.post(
        "/api/events",
        json=[
            {"type": "payment", "source": "pay", "status": "completed", "value": 20.0, "user": "ann"},
            {"type": "payment", "source": "pay", "status": "completed", "value": 5.5, "user": "bob"},
            {"type": "payment", "source": "pay", "status": "failed", "value": 99.0, "user": "bob"},
            {"type": "request", "source": "pay", "entity": "/api/checkout", "duration_ms": 80, "status": "200"},
        ],
    )
    page.goto(sqlite_server.url + "/revenue?period=hour")
    expect(page.locator("#rv-cards")).to_contain_text("25.50")
    expect(page.locator("#rv-cards")).to_contain_text("66.7 %")
    expect(page.locator("#rv-cards")).to_contain_text("2 active users")
    expect(page.locator("#rv-timings")).to_contain_text("/api/checkout")


def test_system_shows_the_process_and_database(page: Page, sqlite_server: Any) -> None:
    sqlite_server.post("/api/events", json=[{"type": "x"}] * 3)
    page.goto(sqlite_server.url + "/system")
    expect(page.locator("#sy-cards")).to_contain_text("PROCESS MEMORY", ignore_case=True)
    expect(page.locator("#sy-cards")).to_contain_text("sqlite")
