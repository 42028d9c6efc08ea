"""The Exports page in a real browser: a schedule created from a pasted
Explore address, run now, and its file downloaded from the page."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


@pytest.fixture
def orders_server(sqlite_server: Any) -> Any:
    now = datetime.now(timezone.utc)
    sqlite_server.post(
        "/api/events",
        json=[
            {"type": "order", "source": "web", "value": 10, "ts": (now - timedelta(minutes=20)).isoformat()},
            {"type": "order", "source": "web", "value": 20, "ts": (now - timedelta(minutes=10)).isoformat()},
            {"type": "order", "source": "=cmd", "value": 5, "ts": (now - timedelta(minutes=5)).isoformat()},
        ],
    ).raise_for_status()
    return sqlite_server


def test_a_schedule_made_on_the_page_runs_and_its_file_downloads(page: Page, orders_server: Any) -> None:
    page.goto(orders_server.url + "/exports")
    expect(page.locator("#exp-schedules-empty")).to_contain_text("No schedules yet")
    expect(page.locator("#exp-files")).to_contain_text("No files yet")
    page.locator("#exp-name").fill("Orders by source")
    page.locator("#exp-query").fill(
        orders_server.url + "/explore?window=1h&type=order&metric=sum&group_by=source&bucket=none&chart=bar"
    )
    page.locator("#exp-create").click()
    expect(page.locator("#exp-message")).to_contain_text("Schedule 'Orders by source' created")
    row = page.locator("#exp-schedules .ag-center-cols-container .ag-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("cron 0 * * * *")
    expect(page.locator("#exp-schedules-empty")).to_be_hidden()

    page.locator("#exp-schedules .ag-row [col-id=name]").first.click()  # pinned on a narrow screen
    page.locator("#exp-run").click()
    expect(page.locator("#exp-message")).to_contain_text("2 rows written to orders-by-source-")
    link = page.locator("#exp-files a[download]")
    expect(link).to_have_count(1)
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.startswith("orders-by-source-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == [["group", "value"], ["'=cmd", "5.0"], ["web", "30.0"]]
    expect(row).to_contain_text("2")  # the last run's rows in the table


def test_a_bad_schedule_is_explained_and_nothing_is_created(page: Page, orders_server: Any) -> None:
    page.goto(orders_server.url + "/exports?query=window%3D1h%26metric%3Dmedian")  # the form opens with this query
    expect(page.locator("#exp-query")).to_have_value("window=1h&metric=median")
    page.locator("#exp-name").fill("Broken")
    page.locator("#exp-create").click()
    expect(page.locator("#exp-message")).to_contain_text("field 'query': parameter 'metric'")
    page.locator("#exp-query").fill("window=1h")
    page.locator("#exp-cron").fill("61 * * * *")
    page.locator("#exp-create").click()
    expect(page.locator("#exp-message")).to_contain_text("field 'cron'")
    page.locator("#exp-kind").get_by_text("every N minutes").click()
    page.locator("#exp-interval").fill("0.5")
    page.locator("#exp-create").click()
    expect(page.locator("#exp-message")).to_contain_text("at least 1 minute")
    assert orders_server.get("/api/exports/schedules").json()["schedules"] == []


def test_schedules_are_disabled_and_deleted_from_the_table(page: Page, orders_server: Any) -> None:
    orders_server.post(
        "/api/exports/schedules", json={"name": "hourly", "query": "window=1h", "interval_seconds": 3600}
    ).raise_for_status()
    page.goto(orders_server.url + "/exports")
    row = page.locator("#exp-schedules .ag-center-cols-container .ag-row")
    expect(row).to_contain_text("every 1 h")
    page.locator("#exp-toggle").click()
    expect(page.locator("#exp-message")).to_contain_text("Select a schedule")
    page.locator("#exp-schedules .ag-row [col-id=name]").first.click()  # pinned on a narrow screen
    page.locator("#exp-toggle").click()
    expect(page.locator("#exp-message")).to_contain_text("disabled")
    expect(row.locator("[col-id=enabled]")).to_have_text("no")
    page.locator("#exp-delete").click()
    expect(page.locator("#exp-message")).to_contain_text("deleted")
    expect(row).to_have_count(0)
    expect(page.locator("#exp-schedules-empty")).to_be_visible()
    assert orders_server.get("/api/exports/schedules").json()["schedules"] == []


def test_a_report_schedule_is_made_on_the_page_with_its_recipients(page: Page, orders_server: Any) -> None:
    page.goto(orders_server.url + "/exports")
    page.locator("#exp-name").fill("Orders report")
    page.locator("#exp-query").fill("window=1h&type=order&group_by=source&bucket=none")
    page.locator("#exp-recipients").fill("ops@example.com, not-an-address")
    page.locator("#exp-create").click()
    expect(page.locator("#exp-message")).to_contain_text("'not-an-address' is not an e-mail address")
    page.locator("#exp-recipients").fill("ops@example.com, lead@example.com")
    page.locator("#exp-page").fill("/explore?range=1h&type=order")
    page.locator("#exp-create").click()
    expect(page.locator("#exp-message")).to_contain_text("Schedule 'Orders report' created")
    row = page.locator("#exp-schedules .ag-center-cols-container .ag-row")
    expect(row.locator("[col-id=mailed]")).to_have_text("ops@example.com, lead@example.com")
    (stored,) = orders_server.get("/api/exports/schedules").json()["schedules"]
    assert (stored["recipients"], stored["page"]) == (
        ["ops@example.com", "lead@example.com"],
        "/explore?range=1h&type=order",
    )
    page.locator("#exp-schedules .ag-row [col-id=name]").first.click()
    page.locator("#exp-run").click()
    expect(page.locator("#exp-message")).to_contain_text("mailed as a report to ops@example.com, lead@example.com")
    mail = page.locator("#exp-mail .ag-center-cols-container .ag-row")
    expect(mail).to_have_count(2, timeout=60_000)
    expect(page.locator("#exp-mail")).to_contain_text("Orders report · ")
    expect(page.locator("#exp-mail-empty")).to_be_hidden()
