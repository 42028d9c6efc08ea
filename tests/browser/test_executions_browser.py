"""Executions in a real browser: recent runs, the trend with a detected
regression, and the drill-down reached from the table; a failed run's
drill-down shows its error, attrs, human durations and its neighbours."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


@pytest.fixture
def runs_server(sqlite_server: Any) -> Any:
    now = datetime.now(timezone.utc)
    for i in range(24):
        duration = (1000 + (i % 3) * 10) * (1.5 if i >= 16 else 1.0)
        sqlite_server.post(
            "/api/executions",
            json={
                "script": "etl.py",
                "started_at": (now - timedelta(hours=24 - i)).isoformat(),
                "duration_ms": duration,
                "exit_code": 0 if i != 5 else 2,
                "metrics": {"rows": 100 + i},
            },
        ).raise_for_status()
    return sqlite_server


def test_the_table_lists_the_latest_runs_with_their_status(page: Page, runs_server: Any) -> None:
    page.goto(runs_server.url + "/executions")
    expect(page.locator("#xs-table .ag-center-cols-container .ag-row")).to_have_count(20)
    expect(page.locator("#xs-cards")).to_contain_text("24")
    expect(page.locator("#xs-steps")).to_contain_text("regression")
    expect(page.locator("#xs-stats")).to_contain_text("rows")


def test_a_run_drills_down_with_baseline_comparison_and_neighbours(page: Page, runs_server: Any) -> None:
    page.goto(runs_server.url + "/executions?script=etl.py")
    link = page.locator("#xs-table .ag-center-cols-container .ag-row a").first
    run_id = link.inner_text()
    link.click()
    expect(page).to_have_url(runs_server.url + f"/executions/{run_id}")
    expect(page.locator("#x-detail")).to_contain_text("etl.py")
    expect(page.locator("#x-comparison")).to_contain_text("duration_ms")
    expect(page.locator("#x-next")).to_have_count(0)  # the newest run has no next one
    page.locator("#x-prev").click()
    expect(page.locator("#x-next")).to_be_visible()


def test_an_unknown_run_says_so(page: Page, runs_server: Any) -> None:
    page.goto(runs_server.url + "/executions/exe_nope")
    expect(page.get_by_text("Execution not found")).to_be_visible()


def test_the_runs_table_exports_its_rows_as_csv(page: Page, runs_server: Any) -> None:
    page.goto(runs_server.url + "/executions?script=etl.py")
    expect(page.locator("#xs-table .ag-center-cols-container .ag-row")).to_have_count(20)
    with page.expect_download() as info:
        page.locator("#xs-table-csv").click()
    lines = open(info.value.path(), encoding="utf-8-sig").read().strip().splitlines()
    assert lines[0].startswith('"Run","Script","Status"')  # the table's headers
    assert len(lines) == 21 and all('"etl.py"' in line for line in lines[1:])


@pytest.fixture
def failed_run(runs_server: Any) -> tuple[Any, str]:
    """A failed etl.py run after the 24 of ``runs_server``, 26 min 14 s long."""
    at = datetime.now(timezone.utc) - timedelta(minutes=30)
    runs_server.post(
        "/api/executions",
        json={
            "id": "exe_failed_1",
            "script": "etl.py",
            "started_at": at.isoformat(),
            "duration_ms": 1_574_000,
            "exit_code": 3,
            "attrs": {"error": "KeyError: 'customer_id' in load_orders", "host": "batch-07", "trigger": "manual"},
            "metrics": {"rows": 12},
        },
    ).raise_for_status()
    return runs_server, "exe_failed_1"


def test_a_failed_run_shows_its_error_attrs_human_durations_and_neighbours(page: Page, failed_run: Any) -> None:
    server, run_id = failed_run
    page.goto(server.url + f"/executions/{run_id}")
    expect(page.locator("#x-error")).to_contain_text("KeyError: 'customer_id' in load_orders")
    expect(page.locator("#x-error")).to_contain_text("Failed with exit code 3 after 26 min 14 s")
    attrs = page.locator("#x-attrs")
    expect(attrs).to_contain_text("batch-07")
    expect(attrs).to_contain_text("manual")
    expect(attrs.locator("tr").first).to_contain_text("host")  # host and trigger first
    expect(attrs).not_to_contain_text("customer_id")  # the error has its own box
    expect(page.locator("#x-reason")).to_contain_text("Took 26 min 14 s, ")
    expect(page.locator("#x-reason")).to_contain_text("× its usual ")
    expect(page.locator("#x-detail")).not_to_contain_text("1574000")
    comparison = page.locator("#x-comparison")
    expect(comparison).to_contain_text("outside band")
    expect(comparison).to_contain_text("26 min 14 s")
    # The chart: 20 earlier runs (one of them failed), the run itself and no later one.
    bars = page.locator("#x-neighbours .barlayer .point")
    expect(bars).to_have_count(21)
    expect(page.locator("#x-neighbours .annotation-text")).to_have_text("this run")
    expect(page.locator("#x-neighbours .ytick text").last).to_contain_text("min")
    href = page.locator("#x-explore").get_attribute("href") or ""
    assert href.startswith("/explore?") and "entity=etl.py" in href and f"execution_id={run_id}" in href
    api = server.get(page.locator("#x-events-api").get_attribute("href") or "").json()
    assert run_id in {e["execution_id"] for e in api["events"]}


def test_the_previous_run_link_opens_the_run_before_the_failure(page: Page, failed_run: Any) -> None:
    server, run_id = failed_run
    page.goto(server.url + f"/executions/{run_id}")
    expect(page.locator("#x-next")).to_have_count(0)
    page.locator("#x-prev").click()
    expect(page).not_to_have_url(server.url + f"/executions/{run_id}")
    expect(page.locator("#x-next")).to_have_attribute("href", f"/executions/{run_id}")
    expect(page.locator("#x-error")).to_have_count(0)  # a successful run has no error box


def test_the_runs_table_shows_durations_in_human_units(page: Page, failed_run: Any) -> None:
    server, run_id = failed_run
    page.goto(server.url + "/executions?script=etl.py")
    row = page.locator("#xs-table .ag-center-cols-container .ag-row").filter(has_text=run_id)
    expect(row.locator('[col-id="duration_ms"]')).to_have_text("26 min 14 s")
    expect(page.locator("#xs-stats")).not_to_contain_text("1574000")
