"""Provisioned boards on SQLite and PostgreSQL: the ``*.yaml`` files of a
directory become read-only boards, updated when a file changes and removed
when it is gone; a bad file stops with one line naming the file and the
field, and writes nothing."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.errors import SettingsError
from data import boards as store
from data.db import Database
from reports import board_files
from tests.factories import board_doc

NOW = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)


def provision(db: Database, directories: list[Path], *, now: datetime) -> dict[str, int]:
    """Read the files, then store their boards, as the start does."""
    return board_files.provision(db, board_files.read_boards(directories, now=now), now=now)


def write(directory: Path, name: str, **fields: Any) -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(board_doc(**fields), sort_keys=False), encoding="utf-8")
    return path


def test_files_become_read_only_boards_and_follow_their_files(db: Database, tmp_path: Path) -> None:
    ops = write(tmp_path, "ops.yaml", board_uid="ops")
    pay = write(tmp_path, "pay.yaml", board_uid="pay", title="Payments")
    (tmp_path / "notes.txt").write_text("not a board")
    assert provision(db, [tmp_path], now=NOW) == {"created": 2, "updated": 0, "unchanged": 0, "removed": 0}
    with db.read() as conn:
        found = store.get_board(conn, "pay")
    assert found is not None and (found.provisioned, found.source_file, found.title) == (True, str(pay), "Payments")
    assert provision(db, [tmp_path], now=NOW) == {"created": 0, "updated": 0, "unchanged": 2, "removed": 0}
    write(tmp_path, "ops.yaml", board_uid="ops", title="Operations")
    pay.unlink()
    assert provision(db, [tmp_path], now=NOW) == {"created": 0, "updated": 1, "unchanged": 0, "removed": 1}
    with db.read() as conn:
        assert store.get_board(conn, "pay") is None
        changed = store.get_board(conn, "ops")
        assert changed is not None and (changed.title, changed.version, changed.source_file) == (
            "Operations",
            2,
            str(ops),
        )


def test_a_file_that_takes_another_uid_replaces_its_old_board(db: Database, tmp_path: Path) -> None:
    write(tmp_path, "ops.yaml", board_uid="ops")
    provision(db, [tmp_path], now=NOW)
    write(tmp_path, "ops.yaml", board_uid="operations")
    assert provision(db, [tmp_path], now=NOW)["removed"] == 1
    with db.read() as conn:
        assert [b.uid for b in store.list_boards(conn)] == ["operations"]


def test_a_bad_file_stops_with_one_line_naming_file_and_field_and_writes_nothing(db: Database, tmp_path: Path) -> None:
    write(tmp_path, "a-good.yaml", board_uid="good")
    doc = board_doc("bad")
    doc["panels"][1]["query"]["metric"] = "median"
    bad = tmp_path / "b-bad.yaml"
    bad.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        provision(db, [tmp_path], now=NOW)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f'--boards-dir: {bad}: panels[1] ("Errors by source").query.metric: must be one of')
    with db.read() as conn:
        assert store.list_boards(conn) == []


@pytest.mark.parametrize(
    ("text", "words"),
    [("uid: x\ntitle: [open\n", "(yaml): not valid YAML at line 3"), ("uid: x\n", "title: Field required")],
    ids=["yaml", "field"],
)
def test_each_kind_of_bad_file_is_one_line(db: Database, tmp_path: Path, text: str, words: str) -> None:
    (tmp_path / "x.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        provision(db, [tmp_path], now=NOW)
    assert "\n" not in str(info.value) and words in str(info.value)


def test_two_files_with_one_uid_and_a_missing_directory_are_refused(db: Database, tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", board_uid="same")
    second = write(tmp_path, "b.yaml", board_uid="same")
    with pytest.raises(SettingsError, match=f"{second}: uid: 'same' is the uid of {first} too"):
        provision(db, [tmp_path], now=NOW)
    with pytest.raises(SettingsError, match="is not a directory"):
        provision(db, [tmp_path / "nope"], now=NOW)


def test_a_file_cannot_take_over_a_board_made_in_pulseboard(db: Database, tmp_path: Path) -> None:
    from core.boards import parse_board

    with db.write() as conn:
        store.create_board(conn, parse_board(board_doc("mine")), owner="ana", now=NOW)
    path = write(tmp_path, "mine.yaml", board_uid="mine")
    with pytest.raises(SettingsError, match=f"{path}: uid: a board with the uid 'mine' was made in Pulseboard"):
        provision(db, [tmp_path], now=NOW)
    with db.read() as conn:
        mine = store.get_board(conn, "mine")
    assert mine is not None and mine.provisioned is False
