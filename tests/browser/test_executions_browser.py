"""Executions in a real browser: recent runs, the trend with a detected
regression, and the drill-down reached from the table."""

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
    assert lines[0].startswith('"run","script","status"')
    assert len(lines) == 21 and all('"etl.py"' in line for line in lines[1:])
