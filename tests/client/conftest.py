"""Client fixtures: one real server shared by the client tests that do not
stop it, helpers that read the server's SQLite file directly, and a runner
launcher (``python -m client.run`` in a subprocess, from the repo root)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, ProcessServer


class SharedServer:
    def __init__(self, server: ProcessServer, data_dir: Path) -> None:
        self.server = server
        self.url = server.url
        self.db_path = data_dir / "pulseboard.db"

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return server_rows(self.db_path, sql, *params)


def server_rows(db_path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the server's database file (WAL: safe beside the running server)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedServer]:
    """``python app.py serve`` for the client tests that leave it running."""
    data_dir = tmp_path_factory.mktemp("client-server")
    server = ProcessServer(["--data-dir", str(data_dir), "--log-level", "WARNING"])
    server.start()
    try:
        yield SharedServer(server, data_dir)
    finally:
        server.stop(signal.SIGKILL)  # nothing to keep; a graceful stop takes seconds


@pytest.fixture
def run_runner(tmp_path: Path) -> Any:
    """``run_runner(url, *args, timeout=...)`` -> CompletedProcess of ``python -m client.run *args``."""

    def run(url: str, *args: str, timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PULSE_URL": url, "PULSE_SPOOL_DIR": str(tmp_path / "spool")}
        env.pop("PULSE_SOURCE", None)
        cmd = [sys.executable, "-m", "client.run", "--flush-timeout", "30", *args]
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, **kw)

    return run


def closed_port_url() -> str:
    """A URL where nothing listens (connection refused at once)."""
    from tests.conftest import free_port

    return f"http://127.0.0.1:{free_port()}"
