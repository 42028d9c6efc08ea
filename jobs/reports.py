"""Scheduled reports: an export schedule with ``recipients`` also mails each
run to them, through the outbox (data.outbox, sent by jobs.mailer):

* the subject and opening name the report and its period (the export's
  window at that run);
* the period's summary (reports.summary): totals against the period before,
  alerts, anomalies, runs, regressions, each line linked to where it came from;
* the page (``page``, or the export's Explore view) printed over exactly that
  period by the app's printer, the summary above its content: the PDF
  attached and its first screen inline;
* the run's CSV attached (a link instead when it is larger than
  :data:`MAX_CSV_BYTES`), and for a board, the CSV of each of its table
  panels over the period;
* a link that takes this recipient off this schedule (signed, so that only
  the mail's reader can use it).

Each recipient's message is queued once per schedule and run (its dedupe
key), so a run retried or a restarted server never mails a report twice. A
page that cannot be printed (no Chromium) leaves the PDF out and says so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import io
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode

from core.boards import resolve_query
from core.errors import DomainError
from core.pdf import PdfOptions, PdfUnavailable, Printed, page_path
from core.query import parse_query
from core.timerange import iso, with_time
from data import boards, outbox
from jobs import exports
from reports.summary import Sentence, period_summary

if TYPE_CHECKING:
    from services import Services

log = logging.getLogger(__name__)
MAX_CSV_BYTES = 5 * 1024 * 1024
SUMMARY_CID = "report-summary"
UNSUBSCRIBE_PATH = "/exports/unsubscribe"
REPORT_KEY_PREFIX = "report:"  # the outbox dedupe keys of report mail


def unsubscribe_signature(key: str, schedule_id: int, recipient: str) -> str:
    """The signature of an unsubscribe link (HMAC-SHA256 of schedule and address).

    >>> len(unsubscribe_signature("k" * 32, 3, "a@x.example"))
    32
    >>> unsubscribe_signature("k" * 32, 3, "a@x.example") == unsubscribe_signature("k" * 32, 4, "a@x.example")
    False
    """
    message = f"{schedule_id}\n{recipient.lower()}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:32]


def unsubscribe_link(base: str, key: str, schedule_id: int, recipient: str) -> str:
    sig = unsubscribe_signature(key, schedule_id, recipient)
    return f"{base}{UNSUBSCRIBE_PATH}?" + urlencode({"s": schedule_id, "to": recipient, "sig": sig})


def report_page(schedule: dict[str, Any], since: datetime, until: datetime) -> str:
    """The page a report prints, over exactly its period (``from``/``to`` in its address).

    >>> from datetime import timezone
    >>> t0, t1 = datetime(2026, 12, 1, tzinfo=timezone.utc), datetime(2026, 12, 2, tzinfo=timezone.utc)
    >>> report_page({"page": "/boards/ops?range=7d&var-source=web", "query": {}}, t0, t1)
    '/boards/ops?var-source=web&from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z'
    >>> report_page({"page": None, "query": {"window": "24h", "group_by": "source"}}, t0, t1)
    '/explore?group_by=source&from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z'
    """
    if schedule.get("page"):
        path, _, search = page_path(schedule["page"]).partition("?")
    else:
        params = {k: v for k, v in exports.query_params(schedule["query"]).items() if k not in ("mode", "window")}
        path, search = "/explore", urlencode(params, safe=":,")
    return path + with_time("?" + search if search else "", {"from": iso(since), "to": iso(until)})


def period_text(since: datetime, until: datetime) -> str:
    """>>> from datetime import timezone
    >>> period_text(datetime(2026, 12, 1, tzinfo=timezone.utc), datetime(2026, 12, 2, 6, tzinfo=timezone.utc))
    '2026-12-01 00:00 – 2026-12-02 06:00 UTC'
    """
    return f"{since:%Y-%m-%d %H:%M} – {until:%Y-%m-%d %H:%M} UTC"


def compose(
    *,
    title: str,
    period: str,
    sentences: list[Sentence],
    base: str,
    page: str,
    notes: list[str],
    unsubscribe: str,
    inline_png: bool,
) -> tuple[str, str, str]:
    """Subject, text and HTML of one report mail."""
    subject = f"{title} · {period}"
    text = [f"{title}", f"Period: {period}", ""]
    text += [f"- {s.text} {base}{s.link}" for s in sentences]
    text += ["", f"The page: {base}{page}", *notes, "", f"Stop getting this report: {unsubscribe}"]
    esc = html.escape
    items = "".join(f'<li><a href="{esc(base + s.link)}">{esc(s.text)}</a></li>' for s in sentences)
    picture = (
        f'<p><a href="{esc(base + page)}"><img src="cid:{SUMMARY_CID}" alt="{esc(title)}" '
        'style="max-width:100%;border:1px solid #ddd"></a></p>'
        if inline_png
        else ""
    )
    body = (
        f'<h2 style="font-family:sans-serif">{esc(title)}</h2>'
        f'<p style="font-family:sans-serif;color:#555">{esc(period)}</p>'
        f'<ul style="font-family:sans-serif">{items}</ul>{picture}'
        f'<p style="font-family:sans-serif"><a href="{esc(base + page)}">Open the page</a></p>'
        + "".join(f'<p style="font-family:sans-serif;color:#a61e4d">{esc(n)}</p>' for n in notes)
        + f'<p style="font-family:sans-serif;font-size:small;color:#777"><a href="{esc(unsubscribe)}">'
        "Stop getting this report</a></p>"
    )
    return subject, "\n".join(text) + "\n", body


def _attachment(filename: str, mime: str, data: bytes, content_id: str | None = None) -> dict[str, Any]:
    item = {"filename": filename, "mime": mime, "data": base64.b64encode(data).decode("ascii")}
    return item | ({"content_id": content_id} if content_id else {})


def send_report(services: Services, schedule: dict[str, Any], written: exports.Written, when: datetime) -> int:
    """Queue this run's report for each recipient; how many messages were queued (0: sent before)."""
    recipients = list(schedule.get("recipients") or [])
    if not recipients:
        return 0
    settings = services.settings
    resolved = exports.resolve(exports.query_params(schedule["query"]), when, settings)
    since, until = resolved.query.since, resolved.query.until
    options = dict(schedule.get("report") or {})
    title = options.get("title") or schedule["name"]
    period = period_text(since, until)
    page = report_page(schedule, since, until)
    base = settings.public_url.rstrip("/")
    with services.db.read() as conn:
        sentences = period_summary(conn, since=since, until=until, executor=services.compute)
    notes: list[str] = []
    attachments: list[dict[str, Any]] = []
    printed = _print(services, page, title, period, when, options, notes, summary_html(sentences, base))
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    if printed is not None:
        attachments.append(_attachment(f"{schedule['slug']}-{stamp}.pdf", "application/pdf", printed.pdf))
        if printed.png:
            attachments.append(_attachment("summary.png", "image/png", printed.png, SUMMARY_CID))
    for name, data in board_tables(services, page, since, until, notes):
        attachments.append(_attachment(name, "text/csv", data))
    size = written.path.stat().st_size
    if size <= MAX_CSV_BYTES:
        attachments.append(_attachment(written.path.name, "text/csv", written.path.read_bytes()))
    else:
        notes.append(
            f"The CSV ({size / 1e6:.1f} MB) is too large to attach: "
            f"{base}/api/exports/files/{schedule['slug']}/{written.path.name}"
        )
    queued = 0
    with services.db.write() as conn:
        for recipient in recipients:
            unsubscribe = unsubscribe_link(base, services.signing_key, int(schedule["id"]), recipient)
            subject, text, body = compose(
                title=title,
                period=period,
                sentences=sentences,
                base=base,
                page=page,
                notes=notes,
                unsubscribe=unsubscribe,
                inline_png=bool(printed and printed.png),
            )
            made = outbox.enqueue(
                conn,
                recipient=recipient,
                subject=subject,
                body_text=text,
                body_html=body,
                attachments=attachments,
                dedupe_key=f"{REPORT_KEY_PREFIX}{schedule['id']}:{stamp}:{recipient.lower()}",
                now=services.now(),
            )
            queued += made is not None
    if queued:
        services.mailer.wake()
    log.info("report %s: %d messages queued for %s", schedule["name"], queued, period)
    return queued


def board_tables(
    services: Services, page: str, since: datetime, until: datetime, notes: list[str]
) -> list[tuple[str, bytes]]:
    """The CSV of each table panel of the board ``page`` shows (none for another page),
    over the period and with the variables of the page's address."""
    path, _, search = page.partition("?")
    if not path.startswith("/boards/"):
        return []
    with services.db.read() as conn:
        found = boards.get_board(conn, unquote(path.removeprefix("/boards/").strip("/")))
    if found is None:
        notes.append(f"The board {path} does not exist (any more).")
        return []
    values = {k.removeprefix("var-"): v for k, v in parse_qsl(search) if k.startswith("var-")}
    out = []
    for panel in found.board.panels:
        if panel.kind != "table":
            continue
        try:
            params = resolve_query(panel, found.board, values, time={"from": iso(since), "to": iso(until)})
            q = parse_query(params, now=until, longest=services.max_window())
            text = io.StringIO()
            exports.write_csv(services.db, exports.Resolved(q, False), text)
        except DomainError as exc:
            notes.append(f"The table {panel.title!r} could not be exported: {exc}")
            continue
        out.append((f"{panel.id}.csv", text.getvalue().encode()))
    return out


def summary_html(sentences: list[Sentence], base: str) -> str:
    """The summary as the printed page shows it above its content.

    >>> summary_html([Sentence("5 events.", "/explore", "totals")], "https://p.example")
    '<div class="card"><div class="card-body"><h2 class="h5">Summary of the period</h2><ul class="mb-0"><li><a href="https://p.example/explore">5 events.</a></li></ul></div></div>'
    """
    items = "".join(f'<li><a href="{html.escape(base + s.link)}">{html.escape(s.text)}</a></li>' for s in sentences)
    return (
        '<div class="card"><div class="card-body"><h2 class="h5">Summary of the period</h2>'
        f'<ul class="mb-0">{items}</ul></div></div>'
    )


def _print(
    services: Services,
    page: str,
    title: str,
    period: str,
    when: datetime,
    options: dict[str, Any],
    notes: list[str],
    preface: str,
) -> Printed | None:
    if services.printer is None:
        notes.append("The page could not be printed: this process has no printer.")
        return None
    try:
        return services.printer.print_page(
            page,
            title=title,
            period=period,
            made=when,
            options=PdfOptions(
                paper=options.get("paper", "A4"),
                landscape=options.get("orientation", "landscape") == "landscape",
                theme=options.get("theme", "light"),
            ),
            png=True,
            preface=preface,
        )
    except (PdfUnavailable, TimeoutError) as exc:
        notes.append(f"The page could not be printed: {exc}")
        return None
