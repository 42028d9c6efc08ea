"""Alert storage: rules, alert instances, notifications sent and silences,
plus the one event read the alert metrics need beyond ``data.queries``
(the newest gauge value per group).

Rows come back as plain dicts with timezone-aware datetimes.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, text, update
from sqlalchemy.engine import make_url

from data.models import ALERT_NOTIFICATIONS, ALERT_RULES, ALERTS, EVENTS, ROLLUPS_HOURLY, SILENCES, to_micros
from data.queries import Filters, _where

OPEN_STATES = ("pending", "firing")
_LOCK_KEY = 0x50756C7365  # "Pulse": the advisory lock id of alert evaluation
_SETUP_KEY = 0x50756C7367  # the advisory lock id of installing rules at start


def lock_rule_setup(conn: Connection) -> None:
    """Serialise installing rules at start within this transaction: of the
    processes starting together on one PostgreSQL database, one installs the
    default rules and the others then find them (SQLite's write lock does that already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SETUP_KEY})


def _retry(attempt: Callable[[], bool], wait: float) -> bool:
    """``attempt()`` until it succeeds or ``wait`` seconds have passed."""
    deadline = time.monotonic() + wait
    while not attempt():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


@contextlib.contextmanager
def evaluation_lock(db: Any, wait: float = 0.0) -> Iterator[bool]:
    """Whether this process may evaluate now: one evaluation at a time across
    every process on the database (gunicorn workers, several hosts), so each
    reads the state the previous one wrote. PostgreSQL: a session advisory
    lock; SQLite: an exclusive ``flock`` on a file beside the database.
    Yields False when another process still holds it after ``wait`` seconds."""
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:

            def take() -> bool:
                held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOCK_KEY}).scalar())
                conn.commit()
                return held

            got = _retry(take, wait)
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                    conn.commit()
        return
    path = make_url(db.url).database
    if not path or path == ":memory:":
        yield True
        return
    import fcntl

    try:
        fd = os.open(path + ".alerts-lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # e.g. a read-only directory: one process is the norm there
        yield True
        return

    def take_file() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    try:
        if not _retry(take_file, wait):
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# ------------------------------------------------------------------ rules


def list_rules(conn: Connection, *, enabled_only: bool = False) -> list[dict[str, Any]]:
    stmt = select(ALERT_RULES).order_by(ALERT_RULES.c.name)
    if enabled_only:
        stmt = stmt.where(ALERT_RULES.c.enabled.is_(True))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def get_rule(conn: Connection, rule_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(ALERT_RULES).where(ALERT_RULES.c.id == rule_id)).mappings().first()
    return dict(row) if row else None


def get_rule_by_name(conn: Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute(select(ALERT_RULES).where(ALERT_RULES.c.name == name)).mappings().first()
    return dict(row) if row else None


def count_rules(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(ALERT_RULES)).scalar() or 0)


def insert_rule(conn: Connection, *, name: str, enabled: bool, origin: str, spec: dict[str, Any], now: datetime) -> int:
    values = {"name": name, "enabled": enabled, "origin": origin, "spec": spec, "created_at": now, "updated_at": now}
    return int(conn.execute(insert(ALERT_RULES).values(**values).returning(ALERT_RULES.c.id)).scalar_one())


def update_rule(conn: Connection, rule_id: int, *, now: datetime, **values: Any) -> bool:
    stmt = update(ALERT_RULES).where(ALERT_RULES.c.id == rule_id).values(updated_at=now, **values)
    return bool(conn.execute(stmt).rowcount)


def delete_rule(conn: Connection, rule_id: int) -> bool:
    # Alerts and their notifications go with the rule (explicitly: SQLite needs
    # foreign_keys=ON for ON DELETE CASCADE, and not every connection has it).
    alert_ids = select(ALERTS.c.id).where(ALERTS.c.rule_id == rule_id)
    conn.execute(delete(ALERT_NOTIFICATIONS).where(ALERT_NOTIFICATIONS.c.alert_id.in_(alert_ids)))
    conn.execute(delete(ALERTS).where(ALERTS.c.rule_id == rule_id))
    return bool(conn.execute(delete(ALERT_RULES).where(ALERT_RULES.c.id == rule_id)).rowcount)


# ----------------------------------------------------------------- alerts


def _alert_select() -> Any:
    return select(ALERTS, ALERT_RULES.c.name.label("rule")).join(ALERT_RULES, ALERT_RULES.c.id == ALERTS.c.rule_id)


def latest_instances(conn: Connection, rule_ids: list[int], *, resolved_since: datetime) -> list[dict[str, Any]]:
    """Per fingerprint of these rules, its newest instance if it is open
    (pending, firing) or resolved at or after ``resolved_since`` (the dedup
    window: such an instance reopens instead of starting anew)."""
    if not rule_ids:
        return []
    a = ALERTS
    recent = or_(
        a.c.state.in_(OPEN_STATES), and_(a.c.state == "resolved", a.c.resolved_at >= to_micros(resolved_since))
    )
    stmt = _alert_select().where(a.c.rule_id.in_(rule_ids), recent).order_by(a.c.fingerprint, a.c.id)
    newest: dict[str, dict[str, Any]] = {}
    for row in conn.execute(stmt).mappings():
        newest[row["fingerprint"]] = dict(row)  # ordered by id: the last one wins
    return list(newest.values())


def insert_alert(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(ALERTS).values(**values).returning(ALERTS.c.id)).scalar_one())


def update_alert(conn: Connection, alert_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(ALERTS).where(ALERTS.c.id == alert_id).values(**values))


def close_open_alerts(conn: Connection, rule_id: int, *, now: datetime) -> int:
    """Resolve a rule's pending and firing alerts (the rule was disabled)."""
    stmt = update(ALERTS).where(ALERTS.c.rule_id == rule_id, ALERTS.c.state.in_(OPEN_STATES))
    return int(conn.execute(stmt.values(state="resolved", resolved_at=now)).rowcount or 0)


def get_alert(conn: Connection, alert_id: int) -> dict[str, Any] | None:
    row = conn.execute(_alert_select().where(ALERTS.c.id == alert_id)).mappings().first()
    return dict(row) if row else None


def active_alerts(conn: Connection, *, states: tuple[str, ...] = OPEN_STATES) -> list[dict[str, Any]]:
    stmt = _alert_select().where(ALERTS.c.state.in_(states)).order_by(ALERTS.c.started_at.desc(), ALERTS.c.id.desc())
    return [dict(r) for r in conn.execute(stmt).mappings()]


def alert_history(
    conn: Connection,
    *,
    rule_id: int | None = None,
    state: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Instances newest first (started from ``since``, before ``until``), and
    how many match in all (for paging)."""
    conds = []
    if rule_id is not None:
        conds.append(ALERTS.c.rule_id == rule_id)
    if state:
        conds.append(ALERTS.c.state == state)
    if since is not None:
        conds.append(ALERTS.c.started_at >= to_micros(since))
    if until is not None:
        conds.append(ALERTS.c.started_at < to_micros(until))
    stmt = (
        _alert_select()
        .where(*conds)
        .order_by(ALERTS.c.started_at.desc(), ALERTS.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    total = conn.execute(select(func.count()).select_from(ALERTS).where(*conds)).scalar() or 0
    return [dict(r) for r in conn.execute(stmt).mappings()], int(total)


def acknowledge(conn: Connection, alert_id: int, *, by: str | None, now: datetime) -> bool:
    stmt = update(ALERTS).where(ALERTS.c.id == alert_id).values(acknowledged_at=now, acknowledged_by=by)
    return bool(conn.execute(stmt).rowcount)


# ---------------------------------------------------------- notifications


def insert_notification(
    conn: Connection, *, alert_id: int, ts: datetime, kind: str, target: str, ok: bool, attempts: int, error: str | None
) -> None:
    values = {
        "alert_id": alert_id,
        "ts": ts,
        "kind": kind,
        "target": target[:500],
        "ok": ok,
        "attempts": attempts,
        "error": error,
    }
    conn.execute(insert(ALERT_NOTIFICATIONS).values(**values))


def notifications(conn: Connection, alert_id: int) -> list[dict[str, Any]]:
    t = ALERT_NOTIFICATIONS
    return [dict(r) for r in conn.execute(select(t).where(t.c.alert_id == alert_id).order_by(t.c.id)).mappings()]


# --------------------------------------------------------------- silences


def list_silences(conn: Connection, *, active_at: datetime | None = None) -> list[dict[str, Any]]:
    """Every silence, newest first; with ``active_at``, those in force then."""
    s = SILENCES
    stmt = select(s).order_by(s.c.starts_at.desc(), s.c.id.desc())
    if active_at is not None:
        at = to_micros(active_at)
        stmt = stmt.where(s.c.starts_at <= at, s.c.ends_at > at)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def insert_silence(
    conn: Connection,
    *,
    matchers: dict[str, Any],
    starts_at: datetime,
    ends_at: datetime,
    comment: str | None,
    created_by: str | None,
    now: datetime,
) -> int:
    values = {
        "matchers": matchers,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "comment": comment,
        "created_by": created_by,
        "created_at": now,
    }
    return int(conn.execute(insert(SILENCES).values(**values).returning(SILENCES.c.id)).scalar_one())


def get_silence(conn: Connection, silence_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(SILENCES).where(SILENCES.c.id == silence_id)).mappings().first()
    return dict(row) if row else None


def delete_silence(conn: Connection, silence_id: int) -> bool:
    return bool(conn.execute(delete(SILENCES).where(SILENCES.c.id == silence_id)).rowcount)


# ---------------------------------------------------------- gauge values


def latest_values(
    conn: Connection, *, filters: Filters, since: datetime, until: datetime, group_by: tuple[str, ...] = ()
) -> list[tuple[tuple[Any, ...], float, datetime]]:
    """The newest non-null ``value`` of matching events in ``[since, until)``,
    per group: ``[(group values, value, ts)]``.

    The rollups say first where the newest values are (the newest hour, then
    minute, whose rows count a value), so the read of raw events starts
    there instead of walking the time index back through the whole window
    when the gauge has been quiet."""
    t = EVENTS
    lo, hi = to_micros(since), to_micros(until)
    start = _newest_value_minute(conn, filters, since, until)
    if start is None:
        return []
    lo = max(lo, start * 1_000_000)
    base = _where(select(t.c.value, t.c.ts, *(t.c[g] for g in group_by)), t, filters)
    base = base.where(t.c.value.is_not(None), t.c.ts >= lo, t.c.ts < hi)
    if not group_by:
        row = conn.execute(base.order_by(t.c.ts.desc(), t.c.id.desc()).limit(1)).first()
        return [((), float(row[0]), row[1])] if row else []
    keys = [func.coalesce(t.c[g], "") for g in group_by]
    per_group = _where(
        select(*(k.label(f"g{i}") for i, k in enumerate(keys)), func.max(t.c.ts).label("mts")), t, filters
    )
    newest = per_group.where(t.c.value.is_not(None), t.c.ts >= lo, t.c.ts < hi).group_by(*keys).subquery()
    join = and_(t.c.ts == newest.c.mts, *(k == newest.c[f"g{i}"] for i, k in enumerate(keys)))
    stmt = _where(select(t.c.value, t.c.ts, *keys).join(newest, join), t, filters).where(t.c.value.is_not(None))
    out: dict[tuple[Any, ...], tuple[float, datetime]] = {}
    for row in conn.execute(stmt.order_by(t.c.id)):
        out[tuple(row[2:])] = (float(row[0]), row[1])
    return [(k, v, ts) for k, (v, ts) in out.items()]


def _newest_value_minute(conn: Connection, filters: Filters, since: datetime, until: datetime) -> int | None:
    """Epoch seconds of the oldest minute that may hold a group's newest value
    before ``until``: for each group (rollup key) its newest hour with a value,
    the oldest of those hours; None when no matching event in the window has a
    value."""
    window_start = int(since.timestamp()) // 60 * 60
    if not filters.rollup_compatible:  # e.g. a user filter: rollups cannot tell
        return window_start
    first_hour = int(since.timestamp()) // 3600 * 3600
    h = ROLLUPS_HOURLY
    key = [h.c.source, h.c.type, h.c.entity, h.c.status]
    newest = _where(select(func.max(h.c.minute).label("m")), h, filters)
    per_key = (
        newest.where(h.c.value_count > 0, h.c.minute >= first_hour, h.c.minute < until.timestamp())
        .group_by(*key)
        .subquery()
    )
    oldest = conn.execute(select(func.min(per_key.c.m))).scalar()
    return None if oldest is None else max(int(oldest), window_start)
