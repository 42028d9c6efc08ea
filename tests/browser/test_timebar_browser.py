"""The time bar in a real browser: presets, typed from/to, a drag-zoom that
survives the refresh, pause, copy-link and the inline error."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlparse

import pypdf
import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

ACTIVITY_TOTAL = """() => {
    const g = document.querySelector('#activity-chart .js-plotly-plot');
    return g && g.data && g.data[0] ? g.data[0].y.reduce((a, b) => a + b, 0) : -1;
}"""
X_RANGE = "() => document.querySelector('#activity-chart .js-plotly-plot').layout.xaxis.range"


def flag(page: Page, name: str) -> int:
    return int(page.locator("#timebar").get_attribute(f"data-{name}") or 0)


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def preset(page: Page, label: str) -> Any:
    return page.locator(".pb-tb-presets button", has_text=re.compile(f"^{label}$"))


@pytest.fixture
def two_events(sqlite_server: Any) -> Any:
    """One event 3 hours ago, one 10 minutes ago (and their times)."""
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    old, recent = now - timedelta(hours=3), now - timedelta(minutes=10)
    sqlite_server.post(
        "/api/events",
        json=[
            {"ts": old.isoformat(), "type": "scan", "source": "scanner"},
            {"ts": recent.isoformat(), "type": "scan", "source": "scanner"},
        ],
    )
    sqlite_server.old, sqlite_server.recent = old, recent
    return sqlite_server


def test_a_preset_changes_the_url_and_the_charts_data(page: Page, two_events: Any) -> None:
    page.goto(two_events.url + "/")
    expect(preset(page, "1 h")).to_have_class(re.compile(r"\bactive\b"))
    page.wait_for_function(f"() => ({ACTIVITY_TOTAL})() === 1")
    preset(page, "6 h").click()
    expect(page).to_have_url(two_events.url + "/?range=6h")
    page.wait_for_function(f"() => ({ACTIVITY_TOTAL})() === 2")
    expect(preset(page, "6 h")).to_have_class(re.compile(r"\bactive\b"))
    page.reload()
    expect(preset(page, "6 h")).to_have_class(re.compile(r"\bactive\b"))
    page.wait_for_function(f"() => ({ACTIVITY_TOTAL})() === 2")


def test_an_old_window_link_opens_the_same_range(page: Page, two_events: Any) -> None:
    page.goto(two_events.url + "/explore?window=6h&bucket=none")
    expect(page).to_have_url(two_events.url + "/explore?bucket=none&range=6h")
    expect(preset(page, "6 h")).to_have_class(re.compile(r"\bactive\b"))
    expect(page.locator("#ex-table")).to_contain_text("2")


def test_typing_an_absolute_from_to_shows_that_range(page: Page, two_events: Any) -> None:
    page.goto(two_events.url + "/explore?bucket=none&metric=count")
    expect(page.locator("#ex-table .ag-cell[col-id='value']")).to_have_text("2")
    since, until = two_events.old - timedelta(minutes=30), two_events.old + timedelta(minutes=30)
    page.locator("#tb-from").fill(since.strftime("%Y-%m-%d %H:%M"))
    page.locator("#tb-to").fill(until.strftime("%Y-%m-%d %H:%M"))
    page.locator("#tb-apply").click()
    expect(page).to_have_url(re.compile(r"from="))
    assert query(page)["from"] == [since.strftime("%Y-%m-%dT%H:%M:00Z")]
    assert query(page)["to"] == [until.strftime("%Y-%m-%dT%H:%M:00Z")]
    assert query(page)["bucket"] == ["none"]  # the page's own state is kept
    expect(page.locator("#ex-table .ag-cell[col-id='value']")).to_have_text("1")
    for button in page.locator(".pb-tb-presets button").all():
        expect(button).not_to_have_class(re.compile(r"\bactive\b"))
    page.reload()
    expect(page.locator("#tb-from")).to_have_value(since.strftime("%Y-%m-%d %H:%M"))
    expect(page.locator("#ex-table .ag-cell[col-id='value']")).to_have_text("1")


def test_a_bad_from_shows_an_inline_error(page: Page, two_events: Any) -> None:
    page.goto(two_events.url + "/")
    expect(preset(page, "1 h")).to_have_class(re.compile(r"\bactive\b"))  # the bar has read the URL
    page.locator("#tb-from").fill("yesterday")
    page.locator("#tb-to").fill("2026-12-01 10:00")
    page.locator("#tb-to").press("Enter")
    expect(page.locator("#tb-error")).to_contain_text("'from': expected a time like 2026-12-01 10:00 (UTC)")
    expect(page.locator("#tb-from")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#tb-from")).to_have_value("yesterday")
    page.wait_for_function(f"() => ({ACTIVITY_TOTAL})() === 1")  # the page's default range meanwhile

    page.goto(two_events.url + "/?from=2026-12-02T10:00:00Z&to=2026-12-01T10:00:00Z")
    expect(page.locator("#tb-error")).to_contain_text("'to': must be after 'from'")


def test_a_drag_zoom_sets_from_to_and_survives_the_next_refresh(page: Page, two_events: Any) -> None:
    page.goto(two_events.url + "/?range=6h")
    page.wait_for_function(f"() => ({ACTIVITY_TOTAL})() === 2")
    box = page.locator("#activity-chart .nsewdrag").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.1, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=8)
    page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=4)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"[?&]from=.*&to="))
    assert "range" not in query(page)
    since = datetime.fromisoformat(query(page)["from"][0].replace("Z", "+00:00"))
    until = datetime.fromisoformat(query(page)["to"][0].replace("Z", "+00:00"))
    assert timedelta(hours=1) < until - since < timedelta(hours=6)
    expect(page.locator("#timebar")).to_have_attribute("data-follow", "false")
    axis = [since.strftime("%Y-%m-%d %H:%M:%S"), until.strftime("%Y-%m-%d %H:%M:%S")]
    page.wait_for_function(f"(axis) => JSON.stringify(({X_RANGE})()) === JSON.stringify(axis)", arg=axis)

    ticks, drawn = flag(page, "ticks"), flag(page, "refreshed")
    page.wait_for_function(f"() => +document.querySelector('#timebar').dataset.ticks > {ticks}")
    page.wait_for_function(f"() => +document.querySelector('#timebar').dataset.refreshed > {drawn}")
    assert query(page)["from"] == [since.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert page.evaluate(X_RANGE) == axis

    page.locator("#activity-chart .nsewdrag").dblclick(position={"x": box["width"] / 2, "y": box["height"] / 2})
    expect(page).to_have_url(two_events.url + "/?range=6h")
    expect(page.locator("#timebar")).to_have_attribute("data-follow", "true")


def test_pause_stops_the_refresh_and_resume_starts_it(page: Page, sqlite_server: Any) -> None:
    page.clock.install()
    page.goto(sqlite_server.url + "/system?refresh=10s")
    expect(page.locator("#sy-cards")).to_contain_text("PROCESS MEMORY", ignore_case=True)
    page.clock.run_for(11_000)
    expect(page.locator("#timebar")).not_to_have_attribute("data-ticks", "0")
    page.locator("#tb-pause").click()
    expect(page.locator("#timebar")).to_have_attribute("data-paused", "true")
    expect(page.locator("#tb-pause")).to_have_text("Resume")
    expect(page.locator("#timebar")).to_have_attribute("data-stopped", "true")
    ticks = flag(page, "ticks")
    page.clock.run_for(60_000)
    assert flag(page, "ticks") == ticks
    page.locator("#tb-pause").click()
    expect(page.locator("#timebar")).to_have_attribute("data-paused", "false")
    page.clock.run_for(11_000)
    expect(page.locator("#timebar")).not_to_have_attribute("data-ticks", str(ticks))


def test_refresh_off_never_refreshes_and_is_kept_in_the_url(page: Page, sqlite_server: Any) -> None:
    page.clock.install()
    page.goto(sqlite_server.url + "/explore?metric=sum")
    expect(page.locator("#ex-summary")).to_contain_text("Sum")  # the page and its bar are drawn
    page.locator("#tb-refresh").select_option("off")
    expect(page).to_have_url(sqlite_server.url + "/explore?metric=sum&refresh=off")
    expect(page.locator("#timebar")).to_have_attribute("data-stopped", "true")
    ticks = flag(page, "ticks")
    page.clock.run_for(600_000)
    assert flag(page, "ticks") == ticks
    page.reload()
    expect(page.locator("#tb-refresh")).to_have_value("off")


def test_explore_refreshes_on_the_tick(page: Page, sqlite_server: Any) -> None:
    sqlite_server.post("/api/events", json=[{"type": "scan"}])
    page.goto(sqlite_server.url + "/explore?bucket=none")
    expect(page.locator("#ex-table .ag-cell[col-id='value']")).to_have_text("1")
    sqlite_server.post("/api/events", json=[{"type": "scan"}] * 2)
    expect(page.locator("#ex-table .ag-cell[col-id='value']")).to_have_text("3")


@pytest.fixture
def clipboard_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    yield context.new_page()
    context.close()


def test_copy_link_puts_the_views_url_in_the_clipboard(clipboard_page: Page, sqlite_server: Any) -> None:
    page = clipboard_page
    page.goto(sqlite_server.url + "/explore?metric=sum&range=7d&refresh=1m")
    expect(preset(page, "7 days")).to_have_class(re.compile(r"\bactive\b"))
    page.locator("#tb-copy").click()
    expect(page.locator("#tb-copied")).to_have_text("Copied")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert parse_qs(urlparse(copied).query) == {"metric": ["sum"], "range": ["7d"], "refresh": ["1m"]}
    assert copied == page.url


def nav(page: Page, title: str) -> Any:
    return page.locator(".pb-navbar .nav-link", has_text=re.compile(f"^{title}$"))


def test_the_range_goes_along_to_the_page_clicked_in_the_navigation(page: Page, two_events: Any) -> None:
    page.goto(two_events.url + "/")
    preset(page, "6 h").click()
    expect(page).to_have_url(two_events.url + "/?range=6h")
    expect(preset(page, "6 h")).to_have_class(re.compile(r"\bactive\b"))  # the bar has read the new URL
    page.locator("#tb-refresh").select_option("30s")
    expect(page).to_have_url(two_events.url + "/?range=6h&refresh=30s")
    # The links are rewritten from the URL by a callback: click once they carry it.
    expect(nav(page, "Executions")).to_have_attribute("href", "/executions?range=6h&refresh=30s")
    nav(page, "Executions").click()
    expect(page).to_have_url(two_events.url + "/executions?range=6h&refresh=30s")
    expect(preset(page, "6 h")).to_have_class(re.compile(r"\bactive\b"))
    expect(nav(page, "Executions")).to_have_class(re.compile(r"\bactive\b"))
    expect(nav(page, "Overview")).not_to_have_class(re.compile(r"\bactive\b"))

    since, until = two_events.old - timedelta(minutes=5), two_events.old + timedelta(minutes=5)
    page.locator("#tb-from").fill(since.strftime("%Y-%m-%d %H:%M"))
    page.locator("#tb-to").fill(until.strftime("%Y-%m-%d %H:%M"))
    page.locator("#tb-apply").click()
    expect(page.locator("#timebar")).to_have_attribute("data-follow", "false")
    expect(nav(page, "Overview")).to_have_attribute("href", re.compile(r"^/\?from=.*&to=.*&refresh=30s$"))
    nav(page, "Overview").click()
    expect(page).to_have_url(re.compile(r"/\?from=.*&to=.*&refresh=30s$"))
    assert query(page)["from"] == [since.strftime("%Y-%m-%dT%H:%M:%SZ")]
    page.wait_for_function(f"() => ({ACTIVITY_TOTAL})() === 1")  # only the older event falls in that range


def test_the_brand_and_a_link_clicked_before_it_is_rewritten_keep_the_range(page: Page, two_events: Any) -> None:
    page.goto(two_events.url + "/explore?range=6h&refresh=30s&metric=sum")
    expect(preset(page, "6 h")).to_have_class(re.compile(r"\bactive\b"))
    page.locator(".pb-navbar .navbar-brand").click()  # the brand's href is a plain "/"
    expect(page).to_have_url(two_events.url + "/?range=6h&refresh=30s")
    expect(preset(page, "6 h")).to_have_class(re.compile(r"\bactive\b"))
    # A link whose href has not been rewritten yet still takes the address's range along.
    page.evaluate(
        "() => document.querySelector('.pb-navbar a.nav-link[href^=\"/executions\"]').setAttribute('href', '/executions')"
    )
    nav(page, "Executions").click()
    expect(page).to_have_url(two_events.url + "/executions?range=6h&refresh=30s")
    expect(nav(page, "Executions")).to_have_class(re.compile(r"\bactive\b"))


def test_a_paused_link_opens_paused(page: Page, sqlite_server: Any) -> None:
    page.clock.install()
    page.goto(sqlite_server.url + "/system?refresh=10s&paused=1")
    expect(page.locator("#sy-cards")).to_contain_text("PROCESS MEMORY", ignore_case=True)
    expect(page.locator("#timebar")).to_have_attribute("data-paused", "true")
    expect(page.locator("#tb-pause")).to_have_text("Resume")
    page.clock.run_for(60_000)
    assert flag(page, "ticks") == 0
    # The link to Explore takes the refresh and pause along; no range was chosen, so Explore opens on its own.
    expect(nav(page, "Explore")).to_have_attribute("href", "/explore?refresh=10s&paused=1")
    page.locator("#tb-pause").click()
    expect(page).to_have_url(sqlite_server.url + "/system?refresh=10s")
    expect(page.locator("#timebar")).to_have_attribute("data-paused", "false")
    page.clock.run_for(11_000)
    expect(page.locator("#timebar")).not_to_have_attribute("data-ticks", "0")
    page.locator("#tb-pause").click()
    expect(page).to_have_url(sqlite_server.url + "/system?refresh=10s&paused=1")


def test_sessions_lists_only_those_started_in_the_range(page: Page, sqlite_server: Any) -> None:
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    for name, age in (("recent-one", timedelta(days=2)), ("older-one", timedelta(days=10))):
        sqlite_server.post("/api/sessions", json={"id": name, "source": "tool", "ts": (now - age).isoformat()})
    page.goto(sqlite_server.url + "/sessions")
    expect(page.locator("#ss-table")).to_contain_text("recent-one")  # the page's default: the last 7 days
    expect(page.locator("#ss-table")).not_to_contain_text("older-one")
    since, until = now - timedelta(days=11), now - timedelta(days=9)
    page.locator("#tb-from").fill(since.strftime("%Y-%m-%d %H:%M"))
    page.locator("#tb-to").fill(until.strftime("%Y-%m-%d %H:%M"))
    page.locator("#tb-to").press("Enter")
    expect(page.locator("#ss-table")).to_contain_text("older-one")
    expect(page.locator("#ss-table")).not_to_contain_text("recent-one")
    expect(page).to_have_url(re.compile(r"/sessions\?from=.*&to="))


def test_the_from_to_inputs_take_the_width_of_a_phone(browser: Browser, sqlite_server: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(sqlite_server.url + "/")
        expect(preset(page, "1 h")).to_have_class(re.compile(r"\bactive\b"))
        for field in ("#tb-from", "#tb-to"):
            box = page.locator(field).bounding_box()
            assert box is not None and box["width"] >= 250, box
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_the_pdf_button_downloads_this_page_as_it_is(page: Page, two_events: Any) -> None:
    page.goto(two_events.url + "/explore?range=6h&group_by=source&bucket=none")
    expect(page.locator("#ex-table")).to_contain_text("scanner")
    with page.expect_download(timeout=120_000) as info:
        page.locator("#tb-pdf").click()
    assert info.value.suggested_filename.startswith("pulseboard-explore-")
    reader = pypdf.PdfReader(io.BytesIO(open(info.value.path(), "rb").read()))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Pulseboard · Explore · last 6h" in text and "scanner" in text


def test_a_pages_address_write_that_answers_after_the_page_was_left_is_dropped(page: Page, two_events: Any) -> None:
    page.goto(two_events.url + "/explore?metric=sum&range=6h")
    expect(page.locator("#ex-summary")).to_contain_text("Sum")
    guard = "([wanted, path]) => window.dash_clientside.timebar.pageSearch(wanted, path)"
    kept = "() => window.dash_clientside.no_update"
    assert page.evaluate(guard, ["?metric=avg", "/explore"]) == "?metric=avg"  # still on the page: written
    assert page.evaluate(f"([w, p]) => ({guard})([w, p]) === ({kept})()", ["?metric=avg", "/revenue"])
    assert page.evaluate(f"([w, p]) => ({guard})([w, p]) === ({kept})()", ["?metric=avg", "/"])
    assert page.evaluate(guard, ["?q=1", "/"]) != "?q=1"
    expect(page.locator("html")).to_have_attribute("data-pb-dropped-writes", "3")
    page.goto(two_events.url + "/boards/ops")
    assert page.evaluate(guard, ["?var-x=1", "/boards/"]) == "?var-x=1"  # a path ending in "/": any below it
    assert page.evaluate(f"([w, p]) => ({guard})([w, p]) === ({kept})()", ["?q=1", "/boards"])
