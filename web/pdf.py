"""A page of the dashboard as a PDF, printed by headless Chromium so that it
looks like the page: the ``report`` command, the time bar's PDF button and
scheduled reports use it, each through the app's :class:`Printer`.

Chromium is driven through Playwright (already the browser tests' driver)
with the system's Chromium (``--chromium``, else ``chromium``,
``chromium-browser`` or ``google-chrome`` on the PATH); no browser is
downloaded. Without one, :func:`render_pdf` raises :class:`PdfUnavailable`
with one line saying what to install, and the rest of Pulseboard runs as
before.

The page is opened paused (``paused=1``: no refresh while it is printed)
and printed once every Dash callback has answered and the network has been
quiet, with a header naming the title, the period and when it was made.

The printing browser reaches the app through a loopback server of the
printer's own (on a free port, started on first use), never through the
public listener: a middleware there lets in only requests that carry the
printer's one-off token, and marks them (:data:`PRINTER_ENVIRON`) so that the
sign-in policy treats them as a viewer. So PDFs work with sign-in on, behind
a proxy and in every worker, without knowing the public address.
"""

from __future__ import annotations

import hmac
import html
import secrets
import shutil
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.serving import BaseWSGIServer, make_server

from core.pdf import DEFAULT_OPTIONS, PdfOptions, PdfUnavailable, Printed

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL = "PDFs need Chromium: install it (Debian: apt-get install chromium) or name it with --chromium PATH"
# Puts a block of HTML above the page's content (the main element the shell draws pages into).
PREFACE = """(html) => {
  const block = document.createElement('section');
  block.className = 'pb-print-preface mb-3';
  block.innerHTML = html;
  (document.querySelector('#page') || document.body).prepend(block);
}"""
THEME_KEY = "theme-store"  # where the theme switch keeps its choice (localStorage; layouts.ids.THEME_STORE)
# The page is drawn (the app's shell and the page's own content, not Dash's "Loading...") and no
# Dash callback is in flight.
SETTLED = """() => !document.querySelector('._dash-loading, [data-dash-is-loading="true"]')
    && !!document.querySelector('#page > *') && !!document.querySelector('.pb-navbar')"""


PRINTER_ENVIRON = "pulseboard.printer"  # set on the requests of the printer's own server only
TOKEN_HEADER = "X-Pulseboard-Printer"


def find_chromium(configured: str = "") -> str:
    """The Chromium to print with: ``configured`` if given (it must exist), else the first on the PATH.

    >>> find_chromium("/no/such/chromium")
    Traceback (most recent call last):
    ...
    core.pdf.PdfUnavailable: PDFs need Chromium: /no/such/chromium (--chromium) does not exist
    """
    if configured:
        found = shutil.which(configured)
        if not found:
            raise PdfUnavailable(f"PDFs need Chromium: {configured} (--chromium) does not exist")
        return found
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise PdfUnavailable(INSTALL)


def paused(url: str) -> str:
    """``url`` with ``paused=1``, so that the page does not refresh while it is printed.

    >>> paused("http://h/explore?range=6h"), paused("http://h/?paused=1")
    ('http://h/explore?range=6h&paused=1', 'http://h/?paused=1')
    """
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "paused"] + [("paused", "1")]
    return urlunsplit(parts._replace(query=urlencode(query, safe=":,")))


def header(title: str, period: str, made: datetime) -> str:
    """The header printed on every page: the title, the period and when it was made.

    >>> header("Overview <1h>", "last 1 h", datetime(2026, 12, 1, 10, 0))
    '<div style="font-size:8px;width:100%;margin:0 10mm;display:flex;justify-content:space-between;font-family:sans-serif"><span>Overview &lt;1h&gt; · last 1 h</span><span>made 2026-12-01 10:00 UTC · page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>'
    """
    style = "font-size:8px;width:100%;margin:0 10mm;display:flex;justify-content:space-between;font-family:sans-serif"
    left = html.escape(f"{title} · {period}" if period else title)
    right = (
        f'made {made:%Y-%m-%d %H:%M} UTC · page <span class="pageNumber"></span> of <span class="totalPages"></span>'
    )
    return f'<div style="{style}"><span>{left}</span><span>{right}</span></div>'


def render_pdf(
    url: str,
    *,
    title: str,
    period: str,
    made: datetime,
    options: PdfOptions = DEFAULT_OPTIONS,
    chromium: str = "",
    headers: dict[str, str] | None = None,
    png: bool = False,
    preface: str | None = None,
) -> Printed:
    """The page at ``url`` (absolute), settled and printed as a PDF (and with
    ``png``, its first screen as a PNG); ``headers`` go with every request;
    ``preface`` (HTML, escaped by the caller) is put above the page's content
    before it is printed (a report's summary).
    Raises :class:`PdfUnavailable` without Chromium or Playwright, and
    ``TimeoutError`` when the page does not settle within the options' timeout.

    The browser is driven from a thread of its own: Playwright's synchronous
    API refuses to run in a thread whose asyncio loop is running (an async
    server's, or a caller's own browser session)."""
    result: list[Printed] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(_render(url, title, period, made, options, chromium, headers or {}, png, preface))
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=run, name="pulseboard-print", daemon=True)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return result[0]


def _render(
    url: str,
    title: str,
    period: str,
    made: datetime,
    options: PdfOptions,
    chromium: str,
    headers: dict[str, str],
    png: bool,
    preface: str | None,
) -> Printed:
    executable = find_chromium(chromium)
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # a runtime dependency, but a stripped install may lack it
        raise PdfUnavailable("PDFs need the playwright package: pip install -r requirements.txt") from exc
    theme = options.theme
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=ARGS)
            try:
                context = browser.new_context(viewport={"width": 1440, "height": 900}, extra_http_headers=headers)
                context.add_init_script(f"localStorage.setItem({THEME_KEY!r}, JSON.stringify({theme!r}))")
                page = context.new_page()
                timeout_ms = options.timeout * 1000
                page.goto(paused(url), wait_until="load", timeout=timeout_ms)
                page.wait_for_function(SETTLED, timeout=timeout_ms, polling=100)
                page.wait_for_load_state("networkidle", timeout=timeout_ms)
                page.wait_for_function(SETTLED, timeout=timeout_ms, polling=100)
                if preface:
                    page.evaluate(PREFACE, preface)
                page.emulate_media(media="screen")
                shot = page.screenshot(type="png") if png else None
                document = page.pdf(
                    format=options.paper,
                    landscape=options.landscape,
                    print_background=True,
                    display_header_footer=True,
                    header_template=header(title, period, made),
                    footer_template="<span></span>",
                    margin={"top": "14mm", "bottom": "8mm", "left": "8mm", "right": "8mm"},
                )
                return Printed(document, shot)
            finally:
                browser.close()
    except PlaywrightError as exc:
        if "Timeout" in type(exc).__name__ or "Timeout" in str(exc).split("\n", 1)[0]:
            raise TimeoutError(f"the page {url} did not finish drawing within {options.timeout:.0f} s") from exc
        raise


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Printer:
    """Prints pages of ``app`` (the WSGI app, as served) through a loopback
    server of its own; one PDF at a time per printer is not enforced here
    (the callers limit how many they ask for)."""

    def __init__(self, app: WSGIApp, *, chromium: str = "") -> None:
        self.app = app
        self.chromium = chromium
        self._token = secrets.token_urlsafe(32)
        self._lock = threading.Lock()
        self._httpd: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def _guarded(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        given = environ.get("HTTP_" + TOKEN_HEADER.upper().replace("-", "_"), "")
        if not hmac.compare_digest(str(given), self._token):
            start_response("403 Forbidden", [("Content-Type", "text/plain"), ("Content-Length", "0")])
            return [b""]
        environ[PRINTER_ENVIRON] = True
        return self.app(environ, start_response)

    def url(self) -> str:
        """The printer's own server (started on first use)."""
        with self._lock:
            if self._httpd is None:
                self._httpd = make_server("127.0.0.1", 0, self._guarded, threaded=True)
                self._thread = threading.Thread(
                    target=self._httpd.serve_forever, name="pulseboard-printer", daemon=True
                )
                self._thread.start()
            return f"http://127.0.0.1:{self._httpd.server_port}"

    def pdf(
        self, path: str, *, title: str, period: str, made: datetime, options: PdfOptions = DEFAULT_OPTIONS
    ) -> bytes:
        """The page at ``path`` (with its query) printed as a PDF."""
        return self.print_page(path, title=title, period=period, made=made, options=options).pdf

    def print_page(
        self,
        path: str,
        *,
        title: str,
        period: str,
        made: datetime,
        options: PdfOptions = DEFAULT_OPTIONS,
        png: bool = False,
        preface: str | None = None,
    ) -> Printed:
        """The page at ``path`` as a PDF, and with ``png`` its first screen as a
        PNG; ``preface`` (HTML) above the page's content."""
        find_chromium(self.chromium)  # before starting anything: no Chromium, no server
        return render_pdf(
            self.url() + path,
            title=title,
            period=period,
            made=made,
            options=options,
            chromium=self.chromium,
            headers={TOKEN_HEADER: self._token},
            png=png,
            preface=preface,
        )

    def close(self) -> None:
        with self._lock:
            if self._httpd is not None:
                self._httpd.shutdown()
                self._httpd.server_close()
                self._httpd = None
