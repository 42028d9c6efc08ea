"""A board's own settings, its deletion and its share links, from the board
page in a real browser: settings saved as a new version (every bad field
named at once), variables and rows added, changed and removed; a board
deleted after a confirm step by its owner or an admin, never shown to a
viewer nor for a provisioned board; a share link made in the page opened
without sign-in, then revoked in the page."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from auth.passwords import hash_password
from core.boards import parse_board
from data import boards as store
from data.users import add_user
from tests.factories import gate_board, grid

pytestmark = pytest.mark.browser


BOARD: dict[str, Any] = {
    "uid": "plant",
    "title": "Plant",
    "time": {"range": "6h"},
    "rows": [{"title": "Gates"}, {"title": "Doors"}],
    "panels": [
        {"id": "all", "title": "All", "kind": "stat", "query": {"metric": "count"}, "grid": grid(0, 0, 3, 4)},
        {
            "id": "scans",
            "title": "Scans",
            "kind": "stat",
            "query": {"metric": "count", "type": "scan"},
            "row": 0,
            "grid": grid(0, 0, 3, 4),
        },
        {
            "id": "doors",
            "title": "Doors",
            "kind": "stat",
            "query": {"metric": "count", "type": "door"},
            "row": 1,
            "grid": grid(0, 0, 3, 4),
        },
    ],
}


@pytest.fixture
def plant(sqlite_server: Any) -> Any:
    return gate_board(sqlite_server, BOARD)


def open_settings(page: Page) -> None:
    page.get_by_text("Edit", exact=True).click()
    page.locator("#bd-settings").click()
    expect(page.locator("#bd-settings-modal")).to_be_visible()


def var_field(page: Page, n: int, field: str) -> Any:
    return page.locator(".pb-bd-s-var").nth(n).locator(f'[id*=\'"type":"bd-sv-{field}"\']')


def test_settings_are_saved_as_a_version_and_every_bad_field_is_named(page: Page, plant: Any) -> None:
    page.goto(plant.url + "/boards/plant")
    all_events = page.locator('[data-panel="all"] .pb-bd-stat-value')
    expect(all_events).to_have_text("6")
    open_settings(page)
    expect(page.locator("#bd-s-title")).to_have_value("Plant")
    expect(page.locator("#bd-s-range")).to_have_value("6h")
    expect(page.locator(".pb-bd-s-row input[type=text]")).to_have_count(2)

    page.locator("#bd-s-title").fill("Plant floor")
    page.locator("#bd-s-description").fill("Gates and doors of hall 2")
    page.locator("#bd-s-tags").fill("ops, hall-2")
    page.locator("#bd-s-range").fill("soon")
    page.locator("#bd-s-refresh").select_option("30s")
    page.locator("#bd-s-add-var").click()
    expect(page.locator(".pb-bd-s-var")).to_have_count(1)
    var_field(page, 0, "name").fill("bad name")
    var_field(page, 0, "kind").select_option("query")
    expect(var_field(page, 0, "values")).to_be_disabled()  # a query variable's values come from the data
    var_field(page, 0, "dimension").select_option("source")
    page.locator(".pb-bd-s-var").nth(0).get_by_text("several").click()
    var_field(page, 0, "default").fill("gate-1, gate-2")
    page.locator("#bd-s-save").click()
    errors = page.locator(".pb-bd-s-errors li")
    expect(errors).to_have_count(2)  # both bad fields at once, in the form's words
    expect(page.locator(".pb-bd-s-errors")).to_contain_text("Default time range: expected a duration")
    expect(page.locator(".pb-bd-s-errors")).to_contain_text('Variable 1 ("bad name"), name')
    assert plant.get("/api/boards/plant").json()["version"] == 1  # nothing saved

    page.locator("#bd-s-range").fill("12h")
    var_field(page, 0, "name").fill("src")
    # Rows: the first renamed and folded, the second removed (its panel stays, in no row), one added.
    page.locator(".pb-bd-s-row").nth(0).locator("input[type=text]").fill("Gate scans")
    page.locator(".pb-bd-s-row").nth(0).get_by_text("folded").click()
    page.locator(".pb-bd-s-row").nth(1).get_by_title(re.compile("Remove this row")).click()
    expect(page.locator(".pb-bd-s-row")).to_have_count(1)
    page.locator("#bd-s-add-row").click()
    page.locator(".pb-bd-s-row").nth(1).locator("input[type=text]").fill("Later")
    expect(page.locator(".pb-bd-s-row").nth(0).locator("input[type=text]")).to_have_value("Gate scans")
    page.locator("#bd-s-save").click()
    expect(page.locator("#bd-settings-modal")).to_be_hidden()
    expect(page.locator("#bd-status")).to_contain_text("Settings saved (version 2)")

    expect(page.locator(".pb-bd-heading")).to_have_text("Plant floor")
    expect(page.locator('[data-var="src"]')).to_contain_text("gate-2")
    expect(page.get_by_role("button", name="Gate scans")).to_have_attribute("aria-expanded", "false")
    expect(page.locator('[data-panel="doors"] .pb-bd-stat-value')).to_have_text("2")  # out of its removed row
    saved = plant.get("/api/boards/plant").json()
    board = saved["board"]
    assert saved["version"] == 2 and board["schema"] == 2
    assert (board["title"], board["description"], board["tags"]) == (
        "Plant floor",
        "Gates and doors of hall 2",
        ["ops", "hall-2"],
    )
    assert board["time"] == {"range": "12h"} and board["refresh"] == "30s"
    assert board["variables"] == [
        {"name": "src", "kind": "query", "dimension": "source", "default": "gate-1,gate-2", "multi": True}
    ]
    assert board["rows"] == [{"title": "Gate scans", "collapsed": True}, {"title": "Later"}]
    rows = {p["id"]: p.get("row") for p in board["panels"]}
    assert rows == {"all": None, "scans": 0, "doors": None}

    # The variable edited again and removed: the form shows what is saved.
    page.locator("#bd-settings").click()
    expect(var_field(page, 0, "name")).to_have_value("src")
    expect(var_field(page, 0, "default")).to_have_value("gate-1,gate-2")
    page.locator(".pb-bd-s-var").nth(0).get_by_title("Remove this variable").click()
    expect(page.locator(".pb-bd-s-var")).to_have_count(0)
    page.locator("#bd-s-save").click()
    expect(page.locator("#bd-status")).to_contain_text("Settings saved (version 3)")
    expect(page.locator('[data-var="src"]')).to_have_count(0)
    assert "variables" not in plant.get("/api/boards/plant").json()["board"]


def test_the_owner_deletes_a_board_after_confirming(page: Page, plant: Any) -> None:
    page.goto(plant.url + "/boards/plant")
    expect(page.locator('[data-panel="all"] .pb-bd-stat-value')).to_have_text("6")
    expect(page.locator("#bd-delete")).to_be_hidden()  # edit mode only
    page.get_by_text("Edit", exact=True).click()
    page.locator("#bd-delete").click()
    expect(page.locator("#bd-delete-modal")).to_contain_text("cannot be undone")
    page.locator("#bd-delete-cancel").click()
    expect(page.locator("#bd-delete-modal")).to_be_hidden()
    assert plant.get("/api/boards/plant").status_code == 200
    page.locator("#bd-delete").click()
    page.locator("#bd-delete-confirm").click()
    expect(page).to_have_url(re.compile(r"/boards\?deleted="))
    expect(page.locator(".pb-bd-deleted")).to_have_text("The board “Plant” was deleted.")
    expect(page.locator(".pb-bd-empty")).to_contain_text("No boards yet")
    assert plant.get("/api/boards/plant").status_code == 404


def test_a_provisioned_board_shows_no_settings_or_delete(page: Page, sqlite_server: Any) -> None:
    now = datetime.now(timezone.utc)
    with sqlite_server.services.db.write() as conn:
        store.provision_board(conn, parse_board(BOARD, now=now), source_file="plant.yaml", now=now)
    page.goto(sqlite_server.url + "/boards/plant")
    expect(page.locator('[data-panel="all"] .pb-bd-stat-value')).to_have_text("0")
    expect(page.locator("#bd-toolbar-wrap")).to_be_hidden()
    expect(page.locator("#bd-settings")).to_be_hidden()
    expect(page.locator("#bd-delete")).to_be_hidden()


@pytest.fixture
def signed_in(make_server_for: Any, sqlite_url: str) -> Any:
    server = make_server_for(sqlite_url, auth=True)
    now = datetime.now(timezone.utc)
    with server.services.db.write() as conn:
        add_user(conn, username="ada", password_hash=hash_password("ada-admin-pw"), role="admin", now=now)
        add_user(conn, username="bob", password_hash=hash_password("bob-viewer-pw"), role="viewer", now=now)
        store.create_board(conn, parse_board(BOARD, now=now), owner="ada", now=now)
        store.create_board(conn, parse_board({**BOARD, "uid": "bobs", "title": "Bob's"}, now=now), owner="bob", now=now)
    return server


def sign_in(page: Page, server: Any, path: str, user: str, password: str) -> None:
    page.goto(server.url + path)
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(path))
    expect(page.locator(".pb-bd-heading")).to_be_visible()


def test_a_share_link_made_in_the_page_opens_read_only_until_revoked_in_the_page(
    page: Page, browser: Browser, signed_in: Any
) -> None:
    sign_in(page, signed_in, "/boards/plant", "ada", "ada-admin-pw")
    page.get_by_text("Edit", exact=True).click()
    page.locator("#bd-share").click()
    expect(page.locator(".pb-bd-share-empty")).to_have_text("No links yet.")
    page.locator("#bd-share-create").click()
    address = page.locator(".pb-bd-share-live input")
    expect(address).to_have_count(1)
    url = address.input_value()
    assert re.fullmatch(re.escape(signed_in.url) + r"/boards/plant\?share=[\w-]+", url), url
    expect(page.locator(".pb-bd-share-live .pb-bd-copy")).to_be_visible()

    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        other.goto(url)
        expect(other.locator(".pb-bd-heading")).to_have_text("Plant")
        expect(other.locator('[data-panel="all"] .pb-bd-stat-value')).to_have_text("0")
        expect(other.locator("#bd-toolbar-wrap")).to_be_hidden()

        page.locator(".pb-bd-share-live").get_by_role("button", name="Revoke").click()
        expect(page.locator(".pb-bd-share-revoked")).to_contain_text("revoked")
        expect(page.locator(".pb-bd-share-live")).to_have_count(0)
        other.goto(url)
        expect(other.get_by_role("heading", name="This link was revoked")).to_be_visible()
    finally:
        stranger.close()


def test_a_viewer_deletes_their_own_board_but_never_sees_share_links_or_anothers_delete(
    page: Page, signed_in: Any
) -> None:
    sign_in(page, signed_in, "/boards/plant", "bob", "bob-viewer-pw")
    expect(page.locator('[data-panel="all"] .pb-bd-stat-value')).to_have_text("0")
    expect(page.locator("#bd-toolbar-wrap")).to_be_hidden()  # ada's board: no edit, no delete
    expect(page.locator("#bd-delete")).to_be_hidden()
    page.goto(signed_in.url + "/boards/bobs")
    expect(page.locator(".pb-bd-heading")).to_have_text("Bob's")
    page.get_by_text("Edit", exact=True).click()
    expect(page.locator("#bd-settings")).to_be_visible()
    expect(page.locator("#bd-share")).to_be_hidden()  # share links are an admin's
    page.locator("#bd-delete").click()
    page.locator("#bd-delete-confirm").click()
    expect(page.locator(".pb-bd-deleted")).to_contain_text("Bob's")
    with signed_in.services.db.read() as conn:
        assert store.get_board(conn, "bobs") is None and store.get_board(conn, "plant") is not None
