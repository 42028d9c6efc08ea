"""Share links and live panels in a real browser: a share link opens the
board read-only without sign-in and nothing else, and stops at once when
revoked; an event posted shows in a live panel without a reload."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from auth.passwords import hash_password
from core.boards import parse_board
from data import boards as store
from data.users import add_user

pytestmark = pytest.mark.browser

BOARD: dict[str, Any] = {
    "uid": "lobby",
    "title": "Lobby",
    "time": {"range": "1h"},
    "panels": [
        {
            "id": "doors",
            "title": "Doors",
            "kind": "stat",
            "query": {"metric": "count", "type": "door"},
            "grid": {"x": 0, "y": 0, "w": 4, "h": 4},
        },
        {
            "id": "doors-time",
            "title": "Doors over time",
            "kind": "timeseries",
            "query": {"metric": "count", "type": "door", "bucket": "1min"},
            "grid": {"x": 4, "y": 0, "w": 8, "h": 8},
        },
    ],
}
SECRET: dict[str, Any] = {**BOARD, "uid": "secret", "title": "Secret board"}


@pytest.fixture
def signed_in_server(make_server_for: Any, sqlite_url: str) -> Any:
    server = make_server_for(sqlite_url, auth=True, api_keys="feed-key")
    now = datetime.now(timezone.utc)
    with server.services.db.write() as conn:
        add_user(conn, username="ada", password_hash=hash_password("ada-admin-pw"), role="admin", now=now)
        store.create_board(conn, parse_board(BOARD, now=now), owner="ada", now=now)
        store.create_board(conn, parse_board(SECRET, now=now), owner="ada", now=now)
        share = store.create_share(conn, "lobby", created_by="ada", now=now)
    key = {"Authorization": "Bearer feed-key"}
    assert server.post("/api/events", json=[{"type": "door"}] * 3, headers=key).status_code == 201
    server.share_token = share["token"]
    return server


def test_a_share_link_opens_read_only_and_stops_when_revoked(page: Page, signed_in_server: Any) -> None:
    server = signed_in_server
    token = server.share_token
    page.goto(f"{server.url}/boards/lobby?share={token}")
    expect(page.locator(".pb-bd-heading")).to_have_text("Lobby")
    expect(page.locator('[data-panel="doors"] .pb-bd-stat-value')).to_have_text("3")
    expect(page.locator("#bd-toolbar-wrap")).to_be_hidden()
    expect(page.locator("#bd-note-form")).to_be_hidden()
    expect(page).to_have_url(re.compile(f"share={token}"))  # the address can be passed on as it is

    # The token (in its cookie) reads that board only: no other page, board or API route.
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert "pulse_share" in cookies and "pulse_session" not in cookies
    jar = requests.Session()
    jar.cookies.update(cookies)
    html = {"Accept": "text/html"}
    for path in ("/boards/secret", "/explore", "/boards"):
        refused = jar.get(server.url + path, headers=html, allow_redirects=False, timeout=10)
        assert refused.status_code == 302 and refused.headers["Location"].startswith("/login"), path
    assert jar.get(server.url + "/api/boards", timeout=10).status_code == 401
    other = {
        "output": "page.children",
        "outputs": {"id": "page", "property": "children"},
        "inputs": [{"id": "url", "property": "pathname", "value": "/boards/secret"}],
        "changedPropIds": ["url.pathname"],
        "state": [{"id": "url", "property": "search", "value": ""}],
    }
    assert jar.post(server.url + "/_dash-update-component", json=other, timeout=10).status_code == 401
    mine = {**other, "inputs": [{"id": "url", "property": "pathname", "value": "/boards/lobby"}]}
    drawn = jar.post(server.url + "/_dash-update-component", json=mine, timeout=10)
    assert drawn.status_code == 200 and "bd-uid" in drawn.text
    # Writes are refused to the share's role, whatever the page shows.
    refused = jar.put(
        server.url + "/api/boards/lobby",
        json={"version": 1, "board": BOARD},
        headers={"Origin": server.url},
        timeout=10,
    )
    assert refused.status_code == 401

    with server.services.db.write() as conn:
        assert store.revoke_share(conn, "lobby", token, now=datetime.now(timezone.utc))
    assert jar.post(server.url + "/_dash-update-component", json=mine, timeout=10).status_code == 401
    page.goto(f"{server.url}/boards/lobby?share={token}")
    expect(page.get_by_role("heading", name="This link was revoked")).to_be_visible()
    assert requests.get(f"{server.url}/boards/lobby?share={token}", timeout=10).status_code == 410


def test_a_live_panel_shows_a_posted_event_without_a_reload(page: Page, sqlite_server: Any) -> None:
    assert sqlite_server.post("/api/events", json=[{"type": "door"}] * 2).status_code == 201
    assert sqlite_server.post("/api/boards", json=BOARD).status_code == 201
    page.goto(sqlite_server.url + "/boards/lobby")
    stat = page.locator('[data-panel="doors"] .pb-bd-stat-value')
    expect(stat).to_have_text("2")
    expect(page).to_have_url(re.compile(r"refresh=off"))  # no timer: what follows comes from the live feed
    expect(page.locator('[data-panel="doors-time"] .js-plotly-plot')).to_be_visible()
    # The feed has answered the board's subscription: what is posted from now on is pushed.
    expect(page.locator("#bd-wrap")).to_have_attribute("data-live", "open")
    assert sqlite_server.post("/api/events", json={"type": "door", "message": "opened"}).status_code == 201
    expect(stat).to_have_text("3")
    page.wait_for_function(
        """() => { const p = document.querySelector('[data-panel="doors-time"] .js-plotly-plot');
                   return p && p.data && p.data[0].y.reduce((a, v) => a + (v || 0), 0) === 3; }"""
    )


def test_with_sign_in_off_a_share_link_is_read_only_and_a_revoked_one_says_so(page: Page, sqlite_server: Any) -> None:
    assert sqlite_server.post("/api/boards", json=BOARD).status_code == 201
    made = sqlite_server.post("/api/boards/lobby/shares")
    assert made.status_code == 201
    url = sqlite_server.url + made.json()["url"]
    page.goto(url)
    expect(page.locator(".pb-bd-heading")).to_have_text("Lobby")
    expect(page.locator('[data-panel="doors"] .pb-bd-stat-value')).to_have_text("0")
    expect(page.locator("#bd-toolbar-wrap")).to_be_hidden()
    expect(page.locator("#bd-note-form")).to_be_hidden()
    token = made.json()["token"]
    assert sqlite_server.http.delete(f"{sqlite_server.url}/api/boards/lobby/shares/{token}", timeout=10).ok
    page.goto(url)
    expect(page.locator(".pb-share-revoked")).to_contain_text("no longer shows this board")
    assert "Lobby" not in page.content()
