"""python app.py export: an Explore query to a CSV file or stdout, against a
real SQLite database file; a bad query exits 2 and writes nothing."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from data.db import Database
from data.ingest import event_row, ingest
from tests.conftest import ROOT


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "pulse.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    now = datetime.now(timezone.utc)
    ingest(
        db,
        [
            event_row(now - timedelta(minutes=10), "web", "order", value=10.0),
            event_row(now - timedelta(minutes=20), "web", "order", value=20.0),
            event_row(now - timedelta(minutes=30), "app", "order", value=5.0, message="@SUM(A1)"),
            event_row(now - timedelta(hours=30), "web", "order", value=99.0),  # outside 24 h
        ],
    )
    db.dispose()
    return path


def test_it_writes_the_query_result_to_a_file(db_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "orders.csv"
    done = cli(
        "export",
        "--db",
        str(db_file),
        "--query",
        "window=24h&metric=count&group_by=source&bucket=none",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == b"group,value\r\napp,1\r\nweb,2\r\n"
    assert "2 rows" in done.stderr and done.stdout == ""
    assert [p.name for p in out.parent.iterdir()] == ["orders.csv"]  # no temporary file left beside it


def test_it_streams_to_stdout_with_a_dash(db_file: Path) -> None:
    done = cli(
        "export",
        "--db",
        str(db_file),
        "--query",
        "http://host/explore?window=24h&type=order&mode=events&chart=bar",
        "--out",
        "-",
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0][:4] == ["id", "ts", "source", "type"] and len(rows) == 4
    assert [(r[2], r[9], r[11]) for r in rows[1:]] == [
        ("app", "5.0", "'@SUM(A1)"),
        ("web", "20.0", ""),
        ("web", "10.0", ""),
    ]


# Each run starts a Python process (seconds); the API tests cover every parameter's message.
@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("window=24h&metric=median", "parameter 'metric'"),
        ("window=1h&colour=red", "parameter 'colour'"),
    ],
)
def test_a_bad_query_exits_2_naming_the_parameter_and_writes_nothing(
    db_file: Path, tmp_path: Path, query: str, named: str
) -> None:
    out = tmp_path / "never.csv"
    done = cli("export", "--db", str(db_file), "--query", query, "--out", str(out))
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert named in line and line.startswith("pulseboard export:")
    assert not out.exists()
