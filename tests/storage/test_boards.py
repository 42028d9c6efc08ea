"""Boards' storage on SQLite and PostgreSQL: create, list and filter,
optimistic updates with a version row per save, restore, duplicate, stars,
share links and annotations."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from core.boards import parse_board
from core.errors import Conflict, InvalidInput, NotFound
from data import boards as store
from data.db import Database
from data.models import ANNOTATIONS, BOARD_SHARES, BOARD_STARS, BOARD_VERSIONS
from tests.factories import board_doc

NOW = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)


def make(db: Database, board_uid: str = "ops", owner: str | None = "ana", **fields: object) -> store.StoredBoard:
    with db.write() as conn:
        return store.create_board(conn, parse_board(board_doc(board_uid, **fields)), owner=owner, now=NOW)


def test_a_created_board_reads_back_whole_at_version_1(db: Database) -> None:
    made = make(db)
    with db.read() as conn:
        found = store.get_board(conn, "ops")
        versions = store.list_versions(conn, "ops")
    assert found == made
    assert (found.version, found.owner, found.tags, found.provisioned) == (1, "ana", ["devices", "ops"], False)
    assert found.created_at == NOW and found.board.panels[1].title == "Errors by source"
    assert [(v["version"], v["author"], v["title"]) for v in versions] == [(1, "ana", "Device monitor")]


def test_a_taken_uid_is_a_conflict_and_writes_nothing(db: Database) -> None:
    make(db)
    with pytest.raises(Conflict, match="uid 'ops' exists"):
        make(db, title="Other")
    with db.read() as conn:
        assert len(store.list_boards(conn)) == 1
        assert conn.execute(select(func.count()).select_from(BOARD_VERSIONS)).scalar() == 1


def test_list_filters_by_tag_search_and_star(db: Database) -> None:
    make(db, "ops", title="Device monitor", tags=["devices"])
    make(db, "pay", title="Revenue", tags=["money"], description="Payments per hour")
    make(db, "tools", title="Tool usage", tags=["devices", "licenses"])
    with db.write() as conn:
        store.star(conn, "pay", "ana")
        store.star(conn, "pay", "ana")  # twice: still one star
        store.star(conn, "tools", "bob")
    with db.read() as conn:
        assert [b.uid for b in store.list_boards(conn)] == ["ops", "pay", "tools"]
        assert [b.uid for b in store.list_boards(conn, tag="devices")] == ["ops", "tools"]
        assert [b.uid for b in store.list_boards(conn, search="PAYMENTS")] == ["pay"]
        assert [b.uid for b in store.list_boards(conn, search="usage")] == ["tools"]
        assert [b.uid for b in store.list_boards(conn, starred_by="ana")] == ["pay"]
        assert [b.uid for b in store.list_boards(conn, starred_by="ana", tag="devices")] == []
        assert store.starred_ids(conn, "bob") == {store.get_board(conn, "tools").id}  # type: ignore[union-attr]
        assert conn.execute(select(func.count()).select_from(BOARD_STARS)).scalar() == 2
    with db.write() as conn:
        store.unstar(conn, "pay", "ana")
    with db.read() as conn:
        assert store.list_boards(conn, starred_by="ana") == []


def test_an_update_bumps_the_version_and_keeps_every_version(db: Database) -> None:
    make(db)
    changed = parse_board(board_doc("ops", title="Scanners", tags=["x"]))
    with db.write() as conn:
        saved = store.update_board(conn, "ops", changed, expected_version=1, author="bob", now=NOW + timedelta(1))
    assert (saved.version, saved.title, saved.tags, saved.owner) == (2, "Scanners", ["x"], "ana")
    with db.read() as conn:
        found = store.get_board(conn, "ops")
        assert found is not None and found.board == changed and found.updated_at == NOW + timedelta(1)
        assert [(v["version"], v["author"]) for v in store.list_versions(conn, "ops")] == [(2, "bob"), (1, "ana")]
        assert store.get_version(conn, "ops", 1).title == "Device monitor"


def test_a_stale_update_is_a_conflict_and_changes_nothing(db: Database) -> None:
    make(db)
    with db.write() as conn:
        store.update_board(
            conn, "ops", parse_board(board_doc("ops", title="A")), expected_version=1, author=None, now=NOW
        )
    with pytest.raises(Conflict) as info, db.write() as conn:
        store.update_board(
            conn, "ops", parse_board(board_doc("ops", title="B")), expected_version=1, author=None, now=NOW
        )
    assert info.value.errors == [{"field": "version", "message": "stale: the board is at version 2"}]
    with db.read() as conn:
        found = store.get_board(conn, "ops")
        assert found is not None and (found.title, found.version) == ("A", 2)
        assert len(store.list_versions(conn, "ops")) == 2


def test_an_update_cannot_change_the_uid(db: Database) -> None:
    make(db)
    with pytest.raises(InvalidInput) as info, db.write() as conn:
        store.update_board(conn, "ops", parse_board(board_doc("other")), expected_version=1, author=None, now=NOW)
    assert info.value.field == "uid"


def test_restore_makes_a_new_version_with_the_old_document(db: Database) -> None:
    first = make(db).board
    with db.write() as conn:
        store.update_board(
            conn, "ops", parse_board(board_doc("ops", title="B")), expected_version=1, author="bob", now=NOW
        )
        restored = store.restore_version(conn, "ops", 1, author="cy", now=NOW)
    assert (restored.version, restored.title, restored.board) == (3, "Device monitor", first)
    with db.read() as conn:
        assert [(v["version"], v["author"], v["title"]) for v in store.list_versions(conn, "ops")][0] == (
            3,
            "cy",
            "Device monitor",
        )
    with pytest.raises(NotFound, match="no version 9"), db.write() as conn:
        store.restore_version(conn, "ops", 9, author=None, now=NOW)


def test_duplicate_copies_the_document_under_a_new_uid(db: Database) -> None:
    original = make(db)
    with db.write() as conn:
        dup = store.duplicate_board(conn, "ops", new_uid="ops-copy", new_title="Copy", owner="bob", now=NOW)
    assert (dup.uid, dup.title, dup.owner, dup.version) == ("ops-copy", "Copy", "bob", 1)
    assert dup.board.panels == original.board.panels
    with pytest.raises(Conflict), db.write() as conn:
        store.duplicate_board(conn, "ops", new_uid="ops-copy", new_title="Again", owner=None, now=NOW)
    with pytest.raises(NotFound), db.write() as conn:
        store.duplicate_board(conn, "nope", new_uid="x", new_title="X", owner=None, now=NOW)


def test_delete_removes_the_board_and_everything_of_it(db: Database) -> None:
    make(db)
    make(db, "keep")
    with db.write() as conn:
        store.star(conn, "ops", "ana")
        store.create_share(conn, "ops", created_by="ana", now=NOW)
        store.add_annotation(conn, uid="ops", ts=NOW, ts_end=None, text="x", tags=[], author=None, now=NOW)
        assert store.delete_board(conn, "ops") is True
        assert store.delete_board(conn, "ops") is False
    with db.read() as conn:
        assert store.get_board(conn, "ops") is None and store.get_board(conn, "keep") is not None
        for table in (BOARD_STARS, BOARD_SHARES, ANNOTATIONS):
            assert conn.execute(select(func.count()).select_from(table)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(BOARD_VERSIONS)).scalar() == 1


def test_a_share_token_shows_the_board_until_revoked(db: Database) -> None:
    made = make(db)
    with db.write() as conn:
        share = store.create_share(conn, "ops", created_by="ana", now=NOW)
        other = store.create_share(conn, "ops", created_by="ana", now=NOW)
    assert len(share["token"]) >= 32 and share["token"] != other["token"]
    with db.read() as conn:
        found = store.board_for_token(conn, share["token"])
        assert found is not None and found.uid == "ops" and found.board == made.board
        assert store.board_for_token(conn, "not-a-token") is None
    with db.write() as conn:
        assert store.revoke_share(conn, "ops", share["token"], now=NOW) is True
        assert store.revoke_share(conn, "ops", share["token"], now=NOW) is False
    with db.read() as conn:
        assert store.board_for_token(conn, share["token"]) is None
        assert store.board_for_token(conn, other["token"]) is not None
        listed = store.list_shares(conn, "ops")
    assert [(s["token"], s["revoked_at"]) for s in listed] == [(share["token"], NOW), (other["token"], None)]


def test_annotations_of_a_board_include_those_of_every_board_in_the_range(db: Database) -> None:
    make(db)
    make(db, "pay")
    hour = timedelta(hours=1)
    with db.write() as conn:
        a = store.add_annotation(
            conn, uid="ops", ts=NOW, ts_end=None, text="deploy", tags=["ci"], author="ana", now=NOW
        )
        store.add_annotation(conn, uid="pay", ts=NOW, ts_end=None, text="other board", tags=[], author=None, now=NOW)
        g = store.add_annotation(
            conn, uid=None, ts=NOW - 3 * hour, ts_end=NOW - hour, text="outage", tags=[], author=None, now=NOW
        )
        store.add_annotation(
            conn, uid="ops", ts=NOW - 5 * hour, ts_end=None, text="too early", tags=[], author=None, now=NOW
        )
    with db.read() as conn:
        found = store.list_annotations(conn, "ops", since=NOW - 2 * hour, until=NOW + hour)
    assert [(n["id"], n["text"], n["board"]) for n in found] == [(g["id"], "outage", None), (a["id"], "deploy", "ops")]
    assert found[1]["tags"] == ["ci"] and found[1]["ts"] == NOW and found[0]["ts_end"] == NOW - hour
    with db.write() as conn:
        assert store.delete_annotation(conn, a["id"]) is True
        assert store.delete_annotation(conn, a["id"]) is False
    with db.read() as conn:
        assert [n["text"] for n in store.list_annotations(conn, "ops", since=NOW - 2 * hour, until=NOW + hour)] == [
            "outage"
        ]
        assert store.get_annotation(conn, g["id"])["board"] is None  # type: ignore[index]
    with pytest.raises(NotFound), db.write() as conn:
        store.add_annotation(conn, uid="nope", ts=NOW, ts_end=None, text="x", tags=[], author=None, now=NOW)


def test_provisioning_creates_then_updates_only_on_change(db: Database) -> None:
    board = parse_board(board_doc("prov"))
    with db.write() as conn:
        assert store.provision_board(conn, board, source_file="a.yaml", now=NOW) == "created"
        assert store.provision_board(conn, board, source_file="a.yaml", now=NOW) == "unchanged"
        changed = parse_board(board_doc("prov", title="New"))
        assert store.provision_board(conn, changed, source_file="a.yaml", now=NOW) == "updated"
    with db.read() as conn:
        found = store.get_board(conn, "prov")
    assert found is not None and (found.provisioned, found.source_file, found.version, found.title) == (
        True,
        "a.yaml",
        2,
        "New",
    )
    make(db, "mine")
    with pytest.raises(Conflict, match="made in Pulseboard"), db.write() as conn:
        store.provision_board(conn, parse_board(board_doc("mine")), source_file="b.yaml", now=NOW)


def test_a_free_uid_is_the_base_or_the_first_numbered_one_not_taken(db: Database) -> None:
    make(db, "ops")
    make(db, "ops-2")
    with db.read() as conn:
        assert store.free_uid(conn, "fresh") == "fresh"
        assert store.free_uid(conn, "ops") == "ops-3"
        assert store.free_uid(conn, "ops", tries=2) is None


def test_an_admin_or_the_signed_in_owner_may_change_a_board(db: Database) -> None:
    board = make(db, "mine", owner="ana")
    assert board.changeable_by("admin", None) and board.changeable_by("viewer", "ana")
    assert not board.changeable_by("viewer", "bob") and not board.changeable_by("key", "ana")
    assert not make(db, "nobodys", owner=None).changeable_by("viewer", None)
