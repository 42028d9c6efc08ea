"""The execution drill-down's figures (reports/scripts.py) over a real SQLite
database, and how its page writes them (layouts/executions.py).

Data: ``etl.py`` runs hourly; successful runs take 60 s ± 2 s, a failed run
(``fail``) takes 11 s, a run of another script and runs after it are never
part of its baseline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from data import queries, records
from data.db import Database
from layouts import executions as layout
from reports import scripts
from tests.conftest import migrated

START = datetime(2026, 11, 1, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
WIGGLE = [0.0, 2000.0, -2000.0, 1000.0, -1000.0]


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Database]:
    with migrated(sqlite_url) as database:
        yield database


def run(db: Database, id_: str, at: datetime, duration_ms: float | None, **fields: Any) -> None:
    body = {"id": id_, "script": "etl.py", "started_at": at, "duration_ms": duration_ms, "exit_code": 0} | fields
    if duration_ms is None:  # still running
        body.pop("exit_code")
    with db.write() as conn:
        records.record_execution(conn, body, at + timedelta(hours=1))


def history(db: Database, n: int, *, level: float = 60_000.0, start: datetime = START, prefix: str = "ok") -> None:
    for i in range(n):
        run(db, f"{prefix}-{i:02d}", start + i * HOUR, level + WIGGLE[i % 5], metrics={"rows": 1000.0 + i})


def detail(db: Database, execution_id: str) -> dict[str, Any]:
    with db.read() as conn:
        body = scripts.execution_detail(conn, execution_id)
    assert body is not None
    return body


@pytest.fixture
def failed(db: Database) -> dict[str, Any]:
    """40 successful runs, two failures among them, a failed run ``fail``
    with an error, then 25 runs after it; and a slow run of another script."""
    history(db, 40)
    run(db, "early-fail", START + 10.5 * HOUR, 500.0, exit_code=1)
    run(db, "mid-fail", START + 35.5 * HOUR, 900_000.0, exit_code=1)
    run(
        db,
        "fail",
        START + 40 * HOUR,
        11_000.0,
        exit_code=1,
        attrs={"error": "RuntimeError: upstream returned 503", "host": "batch-01", "trigger": "cron", "retries": 2},
        metrics={"rows": 20.0},
    )
    history(db, 25, start=START + 41 * HOUR, prefix="after")
    run(db, "other", START + 39.5 * HOUR, 5_000_000.0, script="report.py")
    return detail(db, "fail")


def test_a_failed_run_carries_its_error_and_attrs(failed: dict[str, Any]) -> None:
    assert failed["status"] == "failed" and failed["exit_code"] == 1
    assert failed["attrs"] == {
        "error": "RuntimeError: upstream returned 503",
        "host": "batch-01",
        "trigger": "cron",
        "retries": 2,
    }


def test_the_baseline_is_the_last_30_successful_runs_of_the_script_before_the_run(failed: dict[str, Any]) -> None:
    duration = failed["comparison"]["duration_ms"]
    # ok-10 .. ok-39: the failures, the other script and the later runs are left out.
    assert duration["runs"] == 30
    assert duration["baseline"]["n_used"] == 30
    assert duration["baseline"]["centre"] == 60_000.0
    assert 50_000 < duration["baseline"]["lower"] < 60_000 < duration["baseline"]["upper"] < 70_000
    assert (duration["within_band"], duration["direction"]) == (False, "below")
    assert duration["ratio"] == pytest.approx(11_000 / 60_000)
    assert duration["since_step"] is None
    rows = failed["comparison"]["rows"]
    assert (rows["runs"], rows["baseline"]["centre"], rows["direction"]) == (30, 1024.5, "below")


def test_the_comparable_runs_never_include_the_run_itself_nor_failures(db: Database) -> None:
    history(db, 5)
    run(db, "bad", START + 2.5 * HOUR, 1.0, exit_code=2)
    with db.read() as conn:
        runs = scripts._script_runs(conn, "etl.py")
    assert scripts.comparable_runs(runs, "ok-04")["id"].tolist() == ["ok-00", "ok-01", "ok-02", "ok-03"]
    assert scripts.comparable_runs(runs, "ok-00").empty
    assert scripts.comparable_runs(runs, "bad", limit=2)["id"].tolist() == ["ok-01", "ok-02"]


def test_a_run_after_a_step_is_compared_with_the_runs_since_the_step(db: Database) -> None:
    history(db, 20, level=40_000.0)
    history(db, 10, level=60_000.0, start=START + 20 * HOUR, prefix="slow")
    run(db, "now", START + 30 * HOUR, 61_000.0)
    duration = detail(db, "now")["comparison"]["duration_ms"]
    assert duration["since_step"] == {
        "start_ts": (START + 20 * HOUR).isoformat(),
        "kind": "regression",
        "size_pct": 50.0,
    }
    assert (duration["runs"], duration["baseline"]["centre"], duration["within_band"]) == (10, 60_000.0, True)


def test_a_run_just_after_a_step_keeps_the_whole_history(db: Database) -> None:
    history(db, 24, level=40_000.0)
    history(db, 3, level=60_000.0, start=START + 24 * HOUR, prefix="slow")
    run(db, "now", START + 27 * HOUR, 61_000.0)
    duration = detail(db, "now")["comparison"]["duration_ms"]
    assert (duration["since_step"], duration["runs"], duration["baseline"]["centre"]) == (None, 27, 40_000.0)


def test_the_neighbours_are_the_20_runs_either_side_of_the_run(failed: dict[str, Any]) -> None:
    near = failed["neighbours"]
    assert len(near) == 41
    assert [r["execution_id"] for r in near if r["current"]] == ["fail"]
    assert near[20]["execution_id"] == "fail" and near[20]["duration_ms"] == 11_000.0
    assert near[19]["execution_id"] == "ok-39" and near[21]["execution_id"] == "after-00"
    assert near[-1]["execution_id"] == "after-19"
    assert {r["status"] for r in near} == {"success", "failed"}  # mid-fail is among them
    assert "other" not in {r["execution_id"] for r in near}
    starts = [r["started_at"] for r in near]
    assert starts == sorted(starts)


def test_the_first_run_has_no_baseline_and_neighbours_on_one_side(db: Database) -> None:
    history(db, 3)
    body = detail(db, "ok-00")
    duration = body["comparison"]["duration_ms"]
    assert (duration["runs"], duration["within_band"], duration["baseline"]["centre"]) == (0, None, None)
    assert [r["execution_id"] for r in body["neighbours"]] == ["ok-00", "ok-01", "ok-02"]
    assert body["previous_id"] is None and body["attrs"] == {}


def test_the_events_window_spans_the_run_with_a_minute_either_side(failed: dict[str, Any]) -> None:
    at = START + 40 * HOUR
    assert failed["events_window"] == {
        "since": (at - timedelta(minutes=1)).isoformat(),
        "until": (at + timedelta(seconds=11, minutes=1)).isoformat(),
    }
    assert [e["execution_id"] for e in failed["events"]] == ["fail"]


def test_a_running_run_has_no_duration_to_compare(db: Database) -> None:
    history(db, 3)
    run(db, "live", START + 3 * HOUR, None)
    body = detail(db, "live")
    assert body["status"] == "running" and "duration_ms" not in body["comparison"]
    assert body["events_window"]["until"] == (START + 3 * HOUR + timedelta(minutes=1)).isoformat()


def test_an_unknown_run_has_no_detail(db: Database) -> None:
    with db.read() as conn:
        assert scripts.execution_detail(conn, "nope") is None
        assert queries.get_execution(conn, "nope") is None


# ------------------------------------------------------------------ the page


def test_the_reason_a_run_is_outside_its_band_reads_in_words(failed: dict[str, Any]) -> None:
    text = layout.reason("duration_ms", failed["comparison"]["duration_ms"])
    assert text.startswith("took 11 s, 82 % less than its usual 1 min (band ")
    assert text.endswith(" s over the last 30 successful runs)")
    rows = layout.reason("rows", failed["comparison"]["rows"])
    assert rows.startswith("rows was 20, 98 % less than its usual 1,024 (band ")


def test_a_slower_run_reads_as_a_multiple_of_its_usual(db: Database) -> None:
    history(db, 30, level=650_000.0)
    run(db, "slow", START + 30 * HOUR, 1_574_000.0)
    text = layout.reason("duration_ms", detail(db, "slow")["comparison"]["duration_ms"])
    assert text == "took 26 min 14 s, 2.4× its usual 10 min 50 s (band 10.8–10.9 min over the last 30 successful runs)"


def test_the_page_links_to_the_events_of_the_run_and_its_neighbours(failed: dict[str, Any]) -> None:
    url = layout.explore_url(failed)
    assert url.startswith("/explore?from=2026-11-02T15:59:00Z&to=")
    assert url.endswith("&entity=etl.py&execution_id=fail")
    assert layout.events_api_url(failed).startswith("/api/events?since=2026-11-02T15%3A59%3A00%2B00%3A00&until=")
    page = str(layout.detail(failed))
    assert "/executions/ok-39" in page and "/executions/after-00" in page
    assert "RuntimeError: upstream returned 503" in page and "batch-01" in page and "retries" in page
