"""The dashboard shell and overview in a real browser."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_it_shows_how_to_send_a_first_event_when_empty(page: Page, sqlite_server: Any) -> None:
    page.goto(sqlite_server.url + "/")
    expect(page.locator("#event-feed")).to_contain_text("No events yet")
    expect(page.locator("#event-feed")).to_contain_text("curl -X POST")


def test_it_shows_stored_events_in_the_cards_and_feed(page: Page, sqlite_server: Any) -> None:
    sqlite_server.post(
        "/api/events",
        json=[{"type": "scan", "status": "ok"}, {"type": "sync", "status": "failed", "message": "cloud down"}],
    )
    page.goto(sqlite_server.url + "/")
    expect(page.locator("#kpi-events-today")).to_have_text("2")
    expect(page.locator("#kpi-success-rate")).to_have_text("50.0 %")
    expect(page.locator("#event-feed")).to_contain_text("cloud down")


def test_it_keeps_the_time_range_in_the_url_and_old_window_links_work(page: Page, sqlite_server: Any) -> None:
    page.goto(sqlite_server.url + "/?window=6h")
    expect(page).to_have_url(sqlite_server.url + "/?range=6h")
    expect(page.locator(".pb-tb-presets button.active")).to_have_text("6 h")
    page.locator(".pb-tb-presets button", has_text="24 h").click()
    expect(page).to_have_url(sqlite_server.url + "/?range=24h")
    page.reload()
    expect(page.locator(".pb-tb-presets button.active")).to_have_text("24 h")


def test_the_time_bar_shows_only_the_refresh_where_a_page_has_no_time_range(page: Page, sqlite_server: Any) -> None:
    page.goto(sqlite_server.url + "/no-such-page")
    expect(page.locator("#page")).to_contain_text("Page not found")
    expect(page.locator("#tb-refresh")).to_be_visible()
    expect(page.locator("#tb-range")).to_be_hidden()
    page.goto(sqlite_server.url + "/exports")  # its files follow the range
    expect(page.locator("#tb-range")).to_be_visible()


def test_it_remembers_the_dark_theme(page: Page, sqlite_server: Any) -> None:
    page.goto(sqlite_server.url + "/")
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "light")
    page.locator("#theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-bs-theme", "dark")


def test_it_shows_a_friendly_page_for_unknown_paths(page: Page, sqlite_server: Any) -> None:
    page.goto(sqlite_server.url + "/nowhere")
    expect(page.get_by_text("Page not found")).to_be_visible()
