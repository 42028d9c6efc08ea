"""What a PDF of a page is asked for with (paper, orientation, theme), and the
error of a machine that cannot print one; the printing itself is web.pdf's."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from core.errors import InvalidInput

PAPERS = ("A4", "Letter")
THEMES = ("light", "dark")


class PdfUnavailable(RuntimeError):
    """No Chromium (or no Playwright) to print with; the message says what to install."""


@dataclasses.dataclass(frozen=True)
class PdfOptions:
    """How a page is printed.

    >>> PdfOptions(paper="A3")
    Traceback (most recent call last):
    ...
    ValueError: paper: one of A4, Letter, got 'A3'
    """

    paper: str = "A4"
    landscape: bool = True
    theme: str = "light"
    timeout: float = 60.0  # seconds for the page to finish drawing

    def __post_init__(self) -> None:
        if self.paper not in PAPERS:
            raise ValueError(f"paper: one of {', '.join(PAPERS)}, got {self.paper!r}")
        if self.theme not in THEMES:
            raise ValueError(f"theme: {' or '.join(THEMES)}, got {self.theme!r}")


DEFAULT_OPTIONS = PdfOptions()


def page_path(raw: str | None) -> str:
    """The page to print: a path of this server's pages, with its query.

    >>> page_path("/explore?range=6h"), page_path(None)
    ('/explore?range=6h', '/')
    >>> page_path("//evil.example/x")
    Traceback (most recent call last):
    ...
    core.errors.InvalidInput: parameter 'path': a page of this dashboard, e.g. /explore?range=6h
    >>> page_path("/api/events")
    Traceback (most recent call last):
    ...
    core.errors.InvalidInput: parameter 'path': a page, not an API route: /api/events
    """
    path = (raw or "/").strip() or "/"
    parts = urlsplit(path)
    if not path.startswith("/") or path.startswith("//") or parts.scheme or parts.netloc or "\\" in path:
        raise InvalidInput("path", "a page of this dashboard, e.g. /explore?range=6h")
    if parts.path.startswith(("/api/", "/_dash", "/assets/", "/ws", "/socket.io")) or parts.path == "/api":
        raise InvalidInput("path", f"a page, not an API route: {parts.path}")
    return path


@dataclasses.dataclass(frozen=True)
class Printed:
    pdf: bytes
    png: bytes | None = None  # the page's first screen, when asked for


class PagePrinter(Protocol):
    """What prints pages of a running app (web.pdf.Printer); jobs reach it through the services."""

    def pdf(self, path: str, *, title: str, period: str, made: datetime, options: PdfOptions = ...) -> bytes: ...

    def print_page(
        self,
        path: str,
        *,
        title: str,
        period: str,
        made: datetime,
        options: PdfOptions = ...,
        png: bool = False,
        preface: str | None = None,
    ) -> Printed: ...

    def close(self) -> None: ...
