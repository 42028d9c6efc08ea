"""Sign-in in a real browser: the form, the overview behind it (live feed
included), and sign-out."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from auth.passwords import hash_password
from data.users import add_user

pytestmark = pytest.mark.browser


def test_sign_in_see_the_overview_and_sign_out(page: Page, make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, auth=True, api_keys="feed-key")
    with server.services.db.write() as conn:
        add_user(
            conn,
            username="ada",
            password_hash=hash_password("ada-admin-pw"),
            role="admin",
            now=datetime.now(timezone.utc),
        )
    key = {"Authorization": "Bearer feed-key"}
    assert (
        server.post(
            "/api/events", json=[{"type": "scan", "status": "ok"}, {"type": "scan", "status": "ok"}], headers=key
        ).status_code
        == 201
    )

    page.goto(server.url + "/")
    expect(page).to_have_url(server.url + "/login?next=/")
    expect(page.get_by_role("heading", name="Pulseboard")).to_be_visible()
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-message")).to_have_text("Wrong user name or password.")
    expect(page.get_by_label("User name")).to_have_value("ada")

    page.get_by_label("Password").fill("ada-admin-pw")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(server.url + "/")
    expect(page.locator("#kpi-events-today")).to_have_text("2")
    expect(page.locator(".pb-user")).to_have_text("ada")
    # The live feed's WebSocket is let in with the session.
    server.post("/api/events", json={"type": "door", "message": "opened while watching"}, headers=key)
    expect(page.locator("#event-feed")).to_contain_text("opened while watching")

    # A session that ends while the page is open (here: its cookie is gone) leads back to the form.
    cookies = page.context.cookies()
    page.context.clear_cookies()
    expect(page).to_have_url(server.url + "/login?next=%2F")
    page.context.add_cookies(cookies)  # type: ignore[arg-type]
    page.goto(server.url + "/")
    expect(page.locator(".pb-user")).to_have_text("ada")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(server.url + "/login")
    page.goto(server.url + "/explore")
    expect(page).to_have_url(server.url + "/login?next=/explore")
