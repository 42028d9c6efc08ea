"""Online SQLite backups: the SQLite backup API copies a consistent snapshot
while the server keeps writing; each copy is checked with
``PRAGMA integrity_check`` and old ones are rotated away. Restoring checks the
file first and keeps the replaced database beside it.

On PostgreSQL use ``pg_dump`` instead (see docs/operations.md).
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

BACKUP_GLOB = "pulseboard-*.db"


class BackupError(RuntimeError):
    """The message says what went wrong and what to do."""


def integrity(path: Path) -> str:
    """``"ok"`` or SQLite's first complaint about the file."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)


def backup(database: Path, directory: Path, *, keep: int = 7, now: datetime) -> Path:
    """Copy ``database`` into ``directory`` as ``pulseboard-YYYYmmdd-HHMMSS.db``,
    verify the copy, and keep only the newest ``keep`` backups."""
    if not database.exists():
        raise BackupError(f"no database at {database}")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"pulseboard-{now:%Y%m%d-%H%M%S}.db"
    partial = target.with_suffix(".partial")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    dest = sqlite3.connect(partial)
    try:
        source.backup(dest, pages=4096)  # in steps: writers are not held up for the whole copy
        dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dest.close()
        source.close()
    verdict = integrity(partial)
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the backup failed its integrity check ({verdict}); the database itself may be damaged")
    partial.rename(target)
    for old in sorted(directory.glob(BACKUP_GLOB))[:-keep]:
        old.unlink()
    return target


def restore(backup_file: Path, database: Path, *, now: datetime) -> Path | None:
    """Replace ``database`` with ``backup_file`` (the server must be stopped).
    The replaced file is kept as ``<name>.replaced-<time>``; returns its path."""
    if not backup_file.exists():
        raise BackupError(f"no backup at {backup_file}")
    verdict = integrity(backup_file)
    if verdict != "ok":
        raise BackupError(f"{backup_file} failed its integrity check ({verdict}); pick another backup")
    kept = None
    if database.exists():
        kept = database.with_name(f"{database.name}.replaced-{now:%Y%m%d-%H%M%S}")
        database.rename(kept)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup_file, database)
    return kept
