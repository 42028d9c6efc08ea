"""``python app.py serve`` in a subprocess: a bad setting stops it with exit
code 2 and one line on stderr; a real server answers and stores events."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without any Pulseboard setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "DASHBOARD_"))}
    return env | extra


def serve(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(ROOT / "app.py"), "serve", "--data-dir", str(tmp_path), *args]
    return subprocess.run(cmd, cwd=ROOT, env=clean_env(**env), capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        (["--port", "notaport"], {}, "--port"),
        ([], {"PULSE_PORT": "99999"}, "PULSE_PORT"),
    ],
    ids=["port-flag", "port-env"],
)
def test_a_bad_setting_exits_2_with_one_line_naming_it(
    tmp_path: Path, args: list[str], env: dict[str, str], names: str
) -> None:
    result = serve(tmp_path, *args, **env)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"pulseboard: {names}: ")
    assert result.stdout == ""


def test_a_served_app_answers_health_and_counts_an_event(process_server: Any, db_url: str) -> None:
    server = process_server("--db", db_url, "--threads", "8")
    health = requests.get(server.url + "/health", timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "healthy"
    r = requests.post(server.url + "/api/events", json={"type": "e2e", "source": "cli", "value": 3}, timeout=10)
    assert r.status_code == 201, r.text
    (event_id,) = r.json()["ids"]
    listed = requests.get(server.url + "/api/events", params={"type": "e2e"}, timeout=10).json()
    assert listed["count"] == 1
    assert listed["events"][0]["id"] == event_id and listed["events"][0]["value"] == 3
