"""Editing boards in a real browser: an Explore view saved as a panel, a
drag and a resize kept after a reload, a note on every time series, and a
viewer who sees no edit controls and whose writes are refused."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from auth.passwords import hash_password
from core.boards import parse_board
from data import boards as store
from data.users import add_user
from tests.conftest import wait_until
from tests.factories import gate_board, grid

pytestmark = pytest.mark.browser


BOARD: dict[str, Any] = {
    "uid": "ops",
    "title": "Ops",
    "time": {"range": "6h"},
    "panels": [
        {"id": "scans", "title": "Scans", "kind": "stat", "query": {"metric": "count"}, "grid": grid(0, 0, 3, 4)},
        {
            "id": "rate",
            "title": "Scans over time",
            "kind": "timeseries",
            "query": {"metric": "count", "bucket": "15min"},
            "grid": grid(0, 4, 6, 8),
        },
        {
            "id": "by-type",
            "title": "By type over time",
            "kind": "timeseries",
            "query": {"metric": "count", "group_by": "type", "bucket": "15min"},
            "chart": "area",
            "grid": grid(6, 4, 6, 8),
        },
    ],
}


@pytest.fixture
def ops(sqlite_server: Any) -> Any:
    return gate_board(sqlite_server, BOARD)


def test_an_explore_view_is_saved_as_a_panel_on_a_new_board(page: Page, ops: Any) -> None:
    page.goto(ops.url + "/explore?group_by=source&bucket=15min&source=gate-1&chart=bar&range=6h")
    expect(page.locator("#ex-summary")).to_contain_text("rows")
    page.locator("#ex-add-board").click()
    expect(page.locator("#ex-ab-modal")).to_be_visible()
    page.locator("#ex-ab-new-title").fill("From Explore")
    page.locator("#ex-ab-title").fill("Gate 1 by source")
    page.locator("#ex-ab-save").click()
    expect(page.locator("#ex-ab-message")).to_contain_text("Saved as a panel on")

    saved = ops.get("/api/boards/from-explore").json()
    panel = saved["board"]["panels"][0]
    assert panel["title"] == "Gate 1 by source"
    assert panel["kind"] == "timeseries" and panel["chart"] == "bar"
    assert panel["query"] == {"group_by": "source", "bucket": "15min", "source": "gate-1"}
    assert saved["board"]["time"] == {"range": "6h"}  # the new board takes the view's range

    page.locator("#ex-ab-link").click()
    expect(page).to_have_url(re.compile(r"/boards/from-explore"))
    expect(page.locator(".pb-bd-heading")).to_have_text("From Explore")
    page.wait_for_function(
        """() => { const p = document.querySelector('.pb-bd-panel .js-plotly-plot');
                   return p && p.data && p.data.some(t => t.type === 'bar'
                       && t.y.reduce((a, v) => a + (v || 0), 0) === 4); }"""
    )

    # The same view onto the existing board: a second panel below the first.
    page.goto(ops.url + "/explore?metric=sum&range=6h")
    page.locator("#ex-add-board").click()
    page.locator("#ex-ab-board").select_option("from-explore")
    page.locator("#ex-ab-title").fill("Sum")
    page.locator("#ex-ab-save").click()
    expect(page.locator("#ex-ab-message")).to_contain_text("Saved as a panel on")
    panels = ops.get("/api/boards/from-explore").json()["board"]["panels"]
    assert [p["title"] for p in panels] == ["Gate 1 by source", "Sum"]
    assert panels[1]["grid"]["y"] == panels[0]["grid"]["y"] + panels[0]["grid"]["h"]


def item_box(page: Page, panel: str) -> Any:
    box = page.locator(f'.react-grid-item:has([data-panel="{panel}"])').bounding_box()
    assert box is not None
    return box


def test_a_drag_and_a_resize_are_saved_and_kept_after_a_reload(page: Page, ops: Any) -> None:
    page.goto(ops.url + "/boards/ops")
    expect(page.locator('[data-panel="scans"] .pb-bd-stat-value')).to_have_text("6")
    page.get_by_text("Edit", exact=True).click()
    handle = page.locator('.react-grid-item:has([data-panel="scans"]) .react-grid-dragHandle')
    expect(handle).to_be_visible()
    before = item_box(page, "scans")
    grid_box = page.locator(".pb-bd-grid").bounding_box()
    assert grid_box is not None
    column = grid_box["width"] / 12
    hb = handle.bounding_box()
    assert hb is not None
    page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
    page.mouse.down()
    page.mouse.move(hb["x"] + hb["width"] / 2 + 3 * column, hb["y"] + hb["height"] / 2, steps=12)
    page.mouse.move(hb["x"] + hb["width"] / 2 + 6 * column, hb["y"] + hb["height"] / 2, steps=12)
    page.mouse.up()
    wait_until(
        lambda: ops.get("/api/boards/ops").json()["board"]["panels"][0]["grid"]["x"] == 6,
        timeout=20,
        message="the drag saved",
    )
    dragged = ops.get("/api/boards/ops").json()["version"]

    corner = page.locator('.react-grid-item:has([data-panel="scans"]) .react-resizable-handle-se')
    cb = corner.bounding_box()
    assert cb is not None
    page.mouse.move(cb["x"] + cb["width"] / 2, cb["y"] + cb["height"] / 2)
    page.mouse.down()
    page.mouse.move(cb["x"] + column, cb["y"] + 60, steps=12)
    page.mouse.move(cb["x"] + 2 * column, cb["y"] + 120, steps=12)
    page.mouse.up()
    wait_until(lambda: ops.get("/api/boards/ops").json()["version"] > dragged, timeout=20, message="the resize saved")
    place = ops.get("/api/boards/ops").json()["board"]["panels"][0]["grid"]
    assert place["x"] == 6 and place["w"] > 3 and place["h"] > 4, place
    expect(page.locator("#bd-status")).to_contain_text("Layout saved")

    page.reload()
    expect(page.locator('[data-panel="scans"] .pb-bd-stat-value')).to_have_text("6")
    after = item_box(page, "scans")
    assert after["x"] > before["x"] + 4 * column
    assert after["width"] > before["width"] + column / 2
    versions = ops.get("/api/boards/ops/versions").json()["versions"]
    assert [v["version"] for v in versions][:1] == [ops.get("/api/boards/ops").json()["version"]]


def test_a_stale_save_says_the_board_changed_elsewhere(page: Page, ops: Any) -> None:
    page.goto(ops.url + "/boards/ops")
    expect(page.locator('[data-panel="scans"] .pb-bd-stat-value')).to_have_text("6")
    page.get_by_text("Edit", exact=True).click()
    current = ops.get("/api/boards/ops").json()
    assert ops.put("/api/boards/ops", json={"version": current["version"], "board": {**BOARD, "title": "Ops 2"}}).ok
    page.locator("#bd-settings").click()
    expect(page.locator("#bd-s-title")).to_have_value("Ops")  # what the page shows: the version it edits
    page.locator("#bd-s-title").fill("Ops renamed here")
    page.locator("#bd-s-save").click()
    expect(page.locator("#bd-s-message")).to_contain_text("changed elsewhere")
    assert ops.get("/api/boards/ops").json()["title"] == "Ops 2"


def test_a_panel_is_added_edited_and_removed_and_a_version_restored(page: Page, ops: Any) -> None:
    page.goto(ops.url + "/boards/ops")
    expect(page.locator('[data-panel="scans"] .pb-bd-stat-value')).to_have_text("6")
    page.get_by_text("Edit", exact=True).click()
    page.locator("#bd-add-panel").click()
    page.locator("#bd-f-title").fill("Doors")
    page.locator("#bd-f-kind").select_option("stat")
    page.locator("#bd-f-query").fill("metric=count&type=door")
    page.locator("#bd-f-thresholds").fill("1:#e5534b")
    page.locator("#bd-form-save").click()
    expect(page.locator('[data-panel="doors"] .pb-bd-stat-value')).to_have_text("2")
    expect(page.locator('[data-panel="doors"] .pb-bd-stat-value')).to_have_css("color", "rgb(229, 83, 75)")

    page.locator('[data-panel="doors"] .pb-bd-panel-edit').click()
    expect(page.locator("#bd-f-query")).to_have_value("metric=count&type=door")
    page.locator("#bd-f-query").fill("metric=median")
    page.locator("#bd-form-save").click()
    expect(page.locator("#bd-form-message")).to_contain_text("query.metric")  # refused, naming the field
    page.locator("#bd-f-query").fill("metric=count&type=scan")
    page.locator("#bd-form-save").click()
    expect(page.locator('[data-panel="doors"] .pb-bd-stat-value')).to_have_text("4")

    page.locator('[data-panel="doors"] .pb-bd-panel-edit').click()
    page.locator("#bd-form-remove").click()
    expect(page.locator('[data-panel="doors"]')).to_have_count(0)

    page.locator("#bd-versions").click()
    page.locator(".pb-bd-version", has_text=re.compile(r"^2")).get_by_role("button", name="Restore").click()
    expect(page.locator('[data-panel="doors"] .pb-bd-stat-value')).to_have_text("2")
    assert ops.get("/api/boards/ops").json()["version"] == 5


def test_a_note_shows_on_every_time_series_panel(page: Page, ops: Any) -> None:
    page.goto(ops.url + "/boards/ops")
    expect(page.locator('[data-panel="scans"] .pb-bd-stat-value')).to_have_text("6")
    when = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    page.locator("#bd-note-text").fill("deployed 2.4")
    page.locator("#bd-note-ts").fill(when)
    page.locator("#bd-note-add").click()
    expect(page.locator("#bd-note-message")).to_contain_text("Note added")
    for panel in ("rate", "by-type"):
        page.wait_for_function(
            """(panel) => { const p = document.querySelector(`[data-panel="${panel}"] .js-plotly-plot`);
                return p && p.data && p.data.some(t => t.name === 'annotations' && t.text.includes('deployed 2.4')); }""",
            arg=panel,
        )
    notes = ops.get("/api/boards/ops/annotations").json()["annotations"]
    assert [n["text"] for n in notes] == ["deployed 2.4"]


def test_a_viewer_sees_no_edit_controls_and_cannot_write(page: Page, make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, auth=True)
    now = datetime.now(timezone.utc)
    with server.services.db.write() as conn:
        add_user(conn, username="ada", password_hash=hash_password("ada-admin-pw"), role="admin", now=now)
        add_user(conn, username="bob", password_hash=hash_password("bob-viewer-pw"), role="viewer", now=now)
        store.create_board(conn, parse_board(BOARD, now=now), owner="ada", now=now)

    page.goto(server.url + "/boards/ops")
    page.get_by_label("User name").fill("bob")
    page.get_by_label("Password").fill("bob-viewer-pw")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/boards/ops"))
    expect(page.locator('[data-panel="scans"] .pb-bd-stat-value')).to_have_text("0")
    expect(page.locator(".pb-bd-heading")).to_have_text("Ops")
    expect(page.locator("#bd-toolbar-wrap")).to_be_hidden()
    expect(page.locator("#bd-note-form")).to_be_hidden()
    expect(page.locator("#bd-edit")).to_be_hidden()

    refused = page.request.put(
        server.url + "/api/boards/ops",
        data={"version": 1, "board": {**BOARD, "title": "Bob's now"}},
        headers={"Origin": server.url},
    )
    assert refused.status == 403 and "only its owner (ada) or an admin" in refused.json()["error"]
    with server.services.db.read() as conn:
        found = store.get_board(conn, "ops")
    assert found is not None and found.title == "Ops" and found.version == 1


def test_the_panel_forms_forecast_switch_draws_the_band_beyond_now(page: Page, sqlite_server: Any) -> None:
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    events = []
    for hour in range(1, 72):  # three days of hourly counts with a daily cycle
        n = round(15 + 10 * math.sin(2 * math.pi * (now - timedelta(hours=hour)).hour / 24))
        events += [{"ts": (now - timedelta(hours=hour)).isoformat(), "type": "scan", "source": "gate-1"}] * n
    assert sqlite_server.post("/api/events", json=events).status_code == 201
    board = {
        "uid": "trend",
        "title": "Trend",
        "time": {"range": "3d"},
        "panels": [
            {
                "id": "hourly",
                "title": "Scans per hour",
                "kind": "timeseries",
                "query": {"metric": "count", "bucket": "1h"},
                "grid": grid(0, 0, 12, 8),
            }
        ],
    }
    assert sqlite_server.post("/api/boards", json=board).status_code == 201
    page.goto(sqlite_server.url + "/boards/trend")
    names = (
        "() => (document.querySelector('[data-panel=\"hourly\"] .js-plotly-plot')?.data || []).map(t => t.name || '')"
    )
    page.wait_for_function(f"() => ({names})().length > 0")
    assert "forecast" not in page.evaluate(names)
    page.get_by_text("Edit", exact=True).click()
    page.locator('[data-panel="hourly"] .pb-bd-panel-edit').click()
    page.locator("#bd-f-show label", has_text="forecast").click()
    page.locator("#bd-form-save").click()
    page.wait_for_function(f"() => ({names})().includes('forecast')")
    assert {"forecast", "forecast 80 %", "forecast 95 %"} <= set(page.evaluate(names))
    ahead = page.evaluate(
        "() => document.querySelector('[data-panel=\"hourly\"] .js-plotly-plot').data"
        ".find(t => t.name === 'forecast').x.slice(-1)[0]"
    )
    assert datetime.fromisoformat(str(ahead).replace(" ", "T")).replace(tzinfo=timezone.utc) > now
    assert sqlite_server.get("/api/boards/trend").json()["board"]["panels"][0]["forecast"] is True


def test_a_resize_on_a_phone_keeps_the_wide_layout_and_a_drag_at_a_middle_width_is_saved(page: Page, ops: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(ops.url + "/boards/ops")
    expect(page.locator('[data-panel="scans"] .pb-bd-stat-value')).to_have_text("6")
    page.get_by_text("Edit", exact=True).click()
    edge = page.locator('.react-grid-item:has([data-panel="scans"]) .react-resizable-handle-s')
    expect(edge).to_be_visible()
    grid_box = page.locator(".pb-bd-grid").bounding_box()
    box = item_box(page, "scans")
    assert grid_box is not None and box["width"] > grid_box["width"] * 0.9  # one column: full width
    eb = edge.bounding_box()
    assert eb is not None
    page.mouse.move(eb["x"] + eb["width"] / 2, eb["y"] + eb["height"] / 2)
    page.mouse.down()
    page.mouse.move(eb["x"] + eb["width"] / 2, eb["y"] + 80, steps=10)
    page.mouse.move(eb["x"] + eb["width"] / 2, eb["y"] + 160, steps=10)
    page.mouse.up()
    wait_until(
        lambda: ops.get("/api/boards/ops").json()["board"]["panels"][0]["grid"]["h"] > 4,
        timeout=20,
        message="the phone's resize saved",
    )
    place = ops.get("/api/boards/ops").json()["board"]["panels"][0]["grid"]
    assert (place["x"], place["y"], place["w"]) == (0, 0, 3), place  # the wide layout's place and width kept
    expect(page.locator("#bd-status")).to_contain_text("narrow screen")
    others = {p["id"]: p["grid"] for p in ops.get("/api/boards/ops").json()["board"]["panels"][1:]}
    assert others == {p["id"]: p["grid"] for p in BOARD["panels"][1:]}

    # A width where the grid still has 12 columns but is narrower than the widest breakpoint.
    page.set_viewport_size({"width": 820, "height": 900})
    page.reload()
    expect(page.locator('[data-panel="scans"] .pb-bd-stat-value')).to_have_text("6")
    width = page.evaluate("() => document.querySelector('.pb-bd-grid').getBoundingClientRect().width")
    assert 700 <= width < 900, f"the grid is {width} px wide at this viewport, not the middle breakpoint"
    version = ops.get("/api/boards/ops").json()["version"]
    page.get_by_text("Edit", exact=True).click()
    handle = page.locator('.react-grid-item:has([data-panel="scans"]) .react-grid-dragHandle')
    expect(handle).to_be_visible()
    hb = handle.bounding_box()
    assert hb is not None
    column = width / 12
    page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
    page.mouse.down()
    page.mouse.move(hb["x"] + hb["width"] / 2 + 3 * column, hb["y"] + hb["height"] / 2, steps=12)
    page.mouse.move(hb["x"] + hb["width"] / 2 + 6 * column, hb["y"] + hb["height"] / 2, steps=12)
    page.mouse.up()
    wait_until(
        lambda: ops.get("/api/boards/ops").json()["version"] > version, timeout=20, message="the middle drag saved"
    )
    moved = ops.get("/api/boards/ops").json()["board"]["panels"][0]["grid"]
    assert moved["x"] >= 5 and moved["w"] == 3, moved
