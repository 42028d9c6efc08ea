"""The dashboard loads in a real browser and shows stored data."""
from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_it_shows_how_to_send_a_first_event_when_empty(page: Page, sqlite_server: Any) -> None:
    page.goto(sqlite_server.url + "/")
    expect(page.get_by_text("No events yet")).to_be_visible()
    expect(page.locator("pre")).to_contain_text("curl -X POST")


def test_it_counts_stored_events(page: Page, sqlite_server: Any) -> None:
    sqlite_server.post("/api/events", json=[{"type": "scan"}, {"type": "sync", "status": "ok"}])
    page.goto(sqlite_server.url + "/")
    expect(page.locator("#event-count")).to_have_text("2")
