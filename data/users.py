"""Dashboard users: names, password hashes (made in ``auth.passwords``), roles."""

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
    row = {"username": username, "password_hash": password_hash, "role": role, "disabled": False, "created_at": now}
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


def set_password(conn: Connection, username: str, password_hash: str) -> bool:
    return (
        conn.execute(update(USERS).where(USERS.c.username == username).values(password_hash=password_hash)).rowcount > 0
    )


def set_disabled(conn: Connection, username: str, disabled: bool) -> bool:
    return conn.execute(update(USERS).where(USERS.c.username == username).values(disabled=disabled)).rowcount > 0
