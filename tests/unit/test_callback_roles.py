"""With sign-in on, the page callbacks that change state (export schedules,
alerts) refuse viewers: the policy lets every signed-in user call Dash
callbacks, so the callbacks check the role themselves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import g

from app import create_app
from callbacks import exports as export_callbacks
from data import schedules
from layouts import ids
from settings import load_settings

FORM = {"name": "nightly", "query": "window=24h", "cron": "@daily"}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    app = create_app(load_settings({"db": str(tmp_path / "p.db"), "data_dir": str(tmp_path), "auth": True}, environ={}))
    yield app
    app.server.extensions["pulseboard"].close()


def schedule_names(services: Any) -> list[str]:
    with services.db.read() as conn:
        return [s["name"] for s in schedules.list_schedules(conn)]


@pytest.mark.parametrize(("role", "created"), [("viewer", False), ("admin", True)])
def test_only_an_admin_creates_an_export_schedule_from_the_page(app: Any, role: str, created: bool) -> None:
    services = app.server.extensions["pulseboard"]
    with app.server.test_request_context("/_dash-update-component", method="POST"):
        g.pulse_role = role
        message, changed = export_callbacks.act(services, ids.EXP_CREATE, FORM, None)
    assert changed is created
    assert ("Only an admin" in str(message)) is not created
    assert schedule_names(services) == (["nightly"] if created else [])
