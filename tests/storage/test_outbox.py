"""The outbox's states on SQLite and PostgreSQL: queued once, claimed by one
sender, retried with a growing wait, given up on, taken back after a crash."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from data import outbox
from data.db import Database

NOW = datetime(2026, 12, 6, 21, 0, tzinfo=timezone.utc)


def queue(db: Database, key: str, now: datetime = NOW, **kw: Any) -> int | None:
    with db.write() as conn:
        return outbox.enqueue(
            conn, recipient="ops@example.com", subject=f"subject {key}", body_text="text", dedupe_key=key, now=now, **kw
        )


def claim(db: Database, now: datetime = NOW, limit: int = 20) -> list[dict[str, Any]]:
    with db.write() as conn:
        return outbox.claim(conn, now=now, limit=limit)


def fail(db: Database, message_id: int, now: datetime, *, final: bool = False) -> str | None:
    with db.write() as conn:
        error = "SMTP 451: try later"
        return outbox.mark_failed(conn, message_id, error=error, now=now, max_attempts=4, base=30, cap=100, final=final)


def row(db: Database, message_id: int) -> dict[str, Any]:
    with db.read() as conn:
        found = outbox.get(conn, message_id)
    assert found is not None
    return found


def test_a_message_is_queued_once_per_dedupe_key(db: Database) -> None:
    first = queue(db, "alert:1:firing:ops@example.com")
    again = queue(db, "alert:1:firing:ops@example.com", now=NOW + timedelta(minutes=1))
    other = queue(db, "alert:1:resolved:ops@example.com")
    assert isinstance(first, int) and isinstance(other, int) and first != other
    assert again is None
    with db.read() as conn:
        assert outbox.counts(conn) == {"pending": 2, "sending": 0, "sent": 0, "failed": 0}
    stored = row(db, first)
    assert (stored["state"], stored["attempts"], stored["created"], stored["next_attempt_at"]) == (
        "pending",
        0,
        NOW,
        NOW,
    )


def test_attachments_round_trip_as_a_json_list(db: Database) -> None:
    image = {"filename": "chart.png", "mime": "image/png", "content_id": "chart", "data": "iVBORw0KGgo="}
    message_id = queue(db, "k", attachments=[image], body_html="<p>hi</p>")
    assert message_id is not None
    assert row(db, message_id)["attachments"] == [image]
    assert row(db, message_id)["body_html"] == "<p>hi</p>"


def test_claiming_marks_the_due_messages_sending_and_counts_an_attempt(db: Database) -> None:
    due = queue(db, "due")
    later = queue(db, "later", now=NOW + timedelta(minutes=5))
    taken = claim(db)
    assert [m["id"] for m in taken] == [due]
    assert (taken[0]["state"], taken[0]["attempts"], taken[0]["claimed_at"]) == ("sending", 1, NOW)
    assert claim(db) == []  # claimed already: nobody else takes it
    assert later is not None and row(db, later)["state"] == "pending"


def test_concurrent_senders_never_claim_the_same_message(db: Database) -> None:
    ids = {message_id for i in range(40) if (message_id := queue(db, f"m{i}")) is not None}
    claimed: list[int] = []
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            while batch := claim(db, limit=3):
                claimed.extend(m["id"] for m in batch)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(claimed) == sorted(ids)  # each exactly once


def test_a_failed_try_waits_longer_each_time_up_to_the_cap_then_gives_up(db: Database) -> None:
    message_id = queue(db, "k")
    assert message_id is not None
    now = NOW
    waits = []
    for attempt in range(1, 5):
        (taken,) = claim(db, now=now)
        assert taken["attempts"] == attempt
        state = fail(db, message_id, now)
        stored = row(db, message_id)
        assert stored["last_error"] == "SMTP 451: try later"
        if attempt < 4:
            assert state == "pending" == stored["state"]
            waits.append((stored["next_attempt_at"] - now).total_seconds())
            assert claim(db, now=stored["next_attempt_at"] - timedelta(seconds=1)) == []  # not due yet
            now = stored["next_attempt_at"]
        else:
            assert state == "failed" == stored["state"]
    assert waits == [30.0, 60.0, 100.0]  # 30 * 2**n, capped at 100
    assert claim(db, now=now + timedelta(days=1)) == []  # failed for good


def test_a_permanent_failure_gives_up_at_once(db: Database) -> None:
    message_id = queue(db, "k")
    assert message_id is not None
    claim(db)
    assert fail(db, message_id, NOW, final=True) == "failed"
    assert row(db, message_id)["attempts"] == 1


def test_marking_sent_needs_a_claimed_message(db: Database) -> None:
    message_id = queue(db, "k")
    assert message_id is not None
    with db.write() as conn:
        assert outbox.mark_sent(conn, message_id, now=NOW) is False  # pending: nobody sent it
    claim(db)
    with db.write() as conn:
        assert outbox.mark_sent(conn, message_id, now=NOW + timedelta(seconds=2)) is True
        assert outbox.mark_sent(conn, message_id, now=NOW + timedelta(seconds=3)) is False
    stored = row(db, message_id)
    assert (stored["state"], stored["sent_at"], stored["claimed_at"]) == ("sent", NOW + timedelta(seconds=2), None)


def test_messages_left_sending_by_a_dead_sender_are_taken_back_after_the_timeout(db: Database) -> None:
    stale, fresh, spent = queue(db, "stale"), queue(db, "fresh"), queue(db, "spent")
    assert stale and fresh and spent
    claim(db, now=NOW)  # all three sending since NOW
    with db.write() as conn:  # "spent" has had its attempts
        from sqlalchemy import update

        from data.models import OUTBOX

        conn.execute(update(OUTBOX).where(OUTBOX.c.id == spent).values(attempts=5))
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == fresh).values(claimed_at=NOW + timedelta(minutes=9)))
    later = NOW + timedelta(minutes=10)
    with db.write() as conn:
        assert outbox.recover(conn, now=later, timeout=timedelta(minutes=5), max_attempts=5) == 2
    assert (row(db, stale)["state"], row(db, stale)["next_attempt_at"]) == ("pending", later)
    assert "sent again" in row(db, stale)["last_error"]
    assert row(db, fresh)["state"] == "sending"  # its sender may still be at it
    assert row(db, spent)["state"] == "failed"
    assert [m["id"] for m in claim(db, now=later)] == [stale]


def test_recent_lists_newest_first_by_state_without_bodies(db: Database) -> None:
    for i in range(3):
        queue(db, f"m{i}", now=NOW + timedelta(seconds=i))
    (first,) = claim(db, limit=1)
    with db.read() as conn:
        listed = outbox.recent(conn)
        pending = outbox.recent(conn, state="pending")
        sending = outbox.recent(conn, state="sending")
        with_bodies = outbox.recent(conn, limit=1, with_bodies=True)
    assert [m["subject"] for m in listed] == ["subject m2", "subject m1", "subject m0"]
    assert "body_text" not in listed[0] and with_bodies[0]["body_text"] == "text"
    assert [m["subject"] for m in pending] == ["subject m2", "subject m1"]
    assert [m["id"] for m in sending] == [first["id"]]


def test_has_work_sees_due_and_stale_messages_only(db: Database) -> None:
    timeout = timedelta(minutes=5)
    with db.read() as conn:
        assert outbox.has_work(conn, now=NOW, timeout=timeout) is False
    queue(db, "later", now=NOW + timedelta(minutes=1))
    with db.read() as conn:
        assert outbox.has_work(conn, now=NOW, timeout=timeout) is False
        assert outbox.has_work(conn, now=NOW + timedelta(minutes=1), timeout=timeout) is True
    claim(db, now=NOW + timedelta(minutes=1))  # sending since NOW + 1 min
    with db.read() as conn:
        assert outbox.has_work(conn, now=NOW + timedelta(minutes=5), timeout=timeout) is False
        assert outbox.has_work(conn, now=NOW + timedelta(minutes=7), timeout=timeout) is True


def test_released_messages_are_pending_again_without_the_attempt(db: Database) -> None:
    first, second = queue(db, "a"), queue(db, "b")
    assert first and second
    claim(db)
    later = NOW + timedelta(seconds=5)
    with db.write() as conn:
        assert outbox.mark_sent(conn, first, now=NOW)
        assert outbox.release(conn, [first, second], now=later) == 1  # the sent one stays sent
    assert (row(db, first)["state"], row(db, second)["state"]) == ("sent", "pending")
    assert (row(db, second)["attempts"], row(db, second)["next_attempt_at"]) == (0, later)
