"""``serve --demo`` in a subprocess: ``/health`` says ``starting`` (503) while
the demo backfills its history, then ``healthy`` (200) with the history there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from tests.conftest import ProcessServer, wait_until


def test_health_is_starting_until_the_demo_backfill_is_done(tmp_path: Path) -> None:
    server = ProcessServer(["--data-dir", str(tmp_path), "--demo"]).launch()
    answers: list[tuple[int, dict[str, Any]]] = []

    def ready() -> bool:
        r = requests.get(server.url + "/health", timeout=5)
        answers.append((r.status_code, r.json()))
        return r.status_code == 200

    try:
        wait_until(
            lambda: server.proc is not None and server.proc.poll() is None and ready(), timeout=240, interval=0.2
        )
        code, first = answers[0]
        assert (code, first["status"], first["waiting_for"]) == (503, "starting", ["demo backfill"])
        assert first["database"] == "ok"  # the schema is upgraded before the server answers
        code, last = answers[-1]
        assert (code, last["status"]) == (200, "healthy") and "waiting_for" not in last
        assert all(body["status"] in ("starting", "healthy") for _, body in answers)
        # Ready means the history is in: a week of it, up to now.
        overview = requests.get(server.url + "/api/overview", timeout=10).json()
        assert overview["kpis"]["events_today"] > 0
        components = requests.get(server.url + "/api/components", timeout=10).json()
        assert components["status"] == "healthy"
        assert all(c["uptime"]["7d"] is not None and c["uptime"]["7d"] > 90 for c in components["components"])
    finally:
        server.stop()
