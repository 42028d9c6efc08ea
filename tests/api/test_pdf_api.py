"""PDFs of pages: ``GET /api/pdf`` (the page as a viewer sees it), and
``python app.py report``; each printed by a real headless Chromium and read
back with pypdf."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pypdf
import pytest
import requests

from tests.api.test_signin import add, sign_in

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser


def text_of(body: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(body))
    return "\n".join(page.extract_text() for page in reader.pages)


def post_scans(server: Any, n: int, headers: dict[str, str] | None = None) -> None:
    now = datetime.now(timezone.utc)
    events = [
        {"ts": (now - timedelta(minutes=20 + i)).isoformat(), "type": "scan", "source": "warehouse-scanner"}
        for i in range(n)
    ]
    r = requests.post(server.url + "/api/events", json=events, headers=headers or {}, timeout=30)
    assert r.status_code == 201, r.text


def test_a_page_as_a_pdf_has_its_title_period_and_data(sqlite_server: Any) -> None:
    post_scans(sqlite_server, 7)
    r = requests.get(
        sqlite_server.url + "/api/pdf",
        params={"path": "/explore?range=6h&group_by=source&bucket=none", "title": "Scanner weekly"},
        timeout=120,
    )
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="pulseboard-explore-')
    text = text_of(r.content)
    assert "Scanner weekly · last 6h" in text
    assert "warehouse-scanner" in text  # the result table's group
    assert "Count · 1 rows" in text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"path": "//evil.example/"}, "path"),
        ({"path": "/api/events"}, "path"),
        ({"path": "/", "paper": "A3"}, "paper"),
        ({"path": "/", "orientation": "sideways"}, "orientation"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(sqlite_server: Any, params: dict[str, str], field: str) -> None:
    r = requests.get(sqlite_server.url + "/api/pdf", params=params, timeout=30)
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == field


def test_without_chromium_the_pdf_says_what_to_install(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, chromium="/no/such/chromium")
    r = requests.get(server.url + "/api/pdf", params={"path": "/"}, timeout=30)
    assert r.status_code == 503
    assert r.json()["error"] == "PDFs need Chromium: /no/such/chromium (--chromium) does not exist"
    assert requests.get(server.url + "/api/health", timeout=30).json()["status"] == "healthy"  # the rest runs as before


def test_with_sign_in_a_signed_in_user_gets_the_page_not_the_sign_in_form(
    make_server_for: Any, sqlite_url: str
) -> None:
    server = make_server_for(sqlite_url, auth=True, api_keys="feed-key")
    add(server, "ada", "ada-admin-pw", "admin")
    post_scans(server, 3, headers={"Authorization": "Bearer feed-key"})
    http = sign_in(server, "ada", "ada-admin-pw")
    r = http.get(server.url + "/api/pdf", params={"path": "/explore?range=6h&group_by=source&bucket=none"}, timeout=120)
    assert r.status_code == 200, r.text[:300]
    text = text_of(r.content)
    assert "warehouse-scanner" in text and "Sign in" not in text
    anonymous = requests.get(server.url + "/api/pdf", params={"path": "/"}, timeout=30)
    assert anonymous.status_code == 401
    keyed = requests.get(
        server.url + "/api/pdf", params={"path": "/"}, headers={"Authorization": "Bearer feed-key"}, timeout=30
    )
    assert keyed.status_code == 403 and "python app.py report" in keyed.json()["error"]


def test_the_printers_own_server_lets_in_only_the_printer_and_only_to_read(
    make_server_for: Any, sqlite_url: str
) -> None:
    server = make_server_for(sqlite_url, auth=True, api_keys="feed-key")
    printer = server.services.printer
    base = printer.url()
    assert base != server.url
    assert requests.get(base + "/api/events", timeout=30).status_code == 403  # no token: nothing
    token = {"X-Pulseboard-Printer": printer._token}
    r = requests.get(base + "/api/events", headers=token, timeout=30)
    assert r.status_code == 200 and r.json()["events"] == []  # with it: a viewer's read
    write = requests.post(base + "/api/rules", json={"name": "x"}, headers={**token, "Origin": base}, timeout=30)
    assert (write.status_code, write.json()["error"]) == (403, "the printer only reads")


def run_app(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args], cwd=ROOT, capture_output=True, text=True, timeout=180
    )


def test_the_report_command_writes_a_pdf_of_a_page(tmp_path: Path, make_server_for: Any) -> None:
    db = f"sqlite:///{tmp_path / 'pulse.db'}"
    post_scans(make_server_for(db), 4)
    out = tmp_path / "overview.pdf"
    done = run_app("report", "--url", "/explore?range=24h&group_by=source&bucket=none", "--out", str(out), "--db", db)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"wrote {out} (")
    text = text_of(out.read_bytes())
    assert "Pulseboard · Explore · last 24h" in text and "warehouse-scanner" in text
    assert "made " in text and " UTC" in text

    bad = run_app("report", "--url", "https://elsewhere.example/", "--out", str(out), "--db", db)
    assert (bad.returncode, bad.stderr.strip().splitlines()[-1]) == (
        2,
        "pulseboard: --url: a page of this dashboard, e.g. /explore?range=6h",
    )
    missing = run_app("report", "--url", "/", "--out", str(out), "--db", db, "--chromium", "/no/such/chromium")
    assert (missing.returncode, missing.stderr.strip().splitlines()[-1]) == (
        1,
        "pulseboard: PDFs need Chromium: /no/such/chromium (--chromium) does not exist",
    )


def test_the_printer_opens_pages_in_the_theme_asked_for() -> None:
    from layouts import ids
    from web.pdf import THEME_KEY

    assert THEME_KEY == ids.THEME_STORE  # the key the theme switch reads its stored choice from


def test_a_page_prints_from_a_thread_whose_asyncio_loop_is_running(sqlite_server: Any) -> None:
    import asyncio
    import threading

    async def inside_a_loop() -> bytes:
        printer = sqlite_server.services.printer
        return printer.pdf("/", title="From a loop", period="", made=datetime.now(timezone.utc))  # type: ignore[no-any-return]

    printed: list[bytes] = []
    thread = threading.Thread(target=lambda: printed.append(asyncio.run(inside_a_loop())))
    thread.start()
    thread.join(timeout=120)
    assert printed and printed[0].startswith(b"%PDF") and "From a loop" in text_of(printed[0])
