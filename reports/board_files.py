"""Provisioned boards: every ``*.yaml`` file of the boards directories
(``--boards-dir``, and the demo's boards with ``--demo``) becomes a
read-only board at start, created or updated by its uid.

Every file is read and validated before anything is written, so a bad file
stops the start with one line naming the file and the field, and leaves
the stored boards as they were. A provisioned board whose file is gone (or
now holds another uid) is deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from core.boards import Board, InvalidBoard, board_from_yaml
from core.errors import Conflict, SettingsError
from data import boards as store

log = logging.getLogger(__name__)

FLAG = "--boards-dir"


def read_boards(directories: Iterable[Path], *, now: datetime) -> dict[str, Board]:
    """The board of each ``*.yaml`` file of ``directories``, by file path
    (in name order); a :class:`SettingsError` of one line for a directory
    that cannot be read, a bad file, or a uid two files give."""
    found: dict[str, Board] = {}
    owners: dict[str, str] = {}
    for directory in directories:
        if not directory.is_dir():
            raise SettingsError(f"{FLAG}: {directory} is not a directory")
        for path in sorted(directory.glob("*.yaml")):
            name = str(path)
            try:
                board = board_from_yaml(path.read_text(encoding="utf-8"), now=now)
            except OSError as exc:
                raise SettingsError(f"{FLAG}: cannot read {name}: {exc.strerror}") from None
            except UnicodeDecodeError:
                raise SettingsError(f"{FLAG}: {name}: not UTF-8 text") from None
            except InvalidBoard as exc:
                raise SettingsError(f"{FLAG}: {name}: {_one_line(str(exc))}") from None
            if board.uid in owners:
                raise SettingsError(f"{FLAG}: {name}: uid: {board.uid!r} is the uid of {owners[board.uid]} too")
            owners[board.uid] = name
            found[name] = board
    return found


def _one_line(text: str) -> str:
    return " ".join(text.split())


def provision(db: Any, boards: dict[str, Board], *, now: datetime) -> dict[str, int]:
    """Create or update the boards ``read_boards`` read, by file; delete the
    provisioned boards whose file is gone. Counts of what was done."""
    for attempt in range(3):
        try:
            with db.write() as conn:
                return _apply(conn, boards, now)
        except Conflict as exc:
            # Another process of this start may have just made the same board: look again.
            if attempt == 2 or "made in Pulseboard" in str(exc):
                raise SettingsError(f"{FLAG}: {_file_of(boards, exc)}{_one_line(str(exc))}") from None
    raise AssertionError("unreachable")


def _file_of(boards: dict[str, Board], exc: Conflict) -> str:
    for name, board in boards.items():
        if repr(board.uid) in str(exc):
            return f"{name}: uid: "
    return ""


def _apply(conn: Any, boards: dict[str, Board], now: datetime) -> dict[str, int]:
    done = {"created": 0, "updated": 0, "unchanged": 0, "removed": 0}
    for name, board in boards.items():
        done[store.provision_board(conn, board, source_file=name, now=now)] += 1
    wanted = {board.uid for board in boards.values()}
    for uid, source in store.provisioned_files(conn).items():
        if uid not in wanted and (source in boards or not source or not Path(source).exists()):
            store.delete_board(conn, uid)
            done["removed"] += 1
    if done["created"] or done["updated"] or done["removed"]:
        log.info("provisioned boards: %s", done)
    return done
