"""The board page's writes check who acts (the policy lets every signed-in
user, and a share link's reader, call Dash callbacks), and a share link's
scope lets through only the shared board's callbacks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import g

from app import create_app
from auth import share
from callbacks import board_edit, board_settings
from core.boards import board_to_dict, parse_board
from data import boards as store
from settings import load_settings

BOARD = {
    "uid": "ops",
    "title": "Ops",
    "panels": [{"id": "a", "title": "A", "kind": "stat", "grid": {"x": 0, "y": 0, "w": 3, "h": 4}}],
}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    app = create_app(load_settings({"db": str(tmp_path / "p.db"), "data_dir": str(tmp_path), "auth": True}, environ={}))
    services = app.server.extensions["pulseboard"]
    now = datetime.now(timezone.utc)
    with services.db.write() as conn:
        store.create_board(conn, parse_board(BOARD, now=now), owner="ada", now=now)
    yield app
    services.close()


@pytest.mark.parametrize(
    ("user", "role", "saved"),
    [("ada", "viewer", True), ("bob", "viewer", False), (None, "share", False), ("root", "admin", True)],
)
def test_only_the_owner_or_an_admin_saves_a_board_from_the_page(
    app: Any, user: str | None, role: str, saved: bool
) -> None:
    services = app.server.extensions["pulseboard"]
    document = {**board_to_dict(parse_board(BOARD)), "title": "Renamed"}
    with app.server.test_request_context("/_dash-update-component", method="POST"):
        g.pulse_user, g.pulse_role = user, role
        info, error = board_edit.save(services, {"uid": "ops", "version": 1}, document)
    assert (info is not None) is saved
    assert ("Only the board's owner or an admin" in error) is not saved
    with services.db.read() as conn:
        found = store.get_board(conn, "ops")
    assert found is not None and found.title == ("Renamed" if saved else "Ops")


def test_a_stale_version_is_not_saved(app: Any) -> None:
    services = app.server.extensions["pulseboard"]
    document = {**board_to_dict(parse_board(BOARD)), "title": "Renamed"}
    with app.server.test_request_context("/_dash-update-component", method="POST"):
        g.pulse_user, g.pulse_role = "ada", "viewer"
        assert board_edit.save(services, {"uid": "ops", "version": 1}, document)[0] is not None
        info, error = board_edit.save(services, {"uid": "ops", "version": 1}, {**document, "title": "Again"})
    assert info is None and "changed elsewhere" in error


def dash_body(outputs: Any, inputs: list[Any]) -> dict[str, Any]:
    return {"output": "x", "outputs": outputs, "inputs": inputs, "state": []}


def test_a_share_scope_lets_only_its_boards_callbacks_through() -> None:
    panel = {"id": {"type": "bd-panel", "uid": "ops", "panel": "a"}, "property": "children"}
    assert share.allows("ops", "/_dash-update-component", "POST", dash_body(panel, []))
    other = {"id": {"type": "bd-panel", "uid": "secret", "panel": "a"}, "property": "children"}
    assert not share.allows("ops", "/_dash-update-component", "POST", dash_body(other, []))
    draw = [{"id": "bd-uid", "property": "data", "value": {"uid": "secret"}}]
    body = {"id": "bd-body", "property": "children"}
    assert not share.allows("ops", "/_dash-update-component", "POST", dash_body(body, draw))
    listing = {"id": "bd-list", "property": "children"}
    assert not share.allows("ops", "/_dash-update-component", "POST", dash_body(listing, []))
    chart = {"id": "ex-chart", "property": "figure"}
    assert not share.allows("ops", "/_dash-update-component", "POST", dash_body([chart], []))
    assert not share.allows("ops", "/api/boards/ops", "PUT", None)
    assert not share.allows("ops", "/api/query", "GET", None)
    assert share.allows("ops", "/_dash-layout", "GET", None)


@pytest.mark.parametrize(
    ("user", "role", "deleted"),
    [("ada", "viewer", True), ("bob", "viewer", False), (None, "share", False), ("root", "admin", True)],
)
def test_only_the_owner_or_an_admin_deletes_a_board_from_the_page(
    app: Any, user: str | None, role: str, deleted: bool
) -> None:
    services = app.server.extensions["pulseboard"]
    with app.server.test_request_context("/_dash-update-component", method="POST"):
        g.pulse_user, g.pulse_role = user, role
        error = board_settings.delete(services, "ops")
    assert (error == "") is deleted
    with services.db.read() as conn:
        assert (store.get_board(conn, "ops") is None) is deleted


def test_a_provisioned_board_is_not_deleted_from_the_page(app: Any) -> None:
    services = app.server.extensions["pulseboard"]
    now = datetime.now(timezone.utc)
    with services.db.write() as conn:
        store.provision_board(conn, parse_board({**BOARD, "uid": "file"}), source_file="file.yaml", now=now)
    with app.server.test_request_context("/_dash-update-component", method="POST"):
        g.pulse_user, g.pulse_role = "root", "admin"
        assert "provisioned board not at all" in board_settings.delete(services, "file")
    with services.db.read() as conn:
        assert store.get_board(conn, "file") is not None


@pytest.mark.parametrize(("user", "role"), [("ada", "viewer"), (None, "share"), (None, "key")])
def test_only_an_admin_makes_or_revokes_a_share_link_from_the_page(app: Any, user: str | None, role: str) -> None:
    services = app.server.extensions["pulseboard"]
    with services.db.write() as conn:
        token = store.create_share(conn, "ops", created_by="root", now=datetime.now(timezone.utc))["token"]
    with app.server.test_request_context("/_dash-update-component", method="POST"):
        g.pulse_user, g.pulse_role = user, role
        assert board_settings.create_share(services, "ops") == board_settings.ADMINS_ONLY
        assert board_settings.revoke_share(services, "ops", token) == board_settings.ADMINS_ONLY
        g.pulse_user, g.pulse_role = "root", "admin"
        assert board_settings.create_share(services, "ops") == ""
        links = board_settings.shares(services, "ops")
        assert board_settings.revoke_share(services, "ops", token) == ""
        assert board_settings.revoke_share(services, "ops", token) == "That link was revoked already."
    assert len(links) == 2 and links[0]["url"] == f"/boards/ops?share={token}"
    with services.db.read() as conn:
        assert store.board_for_token(conn, token) is None
