"""The e-mail sender: a thread that sends the outbox's due messages over SMTP.

It wakes when a message is queued (:meth:`Mailer.wake`) or every
``interval`` seconds, takes back messages a dead sender left ``sending``
(:func:`data.outbox.recover`), claims the due ones, and sends them over one
SMTP connection (``smtp_security``: ``starttls``, ``tls`` or ``none``; a
login when ``smtp_user`` is set). Each message is marked sent in its own
transaction right after the server accepted it; a failed try goes back to
the outbox with a longer wait, and a message the server refuses for good
(a 5xx reply) or that has had its attempts is marked failed with the
server's answer. A stopping sender finishes the message in hand and gives
the rest of its batch back untried. See :mod:`data.outbox` for why delivery
is at least once.

Every message carries a ``Message-ID`` made of its outbox id, so a copy sent
again after a crash is recognisable as the same message.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from data import outbox

log = logging.getLogger("pulseboard.mail")
NOT_CONFIGURED = "no SMTP server is set (--smtp-host / PULSE_SMTP_HOST)"


def build_message(row: dict[str, Any], *, sender: str) -> EmailMessage:
    """The outbox row as an e-mail: text, HTML alternative with its inline
    images (attachments with a ``content_id``), then the other attachments."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row["recipient"]
    msg["Subject"] = row["subject"]
    created: datetime = row["created"]
    msg["Date"] = format_datetime(created)
    domain = sender.rpartition("@")[2] or "pulseboard"
    msg["Message-ID"] = f"<outbox-{row['id']}.{int(created.timestamp())}@{domain}>"
    msg.set_content(row["body_text"])
    attachments = row.get("attachments") or []
    if row.get("body_html"):
        msg.add_alternative(row["body_html"], subtype="html")
        html_part = msg.get_body(("html",))
        assert isinstance(html_part, EmailMessage)
        for item in attachments:
            if item.get("content_id"):
                maintype, _, subtype = item["mime"].partition("/")
                html_part.add_related(
                    base64.b64decode(item["data"]),
                    maintype=maintype,
                    subtype=subtype,
                    cid=f"<{item['content_id']}>",
                    filename=item.get("filename"),
                    disposition="inline",
                )
    for item in attachments:
        if not (item.get("content_id") and row.get("body_html")):
            maintype, _, subtype = item["mime"].partition("/")
            msg.add_attachment(
                base64.b64decode(item["data"]), maintype=maintype, subtype=subtype, filename=item.get("filename")
            )
    return msg


def connect(settings: Any, *, timeout: float) -> smtplib.SMTP:
    """An SMTP connection as the settings say, logged in when a user is set."""
    host, port, security = settings.smtp_host, settings.smtp_port, settings.smtp_security
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if security == "tls":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if security == "starttls":
            smtp.starttls(context=context)  # refuses (SMTPNotSupportedError) rather than sending in the clear
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_secret())
    except BaseException:
        smtp.close()
        raise
    return smtp


def permanent(exc: Exception) -> bool:
    """Whether the server refused for good (a 5xx reply): trying again will not help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600 and not isinstance(exc, smtplib.SMTPAuthenticationError)
    return False


def describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"SMTP {exc.smtp_code}: {text}"[:2000]
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{addr}: SMTP {code} {msg.decode('utf-8', 'replace')}" for addr, (code, msg) in exc.recipients.items()
        )[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]


class Mailer:
    """Sends the outbox's e-mail in a background thread (:meth:`start`, :meth:`stop`)."""

    def __init__(
        self,
        db: Any,
        settings: Any,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        interval: float = 5.0,
        backoff: float = 30.0,
        backoff_cap: float = 3600.0,
        max_attempts: int = 8,
        sending_timeout: float = 600.0,
        timeout: float = 30.0,
        batch: int = 10,
    ) -> None:
        self.db, self.settings, self.clock = db, settings, clock
        self.interval, self.backoff, self.backoff_cap = interval, backoff, backoff_cap
        self.max_attempts, self.timeout, self.batch = max_attempts, timeout, batch
        # Longer than a batch can take (each message at most `timeout` seconds).
        self.sending_timeout = timedelta(seconds=max(sending_timeout, timeout * (batch + 2)))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        """Something was queued: send it now rather than at the next interval."""
        self._wake.set()

    def start(self) -> bool:
        """Start the sending thread; False when it runs already."""
        with self._lock:
            if self._thread is not None:
                return False
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="mailer", daemon=True)
            self._thread.start()
            return True

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        self._stop.set()
        self._wake.set()
        if thread is not None:
            thread.join(timeout=timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                while self.run_once() >= self.batch and not self._stop.is_set():
                    pass  # a full batch went: more may be due
            except Exception:  # e.g. the database is unreachable for a moment: the next round tries again
                log.exception("sending the outbox failed")
            self._wake.wait(self._next_wait())

    def _next_wait(self) -> float:
        try:
            with self.db.read() as conn:
                due = outbox.next_due(conn)
        except Exception:
            return self.interval
        if due is None:
            return self.interval
        return min(self.interval, max(0.0, (due - self.clock()).total_seconds()))

    def run_once(self) -> int:
        """One round: recover, claim, send. Returns how many messages were claimed."""
        now = self.clock()
        with self.db.read() as conn:
            if not outbox.has_work(conn, now=now, timeout=self.sending_timeout):
                return 0
        with self.db.write() as conn:
            recovered = outbox.recover(conn, now=now, timeout=self.sending_timeout, max_attempts=self.max_attempts)
            claimed = outbox.claim(conn, now=now, limit=self.batch)
        if recovered:
            log.warning("%d e-mail(s) left sending by a stopped sender are queued again", recovered)
        if not claimed:
            return 0
        if not self.settings.smtp_host:
            for row in claimed:
                self._failed(row, NOT_CONFIGURED, final=True)
            return len(claimed)
        try:
            smtp = connect(self.settings, timeout=self.timeout)
        except Exception as exc:  # server down, TLS refused, bad login: every claimed message waits
            error = describe(exc)
            log.warning(
                "cannot reach the SMTP server %s:%s: %s", self.settings.smtp_host, self.settings.smtp_port, error
            )
            for row in claimed:
                self._failed(row, error, final=False)
            return len(claimed)
        try:
            for i, row in enumerate(claimed):
                if self._stop.is_set():  # stopping: what is not sent yet goes back untried, due at once
                    with self.db.write() as conn:
                        outbox.release(conn, [r["id"] for r in claimed[i:]], now=self.clock())
                    return len(claimed)
                try:
                    smtp.send_message(build_message(row, sender=self.settings.mail_from))
                except Exception as exc:
                    # smtplib's errors are OSErrors too: only a lost connection stops the round.
                    lost = isinstance(exc, smtplib.SMTPServerDisconnected) or (
                        isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)
                    )
                    if lost:  # this message and the rest wait for the next round
                        for rest in claimed[i:]:
                            self._failed(rest, describe(exc), final=False)
                        return len(claimed)
                    self._failed(row, describe(exc), final=permanent(exc))
                    continue
                with self.db.write() as conn:
                    outbox.mark_sent(conn, row["id"], now=self.clock())
                log.info("e-mail %d sent to %s: %s", row["id"], row["recipient"], row["subject"])
        finally:
            try:
                smtp.quit()
            except Exception:
                smtp.close()
        return len(claimed)

    def _failed(self, row: dict[str, Any], error: str, *, final: bool) -> None:
        with self.db.write() as conn:
            state = outbox.mark_failed(
                conn,
                row["id"],
                error=error,
                now=self.clock(),
                max_attempts=self.max_attempts,
                base=self.backoff,
                cap=self.backoff_cap,
                final=final,
            )
        if state == "failed":
            log.error("e-mail %d to %s failed for good: %s", row["id"], row["recipient"], error)
