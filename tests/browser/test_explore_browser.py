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
from playwright.sync_api import Page, expect

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
