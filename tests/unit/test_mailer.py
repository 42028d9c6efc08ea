"""The e-mail sender against a real SMTP server (aiosmtpd on a loopback port),
over SQLite and PostgreSQL: delivered with the right headers and parts,
retried while the server is down and delivered once when it is up, a
message left ``sending`` by a stopped sender delivered once by the next."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import update

from data import outbox
from data.db import Database
from data.models import OUTBOX
from jobs.mailer import NOT_CONFIGURED, Mailer
from settings import load_settings
from tests.conftest import SmtpSink, free_port, wait_until

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()


def settings_for(port: int, environ: dict[str, str] | None = None, **kw: Any) -> Any:
    values = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none", "mail_from": "pulse@example.org"}
    return load_settings({**values, **kw}, environ=environ or {})


@pytest.fixture
def mailers() -> Iterator[list[Mailer]]:
    started: list[Mailer] = []
    yield started
    for mailer in started:
        mailer.stop()


def start(mailers: list[Mailer], db: Database, settings: Any, **kw: Any) -> Mailer:
    mailer = Mailer(db, settings, interval=kw.pop("interval", 0.05), **kw)
    mailer.start()
    mailers.append(mailer)
    return mailer


def queue(db: Database, key: str, *, recipient: str = "ops@example.com", **kw: Any) -> int:
    with db.write() as conn:
        message_id = outbox.enqueue(
            conn,
            recipient=recipient,
            subject=kw.pop("subject", f"[FIRING] {key}"),
            body_text=kw.pop("body_text", f"text of {key}"),
            dedupe_key=key,
            now=kw.pop("now", datetime.now(timezone.utc)),
            **kw,
        )
    assert message_id is not None
    return message_id


def state(db: Database, message_id: int) -> dict[str, Any]:
    with db.read() as conn:
        found = outbox.get(conn, message_id)
    assert found is not None
    return found


def test_a_queued_message_reaches_its_recipient_with_text_html_and_inline_chart(
    migrated_db: Database, smtp_sink: SmtpSink, mailers: list[Mailer]
) -> None:
    mailer = start(mailers, migrated_db, settings_for(smtp_sink.port), interval=60)
    chart = {"filename": "chart.png", "mime": "image/png", "content_id": "chart-1", "data": PNG}
    report = {"filename": "rows.csv", "mime": "text/csv", "data": base64.b64encode(b"a,b\n1,2\n").decode()}
    message_id = queue(
        migrated_db,
        "alert:1:firing:ops@example.com",
        subject="[FIRING] disk full (1)",
        body_html='<p>disk full</p><img src="cid:chart-1">',
        attachments=[chart, report],
    )
    mailer.wake()  # the interval is a minute: only the wake-up sends it now
    wait_until(lambda: smtp_sink.received, message="the message at the SMTP server")
    ((rcpt, msg),) = smtp_sink.received
    assert rcpt == ["ops@example.com"]
    assert (msg["To"], msg["From"], msg["Subject"]) == (
        "ops@example.com",
        "pulse@example.org",
        "[FIRING] disk full (1)",
    )
    assert msg["Message-ID"].startswith(f"<outbox-{message_id}.")
    assert msg.get_body(("plain",)).get_content().strip() == "text of alert:1:firing:ops@example.com"
    html = msg.get_body(("html",))
    assert 'src="cid:chart-1"' in html.get_content()
    (image,) = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<chart-1>"
    assert image.get_content() == base64.b64decode(PNG)
    (csv,) = [p for p in msg.iter_attachments() if p.get_filename() == "rows.csv"]
    assert csv.get_content() == "a,b\n1,2\n"
    wait_until(lambda: state(migrated_db, message_id)["state"] == "sent", message="marked sent")
    assert state(migrated_db, message_id)["attempts"] == 1


def test_the_sender_logs_in_with_the_password_from_the_environment(
    migrated_db: Database, mailers: list[Mailer]
) -> None:
    sink = SmtpSink(users={"pulse": "s3cret-pass"}).start()
    try:
        settings = settings_for(sink.port, smtp_user="pulse", environ={"PULSEBOARD_SMTP_PASSWORD": "s3cret-pass"})
        assert "s3cret-pass" not in repr(settings)
        start(mailers, migrated_db, settings)
        message_id = queue(migrated_db, "k")
        wait_until(lambda: state(migrated_db, message_id)["state"] == "sent", message="sent after login")
        assert sink.logins == ["pulse"] and len(sink.received) == 1
    finally:
        sink.stop()


def test_a_wrong_password_keeps_the_message_waiting_with_the_servers_answer(
    migrated_db: Database, mailers: list[Mailer]
) -> None:
    sink = SmtpSink(users={"pulse": "right"}).start()
    try:
        settings = settings_for(sink.port, smtp_user="pulse", environ={"PULSE_SMTP_PASSWORD": "wrong"})
        start(mailers, migrated_db, settings, backoff=60)
        message_id = queue(migrated_db, "k")
        row = wait_until(lambda: (r := state(migrated_db, message_id))["last_error"] and r, message="a failed try")
        assert row["state"] == "pending" and row["attempts"] == 1
        assert "535" in row["last_error"]  # authentication failed: fixable, so retried
        assert sink.received == []
    finally:
        sink.stop()


def test_while_the_server_is_down_the_message_is_retried_and_then_delivered_exactly_once(
    migrated_db: Database, mailers: list[Mailer]
) -> None:
    port = free_port()  # nothing listens there yet
    start(mailers, migrated_db, settings_for(port), backoff=0.05, backoff_cap=0.2, max_attempts=1000)
    message_id = queue(migrated_db, "alert:7:firing:ops@example.com")

    def failed_twice() -> dict[str, Any] | None:
        row = state(migrated_db, message_id)
        return row if row["state"] == "pending" and row["attempts"] >= 2 else None

    tried = wait_until(failed_twice, message="two failed tries")
    assert "ConnectionRefusedError" in tried["last_error"]
    sink = SmtpSink(port=port).start()
    try:
        wait_until(lambda: state(migrated_db, message_id)["state"] == "sent", message="sent once the server is up")
        assert len(sink.received) == 1
        assert state(migrated_db, message_id)["attempts"] >= 3
        assert state(migrated_db, message_id)["last_error"] is None
    finally:
        sink.stop()


def test_a_message_left_sending_by_a_stopped_sender_is_delivered_once_by_the_next(
    migrated_db: Database, smtp_sink: SmtpSink, mailers: list[Mailer]
) -> None:
    now = datetime.now(timezone.utc)
    crashed = queue(migrated_db, "crashed", subject="left sending", now=now - timedelta(hours=1))
    done = queue(migrated_db, "done", subject="sent before the restart", now=now - timedelta(hours=1))
    busy = queue(migrated_db, "busy", subject="another sender has it", now=now - timedelta(hours=1))
    with migrated_db.write() as conn:
        outbox.claim(conn, now=now - timedelta(hours=1))  # all three: sending since an hour ago
        outbox.mark_sent(conn, done, now=now - timedelta(hours=1))
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == busy).values(claimed_at=now))  # just claimed elsewhere
    start(mailers, migrated_db, settings_for(smtp_sink.port), sending_timeout=600)
    wait_until(lambda: state(migrated_db, crashed)["state"] == "sent", message="the crashed message sent")
    assert smtp_sink.subjects() == ["left sending"]
    assert state(migrated_db, crashed)["attempts"] == 2
    assert state(migrated_db, done)["state"] == "sent"
    assert state(migrated_db, busy)["state"] == "sending"  # within the timeout: its sender may still be at it


def test_a_stopping_sender_finishes_the_message_in_hand_and_gives_the_rest_back_untried(
    migrated_db: Database, smtp_sink: SmtpSink
) -> None:
    import threading

    smtp_sink.hold = threading.Event()
    ids = [queue(migrated_db, f"m{i}", now=datetime.now(timezone.utc) - timedelta(seconds=3 - i)) for i in range(3)]
    mailer = Mailer(migrated_db, settings_for(smtp_sink.port), interval=60)
    mailer.start()
    assert smtp_sink.holding.wait(15)  # the first message is at the server, the other two claimed behind it
    stopping = threading.Thread(target=mailer.stop)
    stopping.start()
    wait_until(lambda: mailer.stopping, message="the stop asked for")
    smtp_sink.hold.set()
    stopping.join(15)
    assert not mailer.running
    assert [state(migrated_db, i)["state"] for i in ids] == ["sent", "pending", "pending"]
    assert [state(migrated_db, i)["attempts"] for i in ids] == [1, 0, 0]
    assert smtp_sink.subjects() == ["[FIRING] m0"]


def test_a_recipient_the_server_refuses_for_good_fails_at_once(
    migrated_db: Database, smtp_sink: SmtpSink, mailers: list[Mailer]
) -> None:
    start(mailers, migrated_db, settings_for(smtp_sink.port), backoff=0.05)
    refused = queue(migrated_db, "refused", recipient="nobody@example.com")
    fine = queue(migrated_db, "fine")
    wait_until(lambda: state(migrated_db, fine)["state"] == "sent", message="the good message sent")
    wait_until(lambda: state(migrated_db, refused)["state"] == "failed", message="the refused one failed")
    row = state(migrated_db, refused)
    assert row["attempts"] == 1 and "550" in row["last_error"] and "no such user" in row["last_error"]
    assert [to for to, _m in smtp_sink.received] == [["ops@example.com"]]


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_over_tls_the_sender_checks_the_certificate_logs_in_and_delivers(
    migrated_db: Database, mailers: list[Mailer], loopback_cert: Any, monkeypatch: pytest.MonkeyPatch, security: str
) -> None:
    sink = SmtpSink(users={"pulse": "pw"}, cert=loopback_cert, implicit_tls=security == "tls").start()
    try:
        settings = settings_for(
            sink.port, smtp_security=security, smtp_user="pulse", environ={"PULSE_SMTP_PASSWORD": "pw"}
        )
        untrusted = Mailer(migrated_db, settings, backoff=3600)
        refused = queue(migrated_db, "untrusted")
        assert untrusted.run_once() == 1  # the self-signed certificate is not trusted yet
        assert "CERTIFICATE_VERIFY_FAILED" in state(migrated_db, refused)["last_error"]
        assert sink.received == [] and sink.logins == []

        monkeypatch.setenv("SSL_CERT_FILE", str(loopback_cert[0]))  # now it is
        start(mailers, migrated_db, settings)
        message_id = queue(migrated_db, "trusted")
        wait_until(lambda: state(migrated_db, message_id)["state"] == "sent", message=f"sent over {security}")
        assert sink.logins == ["pulse"]
        assert sink.subjects() == ["[FIRING] trusted"]
    finally:
        sink.stop()


def test_starttls_is_required_when_asked_for(migrated_db: Database, smtp_sink: SmtpSink) -> None:
    mailer = Mailer(migrated_db, settings_for(smtp_sink.port, smtp_security="starttls"))
    message_id = queue(migrated_db, "k")
    assert mailer.run_once() == 1
    row = state(migrated_db, message_id)
    assert row["state"] == "pending" and "STARTTLS" in row["last_error"]
    assert smtp_sink.received == []  # never in the clear


def test_without_an_smtp_server_a_message_fails_at_once_saying_why(migrated_db: Database) -> None:
    mailer = Mailer(migrated_db, load_settings({}, environ={}))
    message_id = queue(migrated_db, "k")
    assert mailer.run_once() == 1
    row = state(migrated_db, message_id)
    assert (row["state"], row["last_error"]) == ("failed", NOT_CONFIGURED)
    assert mailer.run_once() == 0
