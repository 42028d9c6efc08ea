"""Scheduled exports on a real SQLite database with an injected clock: due
times (cron and interval), a schedule's CSV written on time with the rows of
its window, file retention, formula neutralisation, chunked raw exports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from core.errors import InvalidField
from data import schedules
from data.ingest import event_row, ingest
from jobs import due, exports
from jobs import export_schedules as api
from jobs.scheduler import Jobs
from settings import load_settings

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)  # a Monday
H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Any]:
    app = create_app(load_settings({"db": str(tmp_path / "p.db"), "data_dir": str(tmp_path)}, environ={}))
    services = app.server.extensions["pulseboard"]
    services.clock = lambda: T0
    yield services
    services.close()


def at(svc: Any, when: datetime) -> datetime:
    svc.clock = lambda: when
    return when


def stored(svc: Any, schedule_id: int) -> dict[str, Any]:
    with svc.db.read() as conn:
        row = schedules.get_schedule(conn, schedule_id)
    assert row is not None
    return row


def text_of(path: Path) -> str:
    return path.read_bytes().decode()


# ------------------------------------------------------------- due times


@pytest.mark.parametrize(
    ("cron", "after", "expected"),
    [
        ("0 * * * *", T0, T0 + H),  # strictly after: a run at 12:00 is next due at 13:00
        ("0 * * * *", T0 - timedelta(seconds=1), T0),
        ("*/15 * * * *", T0 + 7 * M, T0 + 15 * M),
        ("30 6 * * *", T0, datetime(2026, 1, 6, 6, 30, tzinfo=timezone.utc)),
        ("0 9 * * 1", T0, datetime(2026, 1, 12, 9, 0, tzinfo=timezone.utc)),  # 1 = Monday, as in crontab
        ("0 9 * * 0", T0, datetime(2026, 1, 11, 9, 0, tzinfo=timezone.utc)),  # 0 = Sunday
        ("0 9 * * 7", T0, datetime(2026, 1, 11, 9, 0, tzinfo=timezone.utc)),  # 7 = Sunday too
        (
            "0 9 * * 1-5",
            datetime(2026, 1, 9, 10, 0, tzinfo=timezone.utc),
            datetime(2026, 1, 12, 9, 0, tzinfo=timezone.utc),
        ),
        ("0 0 1 * *", T0, datetime(2026, 2, 1, tzinfo=timezone.utc)),
        ("@daily", T0, datetime(2026, 1, 6, tzinfo=timezone.utc)),
    ],
)
def test_cron_due_times_are_the_next_utc_fire_time(cron: str, after: datetime, expected: datetime) -> None:
    assert due.next_run(cron, None, after=after) == expected


def test_interval_due_times_keep_their_phase_however_late_the_tick() -> None:
    assert due.next_run(None, 900, after=T0, anchor=T0) == T0 + 15 * M
    assert due.next_run(None, 900, after=T0 + 15 * M, anchor=T0) == T0 + 30 * M
    assert due.next_run(None, 900, after=T0 + 47 * M, anchor=T0) == T0 + 60 * M


@pytest.mark.parametrize("cron", ["61 * * * *", "* * *", "0 0 31 2 *", "0 9 * * 8", "every hour", "0 9 * * mon-xyz"])
def test_bad_cron_lines_are_refused_with_a_reason(cron: str) -> None:
    with pytest.raises(ValueError) as info:
        due.cron_trigger(cron)
    assert str(info.value)


# ------------------------------------------------------------------ runs


def payments(svc: Any) -> None:
    ingest(
        svc.db,
        [
            event_row(T0 - 10 * M, "web", "payment", value=1.0),  # before the first hour's window
            event_row(T0 + 10 * M, "api", "payment", value=2.0),
            event_row(T0 + 30 * M, "web", "payment", value=3.0),
            event_row(T0 + 45 * M, "web", "payment", value=4.0),
            event_row(T0 + 59 * M + timedelta(seconds=59), "web", "payment", value=5.0),
            event_row(T0 + H, "web", "payment", value=6.0),  # at the run's time: the next window's
            event_row(T0 + 20 * M, "web", "signup"),  # another type
        ],
    )


def test_a_schedule_writes_the_expected_csv_on_time_and_only_then(svc: Any, tmp_path: Path) -> None:
    payments(svc)
    row = api.save_schedule(
        svc,
        {
            "name": "Hourly payments",
            "interval_seconds": 3600,
            "query": "window=1h&metric=sum&group_by=source&bucket=none&type=payment",
        },
    )
    assert row["next_run_at"] == T0 + H and row["slug"] == "hourly-payments"
    assert exports.run_due(svc.db, svc.settings.exports_dir, now=at(svc, T0 + 59 * M)) == []
    [written] = exports.run_due(svc.db, svc.settings.exports_dir, now=at(svc, T0 + H))
    assert written.path == tmp_path / "exports" / "hourly-payments" / "hourly-payments-20260105T130000Z.csv"
    assert text_of(written.path) == "group,value\r\napi,2.0\r\nweb,12.0\r\n"
    after = stored(svc, row["id"])
    assert (
        after["last_run_at"],
        after["next_run_at"],
        after["last_rows"],
        after["last_file"],
        after["last_error"],
    ) == (T0 + H, T0 + 2 * H, 2, written.path.name, None)
    # The same due time is not run twice (another tick, or another process).
    assert exports.run_due(svc.db, svc.settings.exports_dir, now=at(svc, T0 + H + 15 * timedelta(seconds=1))) == []


def test_a_tick_a_little_late_still_exports_the_window_ending_at_the_due_time(svc: Any) -> None:
    payments(svc)
    api.save_schedule(
        svc,
        {
            "name": "late",
            "cron": "0 13 * * *",
            "query": {"window": "1h", "metric": "count", "bucket": "none", "type": "payment"},
        },
    )
    [written] = exports.run_due(svc.db, svc.settings.exports_dir, now=T0 + H + 20 * timedelta(seconds=1))
    assert written.path.name == "late-20260105T130000Z.csv"
    assert text_of(written.path) == "value\r\n4\r\n"


def test_the_scheduler_job_runs_due_schedules_on_the_services_clock(svc: Any) -> None:
    payments(svc)
    api.save_schedule(
        svc, {"name": "job", "cron": "*/30 * * * *", "query": "window=30min&metric=count&bucket=none&type=payment"}
    )
    jobs = Jobs(svc)  # not started: the test is its clock
    at(svc, T0 + 29 * M)
    assert jobs.exports() == []
    at(svc, T0 + 30 * M)
    [written] = jobs.exports()
    assert text_of(written.path) == "value\r\n1\r\n"  # the api payment at 12:10


def test_disabling_and_editing_a_schedule_take_effect_at_the_next_tick(svc: Any) -> None:
    row = api.save_schedule(svc, {"name": "edited", "interval_seconds": 600, "query": "window=1h"})
    api.save_schedule(svc, {"enabled": False}, row["id"])
    assert stored(svc, row["id"])["next_run_at"] is None
    assert exports.run_due(svc.db, svc.settings.exports_dir, now=at(svc, T0 + H)) == []
    moved = api.save_schedule(svc, {"enabled": True, "cron": "0 14 * * *"}, row["id"])
    assert (moved["cron"], moved["interval_seconds"], moved["next_run_at"]) == ("0 14 * * *", None, T0 + 2 * H)
    assert exports.run_due(svc.db, svc.settings.exports_dir, now=at(svc, T0 + 2 * H - M)) == []
    assert len(exports.run_due(svc.db, svc.settings.exports_dir, now=at(svc, T0 + 2 * H))) == 1


def test_retention_keeps_only_the_newest_files_of_the_schedule(svc: Any) -> None:
    row = api.save_schedule(svc, {"name": "kept", "interval_seconds": 60, "keep": 3, "query": "window=1h&bucket=none"})
    other = api.save_schedule(
        svc, {"name": "kept other", "interval_seconds": 60, "keep": 1, "query": "window=1h&bucket=none"}
    )
    names = []
    for i in range(1, 6):
        names += [
            w.path.name
            for w in exports.run_due(svc.db, svc.settings.exports_dir, now=at(svc, T0 + i * M))
            if "other" not in w.path.name
        ]
    folder = svc.settings.exports_dir / row["slug"]
    assert (
        sorted(p.name for p in folder.iterdir()) == names[-3:] == [f"kept-20260105T12{m:02d}00Z.csv" for m in (3, 4, 5)]
    )
    assert [p.name for p in (svc.settings.exports_dir / other["slug"]).iterdir()] == ["kept-other-20260105T120500Z.csv"]


def test_two_runs_in_one_second_keep_both_files_in_order(svc: Any) -> None:
    row = api.save_schedule(svc, {"name": "twice", "interval_seconds": 60, "keep": 2, "query": "window=1h&bucket=none"})
    first, second = (exports.run_schedule(svc.db, svc.settings.exports_dir, row, now=T0) for _ in range(2))
    assert (first.path.name, second.path.name) == ("twice-20260105T120000Z.csv", "twice-20260105T120000Z-1.csv")
    third = exports.run_schedule(svc.db, svc.settings.exports_dir, row, now=T0 + timedelta(seconds=1))
    assert sorted(p.name for p in first.path.parent.iterdir()) == sorted([second.path.name, third.path.name])


def test_formula_cells_are_neutralised_in_the_written_file(svc: Any) -> None:
    ingest(
        svc.db,
        [
            event_row(
                T0 - 5 * M,
                "shop",
                "signup",
                user="@admin",
                entity="+cmd",
                value=-3.0,
                message='=HYPERLINK("http://x","y")',
                attrs={"plan": "-1+1"},
            ),
            event_row(T0 - 4 * M, "shop", "signup", user="ann", entity="-2", value=2.5, message="fine"),
        ],
    )
    row = api.save_schedule(svc, {"name": "raw", "cron": "@hourly", "query": "window=1h&source=shop&mode=events"})
    written = exports.run_schedule(svc.db, svc.settings.exports_dir, row, now=T0)
    lines = text_of(written.path).split("\r\n")
    assert lines[0] == "id,ts,source,type,entity,user,session_id,execution_id,status,value,duration_ms,message,attrs"
    assert lines[1].split(",")[2:10] == ["shop", "signup", "'+cmd", "'@admin", "", "", "", "-3.0"]
    assert lines[1].endswith(',"\'=HYPERLINK(""http://x"",""y"")","{""plan"":""-1+1""}"')
    assert lines[2].split(",")[4:6] == ["'-2", "ann"] and written.rows == 2 and lines[3:] == [""]
    grouped = api.save_schedule(
        svc, {"name": "grouped", "cron": "@hourly", "query": "window=1h&source=shop&group_by=entity&bucket=none"}
    )
    assert (
        text_of(exports.run_schedule(svc.db, svc.settings.exports_dir, grouped, now=T0).path)
        == "group,value\r\n'+cmd,1\r\n'-2,1\r\n"
    )


def test_raw_events_are_read_in_chunks_in_time_order(svc: Any) -> None:
    same = T0 - 30 * M
    ingest(svc.db, [event_row(same if i % 2 else T0 - (40 - i) * M, "c", "chunk", value=float(i)) for i in range(7)])
    with svc.db.read() as conn:
        chunks = list(schedules.event_chunks(conn, since=T0 - H, until=T0, chunk=3))
    assert [len(c) for c in chunks] == [3, 3, 1]
    flat = [r for c in chunks for r in c]
    assert [(r["ts"], r["id"]) for r in flat] == sorted((r["ts"], r["id"]) for r in flat)
    assert sorted(r["value"] for r in flat) == [float(i) for i in range(7)]


def test_a_failed_run_is_recorded_and_the_next_one_still_scheduled(svc: Any) -> None:
    with svc.db.write() as conn:  # a saved query the API would refuse (written before a parameter was renamed, say)
        sid = schedules.create_schedule(
            conn,
            {
                "name": "broken",
                "slug": "broken",
                "query": {"metric": "median"},
                "cron": "0 * * * *",
                "keep": 3,
                "enabled": True,
                "created_at": T0 - H,
                "next_run_at": T0,
            },
        )
    assert exports.run_due(svc.db, svc.settings.exports_dir, now=T0) == []
    row = stored(svc, sid)
    assert (
        "parameter 'metric'" in (row["last_error"] or "") and row["next_run_at"] == T0 + H and row["last_file"] is None
    )
    assert not (svc.settings.exports_dir / "broken").exists() or not any(
        (svc.settings.exports_dir / "broken").iterdir()
    )


def test_download_paths_stay_inside_the_exports_directory(svc: Any, tmp_path: Path) -> None:
    row = api.save_schedule(svc, {"name": "safe", "cron": "@hourly", "query": "window=1h"})
    good = exports.run_schedule(svc.db, svc.settings.exports_dir, row, now=T0).path
    root = svc.settings.exports_dir
    assert exports.file_path(root, "safe", good.name) == good.resolve()
    (tmp_path / "secret.csv").write_text("secret")
    os.symlink(tmp_path / "secret.csv", root / "safe" / "safe-20260105T110000Z.csv")
    for schedule, name in [
        ("safe", "../../p.db"),
        ("..", "p.db"),
        ("safe", "safe-20260105T110000Z.csv"),
        ("safe", ".hidden.csv"),
        ("safe", "other-20260105T120000Z.csv"),
        ("safe/..", good.name),
        ("Safe", good.name),
    ]:
        assert exports.file_path(root, schedule, name) is None, (schedule, name)


def test_bad_schedules_are_refused_naming_the_field(svc: Any) -> None:
    for body, field in [
        ({"name": "x", "cron": "61 * * * *", "query": "window=1h"}, "cron"),
        ({"name": "x", "interval_seconds": 59, "query": "window=1h"}, "interval_seconds"),
        ({"name": "x", "cron": "@daily", "query": "window=1h&metric=median"}, "query"),
        ({"name": "x", "query": "window=1h"}, "cron"),
        ({"name": " ", "cron": "@daily", "query": ""}, "name"),
    ]:
        with pytest.raises(InvalidField) as info:
            api.save_schedule(svc, body)
        assert info.value.field == field and f"field '{field}'" in str(info.value), str(info.value)
    with svc.db.read() as conn:
        assert schedules.list_schedules(conn) == []


def test_the_docstring_examples_hold() -> None:
    import doctest

    import callbacks.exports

    for module in (exports, due, callbacks.exports):
        result = doctest.testmod(module)
        assert result.attempted >= 2 and result.failed == 0, module.__name__
