"""``GET /api/pdf?path=/explore?...``: a page of the dashboard as a PDF,
printed by the app's printer (web.pdf: headless Chromium through a loopback
server of its own, reading as a viewer).

A 503 names what to install when Chromium is missing; a 504 says the page
did not finish drawing in time; at most :data:`AT_ONCE` PDFs are made at a
time (more: 429), as each holds a browser.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, Response, current_app, request

from api.ingest import services
from core.errors import InvalidInput
from core.pdf import PAPERS, PdfOptions, PdfUnavailable, page_path
from core.timerange import parse_range
from web.docs import Param, doc
from web.http import ApiError, presented_key

bp = Blueprint("pdf", __name__)
AT_ONCE = 2
_slots = threading.BoundedSemaphore(AT_ONCE)


def period_text(path: str, longest: Any) -> str:
    """The period a page's URL names, as the PDF's header writes it ("" for the page's own default).

    >>> from datetime import timedelta
    >>> period_text("/explore?range=6h", timedelta(days=400)), period_text("/", timedelta(days=400))
    ('last 6h', '')
    >>> period_text("/?from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z", timedelta(days=400))
    '2026-12-01 00:00 – 2026-12-02 00:00 UTC'
    """
    query = dict(parse_qsl(urlsplit(path).query))
    if not any(query.get(k) for k in ("range", "from", "to", "window")):
        return ""
    try:
        tr = parse_range(query, default="1h", longest=longest)
    except InvalidInput:
        return ""
    if tr.range:
        return f"last {tr.range}"
    store = tr.to_store()
    since, until = (datetime.fromisoformat(store[k]) for k in ("since", "until"))
    return f"{since:%Y-%m-%d %H:%M} – {until:%Y-%m-%d %H:%M} UTC"


@doc(
    "GET",
    "/api/pdf",
    "A page of the dashboard as a PDF (A4 or Letter), printed by headless Chromium as a viewer sees it",
    Param("path", description="The page with its URL query, e.g. /explore?range=6h&group_by=source"),
    Param("title", description="The title in the PDF's header (default: Pulseboard)"),
    Param("paper", description="A4 (default) or Letter"),
    Param("orientation", description="landscape (default) or portrait"),
    Param("theme", description="light (default) or dark"),
    tag="reports",
    produces=("application/pdf",),
    responses=(200, 400, 429, 503, 504),
)
@bp.get("/api/pdf")
def pdf() -> Response:
    path = page_path(request.args.get("path"))
    paper = request.args.get("paper", "A4")
    if paper not in PAPERS:
        raise InvalidInput("paper", f"one of {', '.join(PAPERS)}, got {paper!r}")
    orientation = request.args.get("orientation", "landscape")
    if orientation not in ("landscape", "portrait"):
        raise InvalidInput("orientation", f"landscape or portrait, got {orientation!r}")
    theme = request.args.get("theme", "light")
    if theme not in ("light", "dark"):
        raise InvalidInput("theme", f"light or dark, got {theme!r}")
    svc = services()
    if svc.settings.auth and presented_key() is not None:
        raise ApiError(403, "a PDF of a page is made for a signed-in user; with an API key use 'python app.py report'")
    title = (request.args.get("title") or "Pulseboard").strip()[:200]
    if svc.printer is None:
        raise ApiError(503, "this server has no printer")
    if not _slots.acquire(blocking=False):
        raise ApiError(429, f"{AT_ONCE} PDFs are being made; try again in a moment")
    try:
        body = svc.printer.pdf(
            path,
            title=title,
            period=period_text(path, svc.max_window()),
            made=datetime.now(timezone.utc),
            options=PdfOptions(paper=paper, landscape=orientation == "landscape", theme=theme),
        )
    except PdfUnavailable as exc:
        raise ApiError(503, str(exc)) from exc
    except TimeoutError as exc:
        raise ApiError(504, str(exc)) from exc
    finally:
        _slots.release()
    name = urlsplit(path).path.strip("/").replace("/", "-") or "overview"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M")
    response = current_app.response_class(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="pulseboard-{name}-{stamp}.pdf"'
    return response
