"""``data.csv_import``: the macro-sessions tool's master_stats.csv (its fallback
storage) and other CSV files as events, with bad rows reported by line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from data.csv_import import CsvImportError, import_csv, main_import
from data.db import Database

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
HEADER = "timestamp,session_id,username,button_key,execution_time_ms,total_boxes,degradation_assignments,canvas_mode\n"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'pulse.db'}")
    database.migrate()
    yield database
    database.dispose()


def write(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def events(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        sql = 'SELECT ts, source, type, entity, "user", session_id, value, duration_ms, attrs, uid FROM events ORDER BY id'
        rows = conn.execute(text(sql))
        return [dict(r._mapping) for r in rows]


def test_master_stats_rows_become_macro_events_with_the_default_mapping(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path / "master_stats.csv",
        HEADER + '2023-12-01 14:30:22,sess_20231201_143022,john_doe,Num5,1250,5,"smudge,glare,smudge",wide\n',
    )
    report = import_csv(db, path, source="macro", strict=False, now=NOW)
    assert (report.rows, report.stored, report.errors) == (1, 1, [])
    (event,) = events(db)
    assert event["ts"] == 1701441022 * 1_000_000  # naive times are UTC unless a tz is given
    assert (event["source"], event["type"], event["entity"], event["user"]) == (
        "macro",
        "macro_execution",
        "Num5",
        "john_doe",
    )
    assert (event["session_id"], event["value"], event["duration_ms"]) == ("sess_20231201_143022", 5.0, 1250.0)
    assert json.loads(event["attrs"]) == {
        "degradation_assignments": "smudge,glare,smudge",
        "degradation_counts": {"smudge": 2, "glare": 1},
        "canvas_mode": "wide",
    }


def test_bad_rows_are_reported_by_line_and_the_good_rows_are_stored(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path / "mixed.csv",
        HEADER
        + "2023-12-01 14:30:22,s1,ana,Num1,100,1,,wide\n"  # line 2
        + "yesterday,s1,ana,Num2,100,1,,wide\n"  # line 3: ts
        + "\n"  # line 4: blank, not a row
        + "2023-12-01 14:30:24,s1,ana,Num3,fast,1,,wide\n"  # line 5: execution_time_ms
        + '2023-12-01 14:30:25,s1,ana,"Num\n4",100,1,,wide\n'  # lines 6-7: a quoted newline is fine
        + "2023-12-01 14:30:26,s1,ana,Num5,100,1,,wide,extra\n",
    )  # line 8: one cell too many
    report = import_csv(db, path, source="macro", strict=False, now=NOW)
    assert report.bad_lines == [3, 5, 8]
    assert {(e.line, e.field) for e in report.errors} == {(3, "ts"), (5, "duration_ms"), (8, "(row)")}
    assert (report.rows, report.stored) == (5, 2)
    assert [e["entity"] for e in events(db)] == ["Num1", "Num\n4"]
    assert "line 5: duration_ms" in report.summary()


def test_a_strict_import_with_one_bad_row_stores_nothing(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path / "strict.csv",
        HEADER + "2023-12-01 14:30:22,s1,ana,Num1,100,1,,wide\n" + "2023-12-01 14:30:23,s1,ana,Num2,-5,1,,wide\n",
    )
    report = import_csv(db, path, source="macro", strict=True, now=NOW)
    assert report.aborted and report.stored == 0 and report.bad_lines == [3]
    assert events(db) == []


def test_importing_the_same_file_again_stores_nothing_twice(db: Database, tmp_path: Path) -> None:
    body = HEADER + "".join(f"2023-12-01 14:30:{s:02d},s1,ana,Num1,100,1,,wide\n" for s in range(3))
    body += "2023-12-01 14:30:02,s1,ana,Num1,100,1,,wide\n"  # the same content as line 4 on another line: its own event
    path = write(tmp_path / "again.csv", body)
    first = import_csv(db, path, source="macro", strict=False, now=NOW)
    second = import_csv(db, path, source="macro", strict=True, now=NOW)
    assert (first.stored, first.duplicates) == (4, 0)
    assert (second.stored, second.duplicates) == (0, 4)
    assert len(events(db)) == 4


def test_a_mapping_renames_drops_and_nests_columns_and_a_uid_column_is_used_as_is(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path / "other.csv", "when,device,reading,note,secret,uid\n2024-05-01T10:00:00+02:00,gate-1,7.5,ok,xyz,u-1\n"
    )
    mapping = {"when": "ts", "device": "entity", "reading": "value", "note": "attrs.comment", "secret": "-"}
    report = import_csv(db, path, source="sensors", mapping=mapping, strict=True, now=NOW)
    assert report.stored == 1
    (event,) = events(db)
    assert event["ts"] == int(datetime(2024, 5, 1, 8, tzinfo=timezone.utc).timestamp()) * 1_000_000
    assert (event["type"], event["entity"], event["value"], event["uid"]) == ("csv_row", "gate-1", 7.5, "u-1")
    assert json.loads(event["attrs"]) == {"comment": "ok"}


def test_a_mapping_that_names_a_missing_column_is_refused_before_anything_is_read(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", HEADER)
    with pytest.raises(CsvImportError, match="no column 'boxes'"):
        import_csv(db, path, source="macro", mapping={"boxes": "value"}, strict=False, now=NOW)


class _Settings:
    def __init__(self, url: str) -> None:
        self.database_url = url
        self.sqlite_synchronous = "NORMAL"


def test_the_import_command_prints_a_summary_and_exits_1_on_bad_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path / "cli.csv", HEADER + "2023-12-01 14:30:22,s1,ana,Num1,100,1,,wide\nbad,s1,ana,Num1,100,1,,wide\n"
    )
    settings = _Settings(f"sqlite:///{tmp_path / 'cli.db'}")
    code = main_import([str(path), "--source", "macro", "--map", "canvas_mode=-", "--tz", "Europe/Berlin"], settings)
    out = capsys.readouterr().out
    assert code == 1
    assert "2 rows, 1 stored" in out and "line 3: ts" in out
