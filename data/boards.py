"""Boards' storage: the ``boards`` table and its versions, stars, share
links and annotations.

Every function takes a Core connection (``with db.write() as conn:`` or
``db.read()``) as its first argument. A board's document is kept whole as
JSON text in ``boards.body``; each save writes the new state to
``board_versions`` too, so any version can be listed and restored.
Updates are optimistic: the caller names the version it edited, and a
board saved by someone else since is a :class:`core.errors.Conflict`.
"""

from __future__ import annotations

import dataclasses
import secrets
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from core.boards import Board, board_to_dict, with_identity
from core.errors import Conflict, InvalidInput, NotFound
from data.models import ANNOTATIONS, BOARD_SHARES, BOARD_STARS, BOARD_VERSIONS, BOARDS

B = BOARDS


@dataclasses.dataclass(frozen=True)
class StoredBoard:
    """A board as stored: its document and what the table keeps beside it."""

    id: int
    uid: str
    title: str
    owner: str | None
    tags: list[str]
    version: int
    provisioned: bool
    source_file: str | None
    created_at: datetime
    updated_at: datetime
    board: Board

    def changeable_by(self, role: str, user: str | None) -> bool:
        """Whether a request of ``role`` by ``user`` may change the board (or
        annotate it): an admin, or its owner signed in (provisioned boards are
        refused on top of this where the document itself would change)."""
        return role == "admin" or (role == "viewer" and self.owner is not None and self.owner == user)

    def summary(self) -> dict[str, Any]:
        """The fields a list of boards shows (no panels)."""
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.board.description,
            "tags": self.tags,
            "owner": self.owner,
            "version": self.version,
            "provisioned": self.provisioned,
            "panels": len(self.board.panels),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _body(board: Board) -> str:
    return orjson.dumps(board_to_dict(board)).decode()


def _board(body: str) -> Board:
    return Board.model_validate(orjson.loads(body))


def _stored(row: Any) -> StoredBoard:
    return StoredBoard(
        id=row["id"],
        uid=row["uid"],
        title=row["title"],
        owner=row["owner"],
        tags=list(row["tags"] or []),
        version=row["version"],
        provisioned=bool(row["provisioned"]),
        source_file=row["source_file"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        board=_board(row["body"]),
    )


def _require(conn: Connection, uid: str) -> StoredBoard:
    found = get_board(conn, uid)
    if found is None:
        raise NotFound(f"no board {uid!r}")
    return found


def _add_version(conn: Connection, board_id: int, version: int, body: str, author: str | None, now: datetime) -> None:
    conn.execute(
        insert(BOARD_VERSIONS).values(board_id=board_id, version=version, body=body, author=author, created_at=now)
    )


# ------------------------------------------------------------------- boards


def create_board(
    conn: Connection,
    board: Board,
    *,
    owner: str | None,
    now: datetime,
    provisioned: bool = False,
    source_file: str | None = None,
) -> StoredBoard:
    """Store a new board at version 1; a :class:`Conflict` when its uid is taken."""
    if conn.execute(select(B.c.id).where(B.c.uid == board.uid)).first() is not None:
        raise Conflict(f"a board with the uid {board.uid!r} exists", [{"field": "uid", "message": "already taken"}])
    body = _body(board)
    values = {
        "uid": board.uid,
        "title": board.title,
        "owner": owner,
        "tags": list(board.tags),
        "body": body,
        "version": 1,
        "provisioned": provisioned,
        "source_file": source_file,
        "created_at": now,
        "updated_at": now,
    }
    try:
        board_id = int(conn.execute(insert(B).values(**values).returning(B.c.id)).scalar_one())
    except IntegrityError:  # another writer took the uid in between
        raise Conflict(
            f"a board with the uid {board.uid!r} exists", [{"field": "uid", "message": "already taken"}]
        ) from None
    _add_version(conn, board_id, 1, body, owner, now)
    return StoredBoard(
        id=board_id,
        uid=board.uid,
        title=board.title,
        owner=owner,
        tags=list(board.tags),
        version=1,
        provisioned=provisioned,
        source_file=source_file,
        created_at=now,
        updated_at=now,
        board=board,
    )


def get_board(conn: Connection, uid: str) -> StoredBoard | None:
    row = conn.execute(select(B).where(B.c.uid == uid)).mappings().first()
    return _stored(row) if row is not None else None


def free_uid(conn: Connection, base: str, *, tries: int = 100) -> str | None:
    """``base`` (at most 90 characters), or ``base-2``, ``base-3``... : the
    first uid no board has; None after ``tries``."""
    base = base[:90]
    for n in range(1, tries + 1):
        candidate = base if n == 1 else f"{base}-{n}"
        if get_board(conn, candidate) is None:
            return candidate
    return None


def list_boards(
    conn: Connection, *, tag: str | None = None, search: str | None = None, starred_by: str | None = None
) -> list[StoredBoard]:
    """Boards by title: those with ``tag``, those whose uid, title or
    description holds ``search`` (any case), those ``starred_by`` a user."""
    stmt = select(B).order_by(func.lower(B.c.title), B.c.uid)
    if starred_by is not None:
        starred = select(BOARD_STARS.c.board_id).where(BOARD_STARS.c.username == starred_by)
        stmt = stmt.where(B.c.id.in_(starred))
    boards = [_stored(row) for row in conn.execute(stmt).mappings()]
    # Boards are few and made by people, their tags a JSON list: filtered here, alike on every database.
    needle = (search or "").lower()
    return [
        b
        for b in boards
        if (tag is None or tag in b.tags)
        and (not needle or any(needle in text.lower() for text in (b.uid, b.title, b.board.description)))
    ]


def update_board(
    conn: Connection, uid: str, board: Board, *, expected_version: int, author: str | None, now: datetime
) -> StoredBoard:
    """Save a new state of the board, as version ``expected_version + 1``;
    a :class:`Conflict` when the stored board is no longer at ``expected_version``."""
    current = _require(conn, uid)
    if board.uid != uid:
        raise InvalidInput("uid", f"a board's uid cannot change (it is {uid!r}); duplicate the board instead")
    body = _body(board)
    stmt = (
        update(B)
        .where(B.c.id == current.id, B.c.version == expected_version)
        .values(title=board.title, tags=list(board.tags), body=body, version=expected_version + 1, updated_at=now)
    )
    if conn.execute(stmt).rowcount != 1:
        now_at = conn.execute(select(B.c.version).where(B.c.id == current.id)).scalar()
        current = dataclasses.replace(current, version=int(now_at or current.version))
        raise Conflict(
            f"board {uid!r} was saved since version {expected_version} (it is at version {current.version}); "
            "reload it and apply the change again",
            [{"field": "version", "message": f"stale: the board is at version {current.version}"}],
        )
    _add_version(conn, current.id, expected_version + 1, body, author, now)
    return dataclasses.replace(
        current, title=board.title, tags=list(board.tags), version=expected_version + 1, updated_at=now, board=board
    )


def delete_board(conn: Connection, uid: str) -> bool:
    """Delete a board with its versions, stars, shares and annotations."""
    found = conn.execute(select(B.c.id).where(B.c.uid == uid)).scalar()
    if found is None:
        return False
    # Explicit, not ON DELETE CASCADE only: SQLite enforces it only with foreign_keys on.
    for table in (BOARD_VERSIONS, BOARD_STARS, BOARD_SHARES, ANNOTATIONS):
        conn.execute(delete(table).where(table.c.board_id == found))
    return conn.execute(delete(B).where(B.c.id == found)).rowcount == 1


def list_versions(conn: Connection, uid: str) -> list[dict[str, Any]]:
    """``[{"version", "author", "created_at", "title"}]``, newest first."""
    current = _require(conn, uid)
    V = BOARD_VERSIONS
    stmt = select(V.c.version, V.c.author, V.c.created_at, V.c.body).where(V.c.board_id == current.id)
    out = []
    for row in conn.execute(stmt.order_by(V.c.version.desc())).mappings():
        title = orjson.loads(row["body"]).get("title")
        out.append(
            {"version": row["version"], "author": row["author"], "created_at": row["created_at"], "title": title}
        )
    return out


def get_version(conn: Connection, uid: str, version: int) -> Board:
    """The board as it was at ``version``; :class:`NotFound` when there is no such version."""
    current = _require(conn, uid)
    V = BOARD_VERSIONS
    body = conn.execute(select(V.c.body).where(V.c.board_id == current.id, V.c.version == version)).scalar()
    if body is None:
        raise NotFound(f"board {uid!r} has no version {version}")
    return _board(body)


def restore_version(conn: Connection, uid: str, version: int, *, author: str | None, now: datetime) -> StoredBoard:
    """A new version whose document is that of ``version``."""
    current = _require(conn, uid)
    old = get_version(conn, uid, version)
    return update_board(conn, uid, old, expected_version=current.version, author=author, now=now)


def duplicate_board(
    conn: Connection, uid: str, *, new_uid: str, new_title: str, owner: str | None, now: datetime
) -> StoredBoard:
    """A new board (version 1, never provisioned) with the document of ``uid`` under another uid and title."""
    current = _require(conn, uid)
    return create_board(conn, with_identity(current.board, uid=new_uid, title=new_title), owner=owner, now=now)


def provision_board(conn: Connection, board: Board, *, source_file: str, now: datetime) -> str:
    """Create or update the board of a file of the boards directory, marked
    provisioned (read-only through the API). Answers "created", "updated" or
    "unchanged"; a board of that uid made through the API is a :class:`Conflict`."""
    current = get_board(conn, board.uid)
    if current is None:
        create_board(conn, board, owner=None, now=now, provisioned=True, source_file=source_file)
        return "created"
    if not current.provisioned:
        raise Conflict(f"a board with the uid {board.uid!r} was made in Pulseboard; give the file another uid")
    if current.board == board and current.source_file == source_file:
        return "unchanged"
    update_board(conn, board.uid, board, expected_version=current.version, author=None, now=now)
    conn.execute(update(B).where(B.c.id == current.id).values(source_file=source_file))
    return "updated"


def provisioned_files(conn: Connection) -> dict[str, str | None]:
    """The provisioned boards: the file of each, by uid."""
    stmt = select(B.c.uid, B.c.source_file).where(B.c.provisioned.is_(True))
    return {row.uid: row.source_file for row in conn.execute(stmt)}


# -------------------------------------------------------------------- stars


def star(conn: Connection, uid: str, username: str) -> None:
    board_id = _require(conn, uid).id
    S = BOARD_STARS
    if conn.execute(select(S).where(S.c.username == username, S.c.board_id == board_id)).first() is None:
        conn.execute(insert(S).values(username=username, board_id=board_id))


def unstar(conn: Connection, uid: str, username: str) -> None:
    board_id = _require(conn, uid).id
    conn.execute(delete(BOARD_STARS).where(BOARD_STARS.c.username == username, BOARD_STARS.c.board_id == board_id))


def starred_ids(conn: Connection, username: str) -> set[int]:
    """Ids of the boards a user starred."""
    S = BOARD_STARS
    return set(conn.execute(select(S.c.board_id).where(S.c.username == username)).scalars())


# ------------------------------------------------------------------- shares


def create_share(conn: Connection, uid: str, *, created_by: str | None, now: datetime) -> dict[str, Any]:
    """A new read-only link to the board: ``{"token", "uid", "created_by", "created_at"}``."""
    board_id = _require(conn, uid).id
    token = secrets.token_urlsafe(24)
    conn.execute(insert(BOARD_SHARES).values(token=token, board_id=board_id, created_by=created_by, created_at=now))
    return {"token": token, "uid": uid, "created_by": created_by, "created_at": now, "revoked_at": None}


def list_shares(conn: Connection, uid: str) -> list[dict[str, Any]]:
    board_id = _require(conn, uid).id
    S = BOARD_SHARES
    stmt = select(S.c.token, S.c.created_by, S.c.created_at, S.c.revoked_at).where(S.c.board_id == board_id)
    return [dict(r) for r in conn.execute(stmt.order_by(S.c.id)).mappings()]


def revoke_share(conn: Connection, uid: str, token: str, *, now: datetime) -> bool:
    """End a link; False when the board has no such link or it was revoked already."""
    board_id = _require(conn, uid).id
    S = BOARD_SHARES
    stmt = (
        update(S).where(S.c.board_id == board_id, S.c.token == token, S.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return conn.execute(stmt).rowcount == 1


def board_for_token(conn: Connection, token: str) -> StoredBoard | None:
    """The board a share link shows, or None (no such link, or revoked)."""
    S = BOARD_SHARES
    stmt = select(B).join(S, S.c.board_id == B.c.id).where(S.c.token == token, S.c.revoked_at.is_(None))
    row = conn.execute(stmt).mappings().first()
    return _stored(row) if row is not None else None


# -------------------------------------------------------------- annotations


def add_annotation(
    conn: Connection,
    *,
    uid: str | None,
    ts: datetime,
    ts_end: datetime | None,
    text: str,
    tags: list[str],
    author: str | None,
    now: datetime,
) -> dict[str, Any]:
    """A note on the board ``uid`` (None: on every board)."""
    board_id = _require(conn, uid).id if uid is not None else None
    values = {
        "board_id": board_id,
        "ts": ts,
        "ts_end": ts_end,
        "text": text,
        "tags": list(tags),
        "author": author,
        "created_at": now,
    }
    new_id = int(conn.execute(insert(ANNOTATIONS).values(**values).returning(ANNOTATIONS.c.id)).scalar_one())
    return {"id": new_id, "board": uid, **{k: v for k, v in values.items() if k != "board_id"}}


def list_annotations(conn: Connection, uid: str | None, *, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Notes of the board ``uid`` and of every board that touch ``[since, until]``, oldest first."""
    A = ANNOTATIONS
    board_id = _require(conn, uid).id if uid is not None else None
    overlaps = and_(A.c.ts <= until, or_(A.c.ts >= since, A.c.ts_end >= since))
    mine = A.c.board_id.is_(None) if board_id is None else or_(A.c.board_id == board_id, A.c.board_id.is_(None))
    stmt = (
        select(A, B.c.uid.label("board"))
        .outerjoin(B, B.c.id == A.c.board_id)
        .where(overlaps, mine)
        .order_by(A.c.ts, A.c.id)
    )
    out = []
    for row in conn.execute(stmt).mappings():
        item = dict(row)
        item.pop("board_id", None)
        item["tags"] = list(item["tags"] or [])
        out.append(item)
    return out


def get_annotation(conn: Connection, annotation_id: int) -> dict[str, Any] | None:
    A = ANNOTATIONS
    stmt = select(A, B.c.uid.label("board")).outerjoin(B, B.c.id == A.c.board_id).where(A.c.id == annotation_id)
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def delete_annotation(conn: Connection, annotation_id: int) -> bool:
    return conn.execute(delete(ANNOTATIONS).where(ANNOTATIONS.c.id == annotation_id)).rowcount == 1
