"""Boards in a real browser: the list, a board made through the API drawn
with its panels' data, and its variables in the URL driving every panel."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

BOARD: dict[str, Any] = {
    "uid": "gates",
    "title": "Gates",
    "description": "Scans per gate",
    "tags": ["ops"],
    "time": {"range": "6h"},
    "variables": [{"name": "src", "label": "Gate", "kind": "custom", "values": ["gate-1", "gate-2"]}],
    "panels": [
        {
            "id": "scans",
            "title": "Scans",
            "kind": "stat",
            "query": {"metric": "count", "source": "$src"},
            "thresholds": [{"value": 5, "color": "#e5534b"}],
            "grid": {"x": 0, "y": 0, "w": 3, "h": 4},
        },
        {
            "id": "over-time",
            "title": "Scans over time",
            "kind": "timeseries",
            "query": {"metric": "count", "source": "$src", "bucket": "1h"},
            "chart": "bar",
            "grid": {"x": 3, "y": 0, "w": 9, "h": 8},
        },
        {
            "id": "by-type",
            "title": "By type",
            "kind": "table",
            "query": {"metric": "count", "source": "$src", "group_by": "type", "bucket": "none"},
            "grid": {"x": 0, "y": 4, "w": 3, "h": 6},
        },
    ],
}


@pytest.fixture
def gates(sqlite_server: Any) -> Any:
    now = datetime.now(timezone.utc) - timedelta(minutes=30)
    events = [{"ts": now.isoformat(), "type": "scan", "source": "gate-1"}] * 3
    events += [{"ts": (now - timedelta(hours=2)).isoformat(), "type": "scan", "source": "gate-2"}] * 7
    events += [{"ts": now.isoformat(), "type": "door", "source": "gate-2"}] * 2
    events += [{"ts": (now - timedelta(hours=12)).isoformat(), "type": "scan", "source": "gate-1"}] * 50  # outside 6h
    assert sqlite_server.post("/api/events", json=events).status_code == 201
    made = sqlite_server.post("/api/boards", json=BOARD)
    assert made.status_code == 201, made.text
    return sqlite_server


def bar_total(page: Page, panel: str) -> float:
    return float(
        page.evaluate(
            """(panel) => {
                const plot = document.querySelector(`[data-panel="${panel}"] .js-plotly-plot`);
                if (!plot || !plot.data) return -1;
                return plot.data.filter(t => t.type === 'bar').reduce(
                    (sum, t) => sum + t.y.reduce((a, v) => a + (v || 0), 0), 0);
            }""",
            panel,
        )
    )


def test_the_list_finds_stars_and_opens_boards(page: Page, gates: Any) -> None:
    page.goto(gates.url + "/boards")
    item = page.locator("#bd-entry-gates")
    expect(item).to_contain_text("Gates")
    expect(item).to_contain_text("ops")
    expect(item).to_contain_text("3 panels")
    item.locator(".pb-bd-star").click()
    expect(item.locator(".pb-bd-star")).to_have_text("★")
    assert gates.get("/api/boards?starred=1").json()["boards"][0]["uid"] == "gates"
    page.locator("#bd-search").fill("nothing like it")
    page.locator("#bd-search").press("Enter")
    expect(page.locator(".pb-bd-empty")).to_contain_text("No board matches")
    page.locator("#bd-search").fill("gat")
    page.locator("#bd-search").press("Enter")
    item.get_by_role("link", name="Gates").click()
    expect(page).to_have_url(re.compile(r"/boards/gates"))
    expect(page.locator(".pb-bd-heading")).to_have_text("Gates")


def test_a_new_board_is_made_and_opened(page: Page, gates: Any) -> None:
    page.goto(gates.url + "/boards")
    page.locator("#bd-new-title").fill("Night shift")
    page.locator("#bd-new").click()
    expect(page).to_have_url(re.compile(r"/boards/night-shift"))
    expect(page.locator(".pb-bd-heading")).to_have_text("Night shift")
    expect(page.locator(".pb-bd-empty")).to_contain_text("no panels")
    assert gates.get("/api/boards/night-shift").json()["title"] == "Night shift"


def test_a_board_shows_its_panels_and_a_variable_changes_every_panel(page: Page, gates: Any) -> None:
    page.goto(gates.url + "/boards/gates")
    # The board's own range goes into the URL, so the link reproduces the view.
    expect(page).to_have_url(re.compile(r"range=6h"))
    expect(page.locator(".pb-tb-presets button", has_text=re.compile("^6 h$"))).to_have_class(re.compile(r"\bactive\b"))
    scans = page.locator('[data-panel="scans"] .pb-bd-stat-value')
    expect(scans).to_have_text("3")
    expect(page.locator('[data-panel="by-type"] .ag-row')).to_have_count(1)
    expect(page.locator('[data-panel="by-type"]')).to_contain_text("scan")
    expect(page.locator('[data-panel="over-time"] .js-plotly-plot')).to_be_visible()
    page.wait_for_function("() => document.querySelector('[data-panel=\"over-time\"] .js-plotly-plot')?.data")
    assert bar_total(page, "over-time") == 3
    link = page.locator('[data-panel="scans"] .pb-bd-link')
    linked = parse_qs(urlparse(link.get_attribute("href") or "").query)
    assert {k: linked[k] for k in ("metric", "source", "range")} == {
        "metric": ["count"],
        "source": ["gate-1"],
        "range": ["6h"],
    }

    page.locator("button.pb-bd-var").click()
    page.get_by_role("option", name="gate-2", exact=True).click()
    expect(page).to_have_url(re.compile(r"var-src=gate-2"))
    expect(scans).to_have_text("9")
    expect(scans).to_have_css("color", "rgb(229, 83, 75)")  # above its threshold of 5
    expect(page.locator('[data-panel="by-type"] .ag-row')).to_have_count(2)
    expect(page.locator('[data-panel="by-type"]')).to_contain_text("door")
    page.wait_for_function(
        """() => { const p = document.querySelector('[data-panel="over-time"] .js-plotly-plot');
                   return p && p.data && p.data[0].y.reduce((a, v) => a + (v || 0), 0) === 9; }"""
    )
    assert bar_total(page, "over-time") == 9

    # The link reproduces the view: a reload keeps the variable.
    page.reload()
    expect(scans).to_have_text("9")
    expect(page.locator("button.pb-bd-var")).to_contain_text("gate-2")

    # A drag-zoom on a time series sets the time bar's from/to, as on every time chart.
    page.wait_for_function("() => document.querySelector('[data-panel=\"over-time\"] .js-plotly-plot')?.data")
    box = page.locator('[data-panel="over-time"] .nsewdrag').bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.1, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=8)
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=4)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"[?&]from=.*&to="))
    assert "range" not in parse_qs(urlparse(page.url).query)
    expect(page).to_have_url(re.compile(r"var-src=gate-2"))


def test_a_phone_stacks_the_panels_full_width(page: Page, gates: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(gates.url + "/boards/gates")
    expect(page.locator('[data-panel="scans"] .pb-bd-stat-value')).to_have_text("3")
    widths = page.evaluate(
        "() => [...document.querySelectorAll('.react-grid-item')].map(e => e.getBoundingClientRect().width)"
    )
    grid_width = page.evaluate("() => document.querySelector('.pb-bd-grid').getBoundingClientRect().width")
    assert len(widths) == 3 and all(w > grid_width * 0.9 for w in widths), (widths, grid_width)


def kind_panel(pid: str, kind: str, query: dict[str, str], x: int, y: int, **more: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "title": pid.title(),
        "kind": kind,
        "query": query,
        "grid": {"x": x, "y": y, "w": 4, "h": 6},
        **more,
    }


EVERY_KIND: dict[str, Any] = {
    "uid": "every-kind",
    "title": "Every kind",
    "time": {"range": "24h"},
    "rows": [{"title": "Charts"}, {"title": "State", "collapsed": True}],
    "panels": [
        kind_panel("series", "timeseries", {"metric": "count", "group_by": "type"}, 0, 0, chart="area", stacked=True),
        kind_panel("gauge", "gauge", {"metric": "success_rate"}, 4, 0, thresholds=[{"value": 50, "color": "red"}]),
        kind_panel("pie", "breakdown", {"metric": "count", "group_by": "source"}, 8, 0, chart="pie"),
        kind_panel("heat", "heatmap", {"metric": "count", "group_by": "type", "bucket": "1h"}, 0, 6, row=0),
        kind_panel("feed", "feed", {"type": "door"}, 4, 6, row=0),
        kind_panel("runs", "executions", {"entity": "etl.py"}, 8, 6, row=0),
        kind_panel("health", "health", {}, 0, 12, row=1),
        kind_panel("alerts", "alerts", {}, 4, 12, row=1),
    ],
}


def test_every_kind_of_panel_draws_and_a_folded_row_opens(page: Page, gates: Any) -> None:
    now = datetime.now(timezone.utc)
    for i in range(8):
        body = {"script": "etl.py", "started_at": (now - timedelta(hours=i + 1)).isoformat(), "duration_ms": 60_000 + i}
        gates.post("/api/executions", json=body).raise_for_status()
    gates.put("/api/components/camera", json={"status": "online", "detail": "640x480"}).raise_for_status()
    gates.post("/api/events", json={"type": "door", "source": "gate-3", "message": "held open"}).raise_for_status()
    assert gates.post("/api/boards", json=EVERY_KIND).status_code == 201
    page.goto(gates.url + "/boards/every-kind")
    expect(page.locator('[data-panel="series"] .js-plotly-plot .scatterlayer .trace').first).to_be_visible()
    stacked = page.evaluate(
        """() => document.querySelector('[data-panel="series"] .js-plotly-plot').data
                 .filter(t => t.stackgroup === 'total').map(t => t.name)"""
    )
    assert {"scan", "door"} <= set(stacked), stacked
    expect(page.locator('[data-panel="gauge"] .indicatorlayer')).to_have_count(1)
    expect(page.locator('[data-panel="pie"] .pielayer .slice').first).to_be_visible()
    labels = page.evaluate("() => document.querySelector('[data-panel=\"pie\"] .js-plotly-plot').data[0].labels")
    assert {"gate-1", "gate-2", "gate-3"} <= set(labels), labels
    expect(page.locator('[data-panel="heat"] .heatmaplayer')).to_have_count(1)
    expect(page.locator('[data-panel="feed"] .pb-feed-item').first).to_contain_text("held open")
    expect(page.locator('[data-panel="runs"]')).to_contain_text("etl.py: duration of each run")
    expect(page.locator('[data-panel="health"]')).to_have_count(0)  # its row starts folded
    page.get_by_role("button", name="State").click()
    expect(page.locator('[data-panel="health"] [data-component="camera"]')).to_contain_text("online")
    expect(page.locator('[data-panel="alerts"]')).to_contain_text("Nothing is firing or pending.")
    expect(page.locator('[data-panel="alerts"] .pb-bd-link')).to_have_attribute("href", "/alerts")
    page.get_by_role("button", name="Charts").click()
    expect(page.locator('[data-panel="heat"]')).to_have_count(0)


def test_a_board_is_exported_duplicated_and_imported(page: Page, gates: Any, tmp_path: Any) -> None:
    page.goto(gates.url + "/boards/gates")
    expect(page.locator('[data-panel="scans"] .pb-bd-stat-value')).to_have_text("3")
    with page.expect_download() as info:
        page.locator("#bd-export").click()
    text = open(info.value.path(), encoding="utf-8").read()
    assert text == gates.get("/api/boards/gates?format=yaml").text

    page.locator("#bd-duplicate").click()
    expect(page).to_have_url(re.compile(r"/boards/gates-copy"))
    expect(page.locator(".pb-bd-heading")).to_have_text("Gates (copy)")
    expect(page.locator('[data-panel="scans"] .pb-bd-stat-value')).to_have_text("3")

    upload = tmp_path / "imported.yaml"
    upload.write_text(text.replace("uid: gates", "uid: imported").replace("title: Gates", "title: Imported"))
    page.goto(gates.url + "/boards")
    page.locator("#bd-import input[type=file]").set_input_files(str(upload))
    expect(page).to_have_url(re.compile(r"/boards/imported"))
    expect(page.locator(".pb-bd-heading")).to_have_text("Imported")
    assert gates.get("/api/boards/imported").json()["board"]["panels"][0]["id"] == "scans"

    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("uid: gates", "uid: bad").replace("kind: stat", "kind: dial"))
    page.goto(gates.url + "/boards")
    page.locator("#bd-import input[type=file]").set_input_files(str(bad))
    expect(page.locator("#bd-message")).to_contain_text('panels[0] ("Scans").kind')
    assert gates.get("/api/boards/bad").status_code == 404


MULTI: dict[str, Any] = {
    "schema": 2,
    "uid": "gates-multi",
    "title": "Gates, several at once",
    "time": {"range": "6h"},
    "variables": [
        {"name": "src", "label": "Gates", "kind": "query", "dimension": "source", "multi": True, "default": "gate-1"},
        {"name": "what", "label": "Type", "kind": "text"},
    ],
    "panels": [
        {
            "id": "scans",
            "title": "Events",
            "kind": "stat",
            "query": {"metric": "count", "source": "$src", "type": "$what"},
            "grid": {"x": 0, "y": 0, "w": 3, "h": 4},
        }
    ],
}


def test_a_multi_select_variable_matches_any_of_its_values_and_a_text_one_what_is_typed(page: Page, gates: Any) -> None:
    assert gates.post("/api/boards", json=MULTI).status_code == 201
    page.goto(gates.url + "/boards/gates-multi")
    events = page.locator('[data-panel="scans"] .pb-bd-stat-value')
    expect(events).to_have_text("3")  # the default: gate-1
    page.locator('[data-var="src"] .pb-bd-var').first.click()
    page.get_by_role("option", name="gate-2", exact=True).click()
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"var-src=gate-1,gate-2"))
    expect(events).to_have_text("12")
    page.locator('[data-var="what"] input').fill("door")
    page.locator('[data-var="what"] input').press("Enter")
    expect(page).to_have_url(re.compile(r"var-what=door"))
    expect(events).to_have_text("2")

    # The address reproduces the view; one value or several, from a link.
    page.reload()
    expect(events).to_have_text("2")
    expect(page.locator('[data-var="src"]')).to_contain_text("gate-2")
    page.goto(gates.url + "/boards/gates-multi?var-src=gate-2")
    expect(events).to_have_text("9")
