"""``python -m client.run``: real commands (``python -c``) recorded as executions
on a real server, their output and exit status passed through."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.client.conftest import SharedServer, closed_port_url
from tests.conftest import ROOT, wait_until


def py(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def executions(server: SharedServer, script: str) -> list[dict[str, Any]]:
    rows = server.query(
        "SELECT id, status, exit_code, attempt, duration_ms, attrs, finished_at FROM executions "
        "WHERE script = ? ORDER BY attempt",
        script,
    )
    keys = ("id", "status", "exit_code", "attempt", "duration_ms", "attrs", "finished_at")
    return [dict(zip(keys, r, strict=True)) | {"attrs": json.loads(r[5] or "null") or {}} for r in rows]


def metrics(server: SharedServer, execution_id: str) -> dict[str, float]:
    return dict(server.query("SELECT name, value FROM execution_metrics WHERE execution_id = ?", execution_id))


def test_it_records_a_successful_command_with_the_metrics_it_prints(
    shared_server: SharedServer, run_runner: Any
) -> None:
    code = """
        import sys
        print("working")
        print("PULSE_METRIC rows=1200 bytes=5.5")
        print("PULSE_METRIC rows=1250")
        sys.stderr.write("a warning\\n")
    """
    done = run_runner(shared_server.url, "--script", "ok-job", "--", *py(code))
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout == "working\nPULSE_METRIC rows=1200 bytes=5.5\nPULSE_METRIC rows=1250\n"
    )  # passed through unchanged
    assert done.stderr == "a warning\n"
    (run,) = executions(shared_server, "ok-job")
    assert (run["status"], run["exit_code"], run["attempt"]) == ("success", 0, 1)
    assert run["duration_ms"] > 0 and run["finished_at"] is not None
    assert "stderr_tail" not in run["attrs"]
    recorded = metrics(shared_server, run["id"])
    assert recorded["rows"] == 1250 and recorded["bytes"] == 5.5
    assert recorded["cpu_user_s"] >= 0 and recorded["cpu_system_s"] >= 0


def test_it_passes_a_failing_exit_code_through_and_keeps_the_end_of_stderr(
    shared_server: SharedServer, run_runner: Any
) -> None:
    code = """
        import sys
        for i in range(50):
            print(f"err {i}", file=sys.stderr)
        sys.exit(3)
    """
    done = run_runner(shared_server.url, "--script", "failing-job", "--tail", "5", "--", *py(code))
    assert done.returncode == 3
    assert done.stderr.splitlines() == [f"err {i}" for i in range(50)]
    (run,) = executions(shared_server, "failing-job")
    assert (run["status"], run["exit_code"]) == ("failed", 3)
    assert run["attrs"]["stderr_tail"] == "\n".join(f"err {i}" for i in range(45, 50))


def test_it_retries_a_failing_command_until_it_succeeds(
    shared_server: SharedServer, run_runner: Any, tmp_path: Path
) -> None:
    counter = tmp_path / "attempts"
    code = f"""
        import pathlib, sys
        p = pathlib.Path({str(counter)!r})
        n = int(p.read_text()) + 1 if p.exists() else 1
        p.write_text(str(n))
        print(f"PULSE_METRIC attempt_seen={{n}}")
        sys.exit(0 if n == 3 else 1)
    """
    done = run_runner(shared_server.url, "--script", "flaky-job", "--retry", "5", "--retry-delay", "0", "--", *py(code))
    assert done.returncode == 0
    runs = executions(shared_server, "flaky-job")
    assert [(r["attempt"], r["status"], r["exit_code"]) for r in runs] == [
        (1, "failed", 1),
        (2, "failed", 1),
        (3, "success", 0),
    ]
    assert runs[1]["attrs"]["retry_of"] == runs[0]["id"] and runs[2]["attrs"]["retry_of"] == runs[1]["id"]
    assert [metrics(shared_server, r["id"])["attempt_seen"] for r in runs] == [1, 2, 3]


def test_it_kills_a_command_that_outlives_its_timeout_and_records_a_timeout(
    shared_server: SharedServer, run_runner: Any
) -> None:
    code = """
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # a grandchild in its group
        print("started", flush=True)
        time.sleep(60)
    """
    done = run_runner(shared_server.url, "--script", "slow-job", "--timeout", "1", "--kill-grace", "1", "--", *py(code))
    assert done.returncode == 124
    assert done.stdout == "started\n"
    (run,) = executions(shared_server, "slow-job")
    assert run["status"] == "timeout" and run["attrs"]["timeout_s"] == 1.0 and run["attrs"]["signal"] in (15, 9)
    assert 900 < run["duration_ms"] < 30_000


def test_it_streams_the_command_output_while_the_command_runs(shared_server: SharedServer, tmp_path: Path) -> None:
    go = tmp_path / "go"
    code = f"""
        import os, time
        print("first line", flush=True)
        while not os.path.exists({str(go)!r}):
            time.sleep(0.02)
        print("second line")
    """
    env = {**os.environ, "PULSE_URL": shared_server.url, "PULSE_SPOOL_DIR": str(tmp_path / "spool")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "client.run", "--script", "streaming-job", "--", *py(code)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "first line\n"  # arrives while the command still waits
        assert proc.poll() is None
        go.touch()
        assert proc.stdout.read() == "second line\n"
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()


def test_a_server_that_is_down_never_fails_the_command_and_the_run_is_delivered_later(
    shared_server: SharedServer, run_runner: Any, tmp_path: Path
) -> None:
    done = run_runner(closed_port_url(), "--script", "offline-job", "--flush-timeout", "2", "--", *py("print('done')"))
    assert done.returncode == 0 and done.stdout == "done\n"
    assert executions(shared_server, "offline-job") == []

    env = {**os.environ, "PULSE_URL": shared_server.url, "PULSE_SPOOL_DIR": str(tmp_path / "spool")}
    replay = subprocess.run(
        [sys.executable, "-m", "client.spool", "flush", "--source", "runner", "--timeout", "60"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert replay.returncode == 0, replay.stderr
    runs = wait_until(lambda: executions(shared_server, "offline-job"), message="the spooled run")
    assert [(r["status"], r["exit_code"]) for r in runs] == [("success", 0)]


def test_a_command_that_cannot_start_exits_127_and_is_recorded_as_failed(
    shared_server: SharedServer, run_runner: Any
) -> None:
    done = run_runner(shared_server.url, "--script", "missing-job", "--", "/nonexistent/command")
    assert done.returncode == 127
    (run,) = executions(shared_server, "missing-job")
    assert run["status"] == "failed" and "FileNotFoundError" in run["attrs"]["error"]
