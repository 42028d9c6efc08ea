"""The outbox: messages to people (e-mail), stored before they are sent.

A message moves ``pending`` -> ``sending`` (a sender claimed it) -> ``sent``,
or back to ``pending`` with a later ``next_attempt_at`` after a failed try
(exponential backoff, capped), or to ``failed`` once it has had its attempts.

* :func:`enqueue` is idempotent on ``dedupe_key``: queuing the same message
  again (a re-run evaluation, a retried request) stores nothing.
* :func:`claim` takes the due messages and marks them ``sending`` in one
  statement; on PostgreSQL the rows are picked ``FOR UPDATE SKIP LOCKED``,
  so senders in several processes never take the same message. An attempt
  is counted when a message is claimed, so a message whose sending kills the
  process still runs out of attempts.
* :func:`mark_sent` follows the SMTP server's acceptance at once.
  Delivery is *at least once*: if the process dies after the server
  accepted a message and before that update commits, the message is still
  ``sending``; :func:`recover` puts it back to ``pending`` once it has been
  ``sending`` longer than the timeout, and it is sent again. That window is
  one round trip to the database; every other crash (before or during the
  SMTP conversation, after the update) sends the message exactly once.

Rows come back as plain dicts with timezone-aware datetimes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from data.models import OUTBOX, to_micros

STATES = ("pending", "sending", "sent", "failed")
CHANNELS = ("email",)


def enqueue(
    conn: Connection,
    *,
    recipient: str,
    subject: str,
    body_text: str,
    dedupe_key: str,
    now: datetime,
    body_html: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
    channel: str = "email",
    due: datetime | None = None,
) -> int | None:
    """Queue a message, to be sent from ``due`` (default ``now``); its id, or
    None when ``dedupe_key`` is queued already."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    values = {
        "channel": channel,
        "recipient": recipient[:500],
        "subject": subject[:500],
        "body_text": body_text,
        "body_html": body_html,
        "attachments": attachments or None,
        "dedupe_key": dedupe_key[:300],
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": due or now,
        "created": now,
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(OUTBOX)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OUTBOX.c.id)
    )
    found = conn.execute(stmt).scalar()
    return None if found is None else int(found)


def rewrite_pending(
    conn: Connection,
    message_id: int,
    *,
    subject: str,
    body_text: str,
    body_html: str | None,
    attachments: list[dict[str, Any]] | None,
) -> bool:
    """Replace a message's content while nobody has claimed it yet (a group
    of notices that grows before it is sent); False once it is claimed."""
    stmt = (
        update(OUTBOX)
        .where(OUTBOX.c.id == message_id, OUTBOX.c.state == "pending", OUTBOX.c.attempts == 0)
        .values(subject=subject[:500], body_text=body_text, body_html=body_html, attachments=attachments or None)
    )
    return bool(conn.execute(stmt).rowcount)


def claim(conn: Connection, *, now: datetime, limit: int = 20) -> list[dict[str, Any]]:
    """Take up to ``limit`` due pending messages (oldest due first): each is
    marked ``sending`` with ``claimed_at = now`` and one more attempt."""
    o = OUTBOX
    due = (
        select(o.c.id)
        .where(o.c.state == "pending", o.c.next_attempt_at <= to_micros(now))
        .order_by(o.c.next_attempt_at, o.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's write transaction is exclusive already
    )
    ids = [int(i) for i in conn.execute(due).scalars()]
    if not ids:
        return []
    stmt = (
        update(o)
        .where(o.c.id.in_(ids), o.c.state == "pending")
        .values(state="sending", claimed_at=now, attempts=o.c.attempts + 1)
        .returning(*o.c)
    )
    return sorted((dict(r) for r in conn.execute(stmt).mappings()), key=lambda r: (r["next_attempt_at"], r["id"]))


def mark_sent(conn: Connection, message_id: int, *, now: datetime) -> bool:
    """The server accepted the message: ``sent``. False if it was not ``sending``."""
    stmt = (
        update(OUTBOX)
        .where(OUTBOX.c.id == message_id, OUTBOX.c.state == "sending")
        .values(state="sent", sent_at=now, last_error=None, claimed_at=None)
    )
    return bool(conn.execute(stmt).rowcount)


def release(conn: Connection, message_ids: list[int], *, now: datetime) -> int:
    """Give claimed messages back untried (the sender is stopping): ``pending``,
    due ``now``, the attempt of the claim not counted."""
    if not message_ids:
        return 0
    stmt = (
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(message_ids), OUTBOX.c.state == "sending")
        .values(state="pending", claimed_at=None, next_attempt_at=now, attempts=OUTBOX.c.attempts - 1)
    )
    return int(conn.execute(stmt).rowcount or 0)


def backoff_delay(attempts: int, *, base: float, cap: float) -> timedelta:
    """The wait after the ``attempts``-th failed try: ``base * 2**(attempts-1)``, at most ``cap`` seconds.

    >>> [backoff_delay(n, base=30, cap=300).total_seconds() for n in (1, 2, 3, 4, 5)]
    [30.0, 60.0, 120.0, 240.0, 300.0]
    """
    return timedelta(seconds=min(cap, base * 2 ** min(max(attempts - 1, 0), 60)))


def mark_failed(
    conn: Connection,
    message_id: int,
    *,
    error: str,
    now: datetime,
    max_attempts: int,
    base: float,
    cap: float,
    final: bool = False,
) -> str | None:
    """A try failed: back to ``pending`` after the backoff, or ``failed`` once
    the message has had ``max_attempts`` (or at once when ``final``). The new
    state, or None if the message was not ``sending``."""
    o = OUTBOX
    row = conn.execute(select(o.c.attempts, o.c.state).where(o.c.id == message_id)).first()
    if row is None or row.state != "sending":
        return None
    state = "failed" if final or row.attempts >= max_attempts else "pending"
    values: dict[str, Any] = {"state": state, "last_error": error[:2000], "claimed_at": None}
    if state == "pending":
        values["next_attempt_at"] = now + backoff_delay(row.attempts, base=base, cap=cap)
    conn.execute(update(o).where(o.c.id == message_id, o.c.state == "sending").values(**values))
    return state


def recover(conn: Connection, *, now: datetime, timeout: timedelta, max_attempts: int) -> int:
    """Messages ``sending`` since before ``now - timeout`` (their sender died):
    back to ``pending`` (due now), or ``failed`` if they have had their
    attempts. Returns how many were taken back."""
    o = OUTBOX
    stale = (o.c.state == "sending", o.c.claimed_at < to_micros(now - timeout))
    note = "the sender stopped while sending this message"
    gave_up = conn.execute(
        update(o)
        .where(*stale, o.c.attempts >= max_attempts)
        .values(state="failed", claimed_at=None, last_error=note + "; no attempts left")
    ).rowcount
    retried = conn.execute(
        update(o)
        .where(*stale)
        .values(state="pending", claimed_at=None, next_attempt_at=now, last_error=note + "; sent again")
    ).rowcount
    return int(gave_up or 0) + int(retried or 0)


def has_work(conn: Connection, *, now: datetime, timeout: timedelta) -> bool:
    """Whether :func:`recover` or :func:`claim` would find anything: a read,
    so an idle sender does not take the write lock every round."""
    o = OUTBOX
    due = select(o.c.id).where(o.c.state == "pending", o.c.next_attempt_at <= to_micros(now)).limit(1)
    stale = select(o.c.id).where(o.c.state == "sending", o.c.claimed_at < to_micros(now - timeout)).limit(1)
    return conn.execute(due).first() is not None or conn.execute(stale).first() is not None


def get(conn: Connection, message_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(OUTBOX).where(OUTBOX.c.id == message_id)).mappings().first()
    return dict(row) if row else None


def recent(
    conn: Connection,
    *,
    state: str | None = None,
    limit: int = 50,
    with_bodies: bool = False,
    key_prefix: str | None = None,
) -> list[dict[str, Any]]:
    """Messages newest first (of one ``state``, and whose dedupe key starts
    with ``key_prefix``, if given), for display: without bodies and
    attachments unless ``with_bodies``."""
    o = OUTBOX
    bulky = {"body_text", "body_html", "attachments"}
    columns = list(o.c) if with_bodies else [c for c in o.c if c.name not in bulky]
    stmt = select(*columns).order_by(o.c.created.desc(), o.c.id.desc()).limit(limit)
    if key_prefix is not None:
        stmt = stmt.where(o.c.dedupe_key.startswith(key_prefix, autoescape=True))
    if state is not None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        stmt = stmt.where(o.c.state == state)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def counts(conn: Connection) -> dict[str, int]:
    """How many messages are in each state."""
    out = dict.fromkeys(STATES, 0)
    for state, n in conn.execute(select(OUTBOX.c.state, func.count()).group_by(OUTBOX.c.state)):
        out[state] = int(n)
    return out


def next_due(conn: Connection) -> datetime | None:
    """When the next pending message is due (None: nothing pending)."""
    o = OUTBOX
    stmt = select(o.c.next_attempt_at).where(o.c.state == "pending").order_by(o.c.next_attempt_at).limit(1)
    value: datetime | None = conn.execute(stmt).scalar()
    return value
