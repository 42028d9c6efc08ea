"""``alerts.mail`` on SQLite and PostgreSQL: notices of a rule join the queued
group mail until a sender takes it, then open a new one; what users wrote
(descriptions, labels) is escaped in the HTML; a mail without a chart says
why."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from alerts.mail import MailGroups, compose
from alerts.notify import Notice
from data import outbox
from data.db import Database
from settings import load_settings
from tests.conftest import ClockedServices

NOW = datetime(2026, 12, 6, 21, 0, tzinfo=timezone.utc)
SECOND = timedelta(seconds=1)


def notice(alert_id: int, at: datetime, kind: str = "firing", **kw: Any) -> Notice:
    labels = kw.pop("labels", {"source": f"s{alert_id}"})
    summary = kw.pop("summary", f"orders [source=s{alert_id}]: count is {alert_id + 3} (> 3 over 5m)")
    return Notice(
        alert_id, kind, "orders", "error", f"fp{alert_id}", labels, alert_id + 3.0, summary, "/explore", at, ()
    )


def services(db: Database, **settings: Any) -> ClockedServices:
    return ClockedServices(db, NOW, load_settings({"mail_charts": False, **settings}, environ={}))


def mails(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        return sorted(outbox.recent(conn, with_bodies=True), key=lambda m: m["id"])


def test_notices_join_the_queued_mail_until_a_sender_takes_it(migrated_db: Database) -> None:
    svc = services(migrated_db)
    groups = MailGroups(svc)
    to = ("ops@example.com",)
    first = groups.add(notice(1, NOW), to, 30)
    svc.at = NOW + 10 * SECOND
    assert groups.add(notice(2, svc.at), to, 30) == first  # within group_wait: the same mail
    assert groups.add(notice(2, svc.at), to, 30) == first  # the same notice again changes nothing
    (mail,) = mails(migrated_db)
    assert (mail["subject"], mail["next_attempt_at"], mail["state"]) == (
        "[FIRING] orders (2)",
        NOW + 30 * SECOND,
        "pending",
    )
    assert "count is 4" in mail["body_text"] and "count is 5" in mail["body_text"]

    resolved = groups.add(notice(1, svc.at, "resolved"), to, 30)  # another state: a mail of its own
    assert resolved != first

    with migrated_db.write() as conn:  # a sender takes the firing mail (its wait is over elsewhere)
        assert [m["id"] for m in outbox.claim(conn, now=NOW + 31 * SECOND)] == [first[to[0]]]
    svc.at = NOW + 15 * SECOND
    late = groups.add(notice(3, svc.at), to, 30)
    assert late != first  # the claimed mail is not rewritten: a new group
    by_id = {m["id"]: m for m in mails(migrated_db)}
    assert by_id[first[to[0]]]["subject"] == "[FIRING] orders (2)"
    assert by_id[late[to[0]]]["subject"] == "[FIRING] orders (1)"
    assert by_id[late[to[0]]]["next_attempt_at"] == svc.at + 30 * SECOND


def test_one_mail_per_recipient_each_with_the_whole_group(migrated_db: Database) -> None:
    svc = services(migrated_db)
    ids = MailGroups(svc).add(notice(1, NOW), ("ops@example.com", "dev@example.com"), 0)
    assert sorted(ids) == ["dev@example.com", "ops@example.com"]
    assert {(m["recipient"], m["subject"], m["next_attempt_at"]) for m in mails(migrated_db)} == {
        ("ops@example.com", "[FIRING] orders (1)", NOW),
        ("dev@example.com", "[FIRING] orders (1)", NOW),
    }


def test_a_mail_without_a_chart_says_why(migrated_db: Database) -> None:
    MailGroups(services(migrated_db)).add(notice(1, NOW), ("ops@example.com",), 30)
    (mail,) = mails(migrated_db)
    assert "Charts in e-mail are turned off (PULSE_MAIL_CHARTS=0)." in mail["body_text"]
    assert "Charts in e-mail are turned off" in (mail["body_html"] or "") and mail["attachments"] is None

    on = services(migrated_db, mail_charts=True)  # no alert engine behind these services: no chart either
    MailGroups(on).add(notice(2, NOW, "resolved"), ("ops@example.com",), 30)
    assert "No chart: " in mails(migrated_db)[-1]["body_text"]


def test_what_users_wrote_is_escaped_in_the_html() -> None:
    hostile = notice(
        1,
        NOW,
        summary="<script>alert(1)</script> & co",
        labels={"source": "<img src=x onerror=alert(2)>", "team": "o'neil"},
    )
    subject, text, html = compose([hostile], base="https://pulse.example", chart=False, chart_note="No chart: <b>")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "o&#x27;neil" in html and "No chart: &lt;b&gt;" in html
    assert "<script>alert(1)</script> & co" in text  # the text part stays as written
    assert subject == "[FIRING] orders (1)"
