"""python app.py backup / restore: backup -> delete database -> restore -> identical counts."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ROOT


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("events", "rollups", "rollups_hourly", "sessions")
        }
    finally:
        conn.close()


def test_backup_then_restore_after_losing_the_database_gives_identical_counts(
    process_server: Any, tmp_path: Path
) -> None:
    server = process_server()
    import requests

    requests.post(
        server.url + "/api/events", json=[{"type": "t", "value": i, "duration_ms": i} for i in range(50)], timeout=30
    ).raise_for_status()
    requests.post(server.url + "/api/sessions", json={"id": "sess_1"}, timeout=30).raise_for_status()
    db = tmp_path / "pulseboard.db"
    made = cli("backup", "--data-dir", str(tmp_path))  # online, while the server runs
    assert made.returncode == 0, made.stderr
    backup_file = Path(made.stdout.strip())
    assert backup_file.parent == tmp_path / "backups" and backup_file.exists()
    before = counts(backup_file)
    server.stop()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    restored = cli("restore", str(backup_file), "--data-dir", str(tmp_path))
    assert restored.returncode == 0, restored.stderr
    assert counts(db) == before
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM events WHERE source != 'pulseboard'").fetchone()[0] == 51
    conn.close()


def test_backups_are_rotated_to_the_newest_n(tmp_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    from data.backup import backup
    from data.db import Database

    db = tmp_path / "p.db"
    Database(f"sqlite:///{db}").migrate()
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    made = [backup(db, tmp_path / "b", keep=3, now=t0 + timedelta(days=i)) for i in range(5)]
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [p.name for p in made[-3:]]


def test_a_damaged_database_stops_the_start_with_one_line_saying_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "pulseboard.db").write_bytes(b"this is not a database" * 100)
    done = cli("serve", "--data-dir", str(tmp_path), "--port", "0")
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "is damaged" in line and "python app.py restore" in line


def test_restoring_a_damaged_backup_is_refused_and_the_database_kept(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 100)
    done = cli("restore", str(bad), "--data-dir", str(tmp_path))
    assert done.returncode == 1 and "integrity" in done.stderr
