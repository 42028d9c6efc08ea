"""Dashboard users: names, password hashes (made in ``auth.passwords``), roles,
and the session generation: every session cookie carries the generation it was
made in, and a change that must end a user's sessions (sign-out, disable, a
new role or password) bumps it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from data.models import USERS

ROLES = ("viewer", "admin")


class UserExists(ValueError):
    pass


def add_user(conn: Connection, *, username: str, password_hash: str, role: str, now: datetime) -> dict[str, Any]:
    """Store a new user; raises :class:`UserExists` when the name is taken."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if get_user(conn, username) is not None:
        raise UserExists(f"user {username!r} already exists")
    row = {
        "username": username,
        "password_hash": password_hash,
        "role": role,
        "disabled": False,
        "created_at": now,
        "session_gen": 0,
    }
    try:
        result = conn.execute(insert(USERS), row)
    except IntegrityError:  # another writer took the name in between
        raise UserExists(f"user {username!r} already exists") from None
    return {"id": result.inserted_primary_key[0], **row} if result.inserted_primary_key else row


def get_user(conn: Connection, username: str) -> dict[str, Any] | None:
    found = conn.execute(select(USERS).where(USERS.c.username == username)).mappings().first()
    return dict(found) if found is not None else None


def get_user_by_id(conn: Connection, user_id: int) -> dict[str, Any] | None:
    found = conn.execute(select(USERS).where(USERS.c.id == user_id)).mappings().first()
    return dict(found) if found is not None else None


def list_users(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(USERS).order_by(USERS.c.username)).mappings()]


def count_users(conn: Connection) -> int:
    """Users who may sign in (not disabled)."""
    return int(conn.execute(select(func.count()).select_from(USERS).where(USERS.c.disabled.is_(False))).scalar_one())


def remove_user(conn: Connection, username: str) -> bool:
    return conn.execute(delete(USERS).where(USERS.c.username == username)).rowcount > 0


def _change(conn: Connection, username: str, **values: Any) -> bool:
    """Update a user and end their sessions; False when there is no such user."""
    bumped = {**values, "session_gen": USERS.c.session_gen + 1}
    return conn.execute(update(USERS).where(USERS.c.username == username).values(**bumped)).rowcount > 0


def set_password(conn: Connection, username: str, password_hash: str) -> bool:
    return _change(conn, username, password_hash=password_hash)


def set_disabled(conn: Connection, username: str, disabled: bool) -> bool:
    return _change(conn, username, disabled=disabled)


def set_role(conn: Connection, username: str, role: str) -> bool:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return _change(conn, username, role=role)


def end_sessions(conn: Connection, user_id: int) -> bool:
    """Bump the user's session generation: every session cookie made so far stops working."""
    bump = update(USERS).where(USERS.c.id == user_id).values(session_gen=USERS.c.session_gen + 1)
    return conn.execute(bump).rowcount > 0
