"""Explore in a real browser: filters, metrics, chart types, the table, CSV
download, and a shared URL that reloads to the same view."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser


@pytest.fixture
def explore_server(sqlite_server: Any) -> Any:
    now = datetime.now(timezone.utc).replace(minute=30, second=0, microsecond=0) - timedelta(hours=1)
    events = []
    for hour in range(6):
        ts = (now - timedelta(hours=hour)).isoformat()
        events += [{"ts": ts, "type": "payment", "source": "pay", "status": "completed", "value": 10.0}] * (hour + 1)
        events += [{"ts": ts, "type": "scan", "source": "scanner", "status": "ok"}] * 2
    sqlite_server.post("/api/events", json=events)
    return sqlite_server


def grid_rows(page: Page) -> int:
    return page.locator("#ex-table .ag-center-cols-container .ag-row").count()


def test_it_groups_filters_and_switches_chart_types(page: Page, explore_server: Any) -> None:
    page.goto(explore_server.url + "/explore?window=24h&group_by=source&bucket=none")
    expect(page.locator("#ex-summary")).to_contain_text("2 rows")
    expect(page.locator("#ex-table")).to_contain_text("scanner")
    page.locator("#ex-filter-source").click()
    page.get_by_role("option", name="pay", exact=True).click()
    page.keyboard.press("Escape")
    expect(page.locator("#ex-summary")).to_contain_text("1 rows")
    expect(page).to_have_url(explore_server.url + "/explore?group_by=source&bucket=none&source=pay")
    page.locator("label", has_text="Pie").click()
    expect(page.locator("#ex-chart .pielayer path.surface")).to_have_count(1)
    page.locator("label", has_text="Bar").click()
    expect(page.locator("#ex-chart .barlayer .point")).to_have_count(1)


def test_a_shared_url_reloads_to_the_same_view(page: Page, explore_server: Any) -> None:
    url = explore_server.url + "/explore?metric=sum&bucket=1h&source=pay&chart=area&overlays=baseline"
    page.goto(url)
    expect(page.locator("#ex-metric")).to_have_value("sum")
    expect(page.locator("#ex-bucket")).to_have_value("1h")
    expect(page.locator("#ex-chart-type input[value='area']")).to_be_checked()
    expect(page.locator("#ex-summary")).to_contain_text("Sum")
    page.reload()
    expect(page.locator("#ex-metric")).to_have_value("sum")
    expect(page.locator("#ex-chart-type input[value='area']")).to_be_checked()
    assert parse_qs(urlparse(page.url).query) == parse_qs(urlparse(url).query)

    # "Schedule…" carries this view to the Exports page's form.
    expect(page.locator("#ex-schedule")).to_have_attribute("href", re.compile(r"^/exports\?query="))
    page.locator("#ex-schedule").click()
    expect(page).to_have_url(re.compile(r"/exports\?query="))
    expect(page.locator("#exp-query")).to_have_value(re.compile("metric=sum"))
    assert parse_qs(page.locator("#exp-query").input_value()) == parse_qs(urlparse(url).query)


def test_the_csv_download_has_exactly_the_rows_shown(page: Page, explore_server: Any) -> None:
    page.goto(explore_server.url + "/explore?window=24h&group_by=type&bucket=none&metric=count")
    expect(page.locator("#ex-summary")).to_contain_text("2 rows")
    with page.expect_download() as info:
        page.locator("#ex-csv").click()
    text = open(info.value.path(), encoding="utf-8").read()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted((r["group"], r["value"]) for r in rows) == [("payment", "21"), ("scan", "12")]
    with page.expect_download() as info:
        page.locator("#ex-json").click()
    assert '"group": "payment"' in open(info.value.path(), encoding="utf-8").read()


def test_an_empty_result_says_what_to_do(page: Page, explore_server: Any) -> None:
    page.goto(explore_server.url + "/explore?source=nothing-here")
    expect(page.locator("#ex-error")).to_contain_text("No events match")


def test_pie_is_disabled_with_its_reason_for_an_ungrouped_time_series(page: Page, explore_server: Any) -> None:
    page.goto(explore_server.url + "/explore?window=24h")
    expect(page.locator("#ex-summary")).to_contain_text("rows")
    pie = page.locator("#ex-chart-type input[value='pie']")
    expect(pie).to_be_disabled()
    expect(page.locator("#ex-chart-type label", has_text="Pie").locator("span")).to_have_attribute(
        "title", re.compile("needs a group-by")
    )
    expect(page.locator("#ex-chart-type input[value='line']")).to_be_enabled()
    # Grouped, the pie is there to pick.
    page.locator("#ex-group").select_option("source")
    expect(pie).to_be_enabled()
    page.locator("#ex-chart-type label", has_text="Pie").click()
    expect(page.locator("#ex-chart .pielayer path.surface")).to_have_count(2)
    # Without the group-by again, the page falls back to a line and says so.
    page.locator("#ex-group").select_option("none")
    expect(page.locator("#ex-chart-note")).to_contain_text("Pie needs a group-by")
    expect(page.locator("#ex-chart-type input[value='line']")).to_be_checked()


def test_an_impossible_chart_type_in_the_url_falls_back_with_a_note(page: Page, explore_server: Any) -> None:
    page.goto(explore_server.url + "/explore?window=24h&chart=heatmap")
    expect(page.locator("#ex-chart-note")).to_have_text("Heatmap needs a group-by (groups against time); showing Line.")
    expect(page.locator("#ex-chart-type input[value='line']")).to_be_checked()
    expect(page.locator("#ex-chart .scatterlayer .trace")).to_have_count(1)
    expect(page).to_have_url(explore_server.url + "/explore")  # the URL says what is drawn


@pytest.fixture
def many_users_server(sqlite_server: Any) -> Any:
    """14 users in the last hours: user u00 with 14 scans, u01 with 13, ... u13 with one."""
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=5)
    events = [
        {"ts": (now - timedelta(minutes=9 * i)).isoformat(), "type": "scan", "source": "scanner", "user": f"u{u:02d}"}
        for u in range(14)
        for i in range(14 - u)
    ]
    sqlite_server.post("/api/events", json=events)
    return sqlite_server


def test_grouping_by_user_draws_the_ten_largest_and_other(page: Page, many_users_server: Any) -> None:
    page.goto(many_users_server.url + "/explore?window=24h&group_by=user&overlays=baseline")
    traces = page.locator("#ex-chart .scatterlayer .trace")
    expect(traces).to_have_count(11)
    names = page.locator("#ex-chart .legend .traces .legendtext")
    expect(names).to_have_count(11)
    assert "other" in names.all_text_contents() and "u10" not in names.all_text_contents()
    expect(page.locator("#ex-notes")).to_contain_text("the other 4 are summed as one series, other")
    # The overlays judge one series: off, and the page says why.
    expect(page.locator("#ex-overlays input[value='baseline']")).to_be_disabled()
    expect(page.locator("#ex-overlays input[value='baseline']")).not_to_be_checked()
    expect(page.locator("#ex-overlay-note")).to_contain_text("remove the group-by")
    # top= draws more or fewer.
    page.locator("#ex-top").fill("3")
    page.locator("#ex-top").press("Enter")
    expect(traces).to_have_count(4)
    expect(page).to_have_url(re.compile(r"top=3"))


def test_on_a_phone_the_bucket_column_shows_its_whole_time(browser: Browser, explore_server: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(explore_server.url + "/explore?bucket=1h&range=24h&group_by=source&chart=line")
        cells = page.locator("#ex-table .ag-cell[col-id='bucket']")
        expect(cells.first).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"))
        widths = page.evaluate(
            """() => Array.from(document.querySelectorAll("#ex-table .ag-cell[col-id='bucket']")).map(
                (c) => { const v = c.querySelector('.ag-cell-value') || c; return [v.scrollWidth, v.clientWidth]; })"""
        )
        assert widths and all(scroll <= client for scroll, client in widths), widths
    finally:
        context.close()


def test_the_table_writes_durations_in_human_units_and_downloads_milliseconds(page: Page, sqlite_server: Any) -> None:
    ts = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat()
    sqlite_server.post("/api/events", json=[{"ts": ts, "type": "job", "source": "cron", "duration_ms": 1_574_000}])
    page.goto(sqlite_server.url + "/explore?range=24h&metric=max&field=duration_ms&bucket=none&group_by=source")
    cell = page.locator("#ex-table .ag-cell[col-id='value']").first
    expect(cell).to_have_text("26 min 14 s")
    with page.expect_download() as download:
        page.locator("#ex-csv").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert [(r["group"], float(r["value"])) for r in rows] == [("cron", 1_574_000.0)]
