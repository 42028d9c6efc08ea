"""Scheduled reports end to end: a real Pulseboard server, an export schedule
with recipients run through the API, the mail delivered by the outbox's
sender to a real SMTP server (aiosmtpd), its PDF printed by a real headless
Chromium and read back with pypdf, and the unsubscribe link followed."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pypdf
import pytest
import requests
from sqlalchemy import func, select

from data import schedules
from data.models import EVENTS, to_micros
from jobs import exports, reports
from tests.conftest import SmtpSink, wait_until

pytestmark = pytest.mark.browser


def counted(server: Any, since: datetime, until: datetime) -> int:
    """Events of the period, counted straight from the table (self-monitoring left out)."""
    with server.services.db.read() as conn:
        stmt = select(func.count()).where(
            EVENTS.c.ts >= to_micros(since), EVENTS.c.ts < to_micros(until), EVENTS.c.source != "pulseboard"
        )
        return int(conn.execute(stmt).scalar_one())


def test_a_report_schedule_mails_the_page_as_pdf_with_the_summary_and_csv(
    make_server_for: Any, sqlite_url: str, smtp_sink: SmtpSink
) -> None:
    server = make_server_for(sqlite_url, smtp_host="127.0.0.1", smtp_port=smtp_sink.port, smtp_security="none")
    svc = server.services
    svc.settings = dataclasses.replace(svc.settings, public_url=server.url)  # its links lead back here
    svc.mailer.start()
    now = datetime.now(timezone.utc)
    events = [
        {"ts": (now - timedelta(hours=h) + timedelta(minutes=1)).isoformat(), "type": "scan", "source": "dock-scanner"}
        for h in range(1, 7)
        for _ in range(h)
    ]  # 21 in the last 6 h
    events += [{"ts": (now - timedelta(hours=8)).isoformat(), "type": "scan", "source": "dock-scanner"}] * 4
    assert server.post("/api/events", json=events).status_code == 201
    body = {
        "name": "Dock scans",
        "query": "window=6h&group_by=source&bucket=none",
        "interval_seconds": 3600,
        "recipients": ["ops@example.com", "lead@example.com"],
        "report": {"title": "Dock scans, last 6 hours"},
    }
    created = server.post("/api/exports/schedules", json=body)
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["recipients"] == ["ops@example.com", "lead@example.com"]

    ran = server.post(f"/api/exports/schedules/{schedule['id']}/run")
    assert ran.status_code == 200, ran.text
    wait_until(lambda: len(smtp_sink.received) == 2, timeout=120, message="the report to both recipients")
    assert sorted(to for (to,), _m in smtp_sink.received) == ["lead@example.com", "ops@example.com"]
    to, msg = next((to, m) for (to,), m in smtp_sink.received if to == "ops@example.com")
    subject = str(msg["Subject"])
    assert subject.startswith("Dock scans, last 6 hours · ")
    period = subject.split(" · ", 1)[1]
    total = 21  # the events of the last 6 hours posted above (the four older ones are not in the period)
    assert counted(server, now - timedelta(hours=6), now) == total
    text = msg.get_body(("plain",)).get_content()
    assert f"- {total:,} events" in text
    assert "dock-scanner: 21 events" in text

    files = {part.get_filename(): part for part in msg.iter_attachments()}
    pdf_name = next(name for name in files if name.endswith(".pdf"))
    pdf = pypdf.PdfReader(io.BytesIO(files[pdf_name].get_content()))
    printed = "\n".join(page.extract_text() for page in pdf.pages)
    assert "Dock scans, last 6 hours" in printed and period in printed
    assert "Summary of the period" in printed and f"{total:,} events" in printed  # the summary heads the PDF
    assert "dock-scanner" in printed  # the Explore table over exactly that period
    csv_name = next(name for name in files if name.endswith(".csv"))
    assert "dock-scanner" in files[csv_name].get_content()
    html_part = msg.get_body(("html",))
    assert 'src="cid:report-summary"' in html_part.get_content()
    inline = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert [str(p["Content-ID"]) for p in inline] == ["<report-summary>"]
    assert inline[0].get_content()[:8] == b"\x89PNG\r\n\x1a\n"

    # A run's report is queued once per recipient, however often it is sent for that run.
    with svc.db.read() as conn:
        row = schedules.get_schedule(conn, schedule["id"])
    assert row is not None
    (listed,) = server.get("/api/exports/files").json()["files"]
    written = exports.Written(svc.settings.exports_dir / listed["schedule"] / listed["name"], 1)
    again = now + timedelta(minutes=1)
    assert reports.send_report(svc, row, written, again) == 2
    assert reports.send_report(svc, row, written, again) == 0

    # The unsubscribe link: GET asks, POST takes the address off.
    link = re.search(r"Stop getting this report: (\S+)", text)
    assert link is not None
    page = requests.get(link.group(1), timeout=30)
    assert page.status_code == 200 and "Stop sending the report" in page.text
    form = dict(re.findall(r'name="(s|to|sig)" value="([^"]*)"', page.text))
    done = requests.post(server.url + reports.UNSUBSCRIBE_PATH, data=form, headers={"Origin": server.url}, timeout=30)
    assert done.status_code == 200 and "no longer sent to ops@example.com" in done.text
    assert server.get(f"/api/exports/schedules/{schedule['id']}").json()["recipients"] == ["lead@example.com"]
    forged = requests.get(link.group(1).replace("ops%40example.com", "lead%40example.com"), timeout=30)
    assert forged.status_code == 400


def test_a_bad_recipient_or_page_is_a_400_naming_it(server: Any) -> None:
    base = {"name": "r", "query": "window=1h", "interval_seconds": 3600}
    for extra, field in (
        ({"recipients": ["ops@example.com", "not-an-address"]}, "recipients"),
        ({"recipients": ["ops@example.com"], "page": "https://elsewhere.example/"}, "page"),
        ({"report": {"paper": "A3"}}, "report.paper"),
    ):
        r = server.post("/api/exports/schedules", json=base | extra)
        assert r.status_code == 400, r.text
        assert r.json()["errors"][0]["field"] == field


def test_a_board_report_has_the_boards_title_and_each_table_panels_csv(
    make_server_for: Any, db_url: str, smtp_sink: SmtpSink
) -> None:
    server = make_server_for(db_url, smtp_host="127.0.0.1", smtp_port=smtp_sink.port, smtp_security="none")
    svc = server.services
    svc.mailer.start()
    now = datetime.now(timezone.utc)
    events = [
        {"ts": (now - timedelta(minutes=30)).isoformat(), "type": t, "source": "gate-7"} for t in ("scan", "door")
    ]
    events += [{"ts": (now - timedelta(minutes=20)).isoformat(), "type": "scan", "source": "gate-7"}] * 3
    assert server.post("/api/events", json=events).status_code == 201
    board = {
        "uid": "gates",
        "title": "Gate activity",
        "panels": [
            {
                "id": "total",
                "title": "Events",
                "kind": "stat",
                "query": {"metric": "count"},
                "grid": {"x": 0, "y": 0, "w": 3, "h": 4},
            },
            {
                "id": "by-type",
                "title": "By type",
                "kind": "table",
                "query": {"metric": "count", "group_by": "type"},
                "grid": {"x": 3, "y": 0, "w": 6, "h": 6},
            },
        ],
    }
    assert server.post("/api/boards", json=board).status_code == 201
    body = {
        "name": "Gates daily",
        "query": "window=6h&group_by=source&bucket=none",
        "interval_seconds": 3600,
        "recipients": ["ops@example.com"],
        "page": "/boards/gates",
    }
    created = server.post("/api/exports/schedules", json=body)
    assert created.status_code == 201, created.text
    assert server.post(f"/api/exports/schedules/{created.json()['id']}/run").status_code == 200
    wait_until(lambda: len(smtp_sink.received) == 1, timeout=120, message="the board's report")
    (_to,), msg = smtp_sink.received[0]
    files = {part.get_filename(): part for part in msg.iter_attachments()}
    pdf = next(part for name, part in files.items() if name.endswith(".pdf"))
    printed = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.get_content())).pages)
    assert "Gates daily" in printed and "Gate activity" in printed  # the header's title, the board's own
    rows = sorted(line for line in files["by-type.csv"].get_content().strip().splitlines()[1:])
    assert rows == ["door,1", "scan,4"]
