"""A page of the dashboard as a PDF, printed by headless Chromium so that it
looks like the page: the ``report`` command, the time bar's PDF button and
scheduled reports use it.

Chromium is driven through Playwright (already the browser tests' driver)
with the system's Chromium (``--chromium``, else ``chromium``,
``chromium-browser`` or ``google-chrome`` on the PATH); no browser is
downloaded. Without one, :func:`render_pdf` raises :class:`PdfUnavailable`
with one line saying what to install, and the rest of Pulseboard runs as
before.

The page is opened paused (``paused=1``: no refresh while it is printed)
and printed once every Dash callback has answered and the network has been
quiet, with a header naming the title, the period and when it was made.
"""

from __future__ import annotations

import dataclasses
import html
import shutil
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

PAPERS = ("A4", "Letter")
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
# Every Dash callback has answered: no component is loading and the title is not "Updating...".
THEME_KEY = "theme-store"  # where the theme switch keeps its choice (localStorage; layouts.ids.THEME_STORE)
SETTLED = """() => !document.querySelector('[data-dash-is-loading="true"]')
    && !/^Updating/.test(document.title) && !!document.querySelector('#react-entry-point > *')"""


class PdfUnavailable(RuntimeError):
    """No Chromium (or no Playwright) to print with; the message says what to install."""


@dataclasses.dataclass(frozen=True)
class PdfOptions:
    paper: str = "A4"
    landscape: bool = True
    theme: str = "light"
    timeout: float = 60.0  # seconds for the page to settle

    def __post_init__(self) -> None:
        if self.paper not in PAPERS:
            raise ValueError(f"paper: one of {', '.join(PAPERS)}, got {self.paper!r}")
        if self.theme not in ("light", "dark"):
            raise ValueError(f"theme: light or dark, got {self.theme!r}")


def find_chromium(configured: str = "") -> str:
    """The Chromium to print with: ``configured`` if given (it must exist), else the first on the PATH.

    >>> find_chromium("/no/such/chromium")
    Traceback (most recent call last):
    ...
    web.pdf.PdfUnavailable: PDFs need Chromium: /no/such/chromium (--chromium) does not exist
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
    options: PdfOptions = PdfOptions(),
    chromium: str = "",
    cookies: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """The page at ``url`` (absolute), settled and printed as a PDF.

    ``cookies`` (Playwright's cookie dicts) and ``headers`` go with every
    request, so that the page sees what the person asking for it may see.
    Raises :class:`PdfUnavailable` without Chromium or Playwright, and
    ``TimeoutError`` when the page does not settle within the options' timeout."""
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
                context = browser.new_context(viewport={"width": 1440, "height": 900}, extra_http_headers=headers or {})
                if cookies:
                    context.add_cookies(cookies)  # type: ignore[arg-type]
                context.add_init_script(f"localStorage.setItem({THEME_KEY!r}, JSON.stringify({theme!r}))")
                page = context.new_page()
                timeout_ms = options.timeout * 1000
                page.goto(paused(url), wait_until="load", timeout=timeout_ms)
                page.wait_for_function(SETTLED, timeout=timeout_ms, polling=100)
                page.wait_for_load_state("networkidle", timeout=timeout_ms)
                page.wait_for_function(SETTLED, timeout=timeout_ms, polling=100)
                page.emulate_media(media="screen")
                return page.pdf(
                    format=options.paper,
                    landscape=options.landscape,
                    print_background=True,
                    display_header_footer=True,
                    header_template=header(title, period, made),
                    footer_template="<span></span>",
                    margin={"top": "14mm", "bottom": "8mm", "left": "8mm", "right": "8mm"},
                )
            finally:
                browser.close()
    except PlaywrightError as exc:
        if "Timeout" in type(exc).__name__ or "Timeout" in str(exc).split("\n", 1)[0]:
            raise TimeoutError(f"the page {url} did not finish drawing within {options.timeout:.0f} s") from exc
        raise
