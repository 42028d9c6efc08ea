"""Boards provisioned at start: ``--boards-dir`` files become read-only
boards, a bad file stops ``python app.py serve`` with exit code 2 and one
line naming the file and the field, and ``--demo`` provisions one board per
scenario whose every panel answers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.factories import board_doc

ROOT = Path(__file__).resolve().parents[2]
DEMO_BOARDS = ("admin-analytics", "device-monitor", "macro-sessions", "script-runner", "tool-usage")


def test_a_bad_board_file_stops_the_start_with_one_line(tmp_path: Path) -> None:
    boards = tmp_path / "boards"
    boards.mkdir()
    doc = board_doc("ops")
    doc["panels"][0]["grid"]["w"] = 13
    (boards / "ops.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "DASHBOARD_"))}
    cmd = [sys.executable, str(ROOT / "app.py"), "serve", "--data-dir", str(tmp_path), "--port", "0"]
    result = subprocess.run(
        cmd,
        cwd=ROOT,
        env=env | {"PULSE_BOARDS_DIR": str(boards)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f'pulseboard: --boards-dir: {boards / "ops.yaml"}: panels[0] ("Scans").grid.w: ')


def test_provisioned_boards_are_served_read_only(make_server_for: Any, db_url: str, tmp_path: Path) -> None:
    boards = tmp_path / "boards"
    boards.mkdir()
    (boards / "ops.yaml").write_text(yaml.safe_dump(board_doc("ops")), encoding="utf-8")
    server = make_server_for(db_url, boards_dir=str(boards))
    got = server.get("/api/boards/ops").json()
    assert (got["provisioned"], got["source_file"], got["can_edit"]) == (True, str(boards / "ops.yaml"), False)
    put = server.put("/api/boards/ops", json=got["board"] | {"version": 1})
    assert put.status_code == 403 and put.json() == {"error": f"provisioned from {boards / 'ops.yaml'}; edit the file"}


def test_the_demo_provisions_a_board_per_scenario_and_every_panel_answers(make_server_for: Any, db_url: str) -> None:
    server = make_server_for(db_url, demo=True)
    listed = server.get("/api/boards", params={"tag": "demo"}).json()["boards"]
    assert [b["uid"] for b in listed] == sorted(DEMO_BOARDS, key=lambda u: u.replace("-", " "))
    assert all(b["provisioned"] for b in listed)
    for uid in DEMO_BOARDS:
        board = server.get(f"/api/boards/{uid}").json()["board"]
        for panel in board["panels"]:
            r = server.get(f"/api/boards/{uid}/panels/{panel['id']}/data")
            assert r.status_code == 200, (uid, panel["id"], r.text)
            assert set(r.json()) == {"query", "columns", "rows"}
