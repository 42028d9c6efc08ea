"""The page registry: each page's path, navigation title and layout builder.

A page module in ``layouts/`` exposes ``page(pathname, query) -> component``
(``query`` is the URL's query string as a dict, so every view can be shared
and reloaded); its callbacks live in ``callbacks/<page>.py``. A page whose
path is ``/executions`` also serves ``/executions/<id>`` (drill-down).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from layouts import alerts, boards, entities, executions, explore, exports, overview, revenue, sessions, system

Layout = Callable[[str, dict[str, str]], Any]


@dataclasses.dataclass(frozen=True)
class Page:
    path: str
    title: str
    layout: Layout
    nav: bool = True
    # The time bar's range when the URL names none; None: the page has no time
    # range (the bar shows only the refresh controls and the link).
    time_range: str | None = None


PAGES: list[Page] = [
    Page("/", "Overview", overview.page, time_range="1h"),
    Page("/explore", "Explore", explore.page, time_range="24h"),
    Page("/sessions", "Sessions", sessions.page, time_range="7d"),
    Page("/executions", "Executions", executions.page, time_range="30d"),
    Page("/alerts", "Alerts", alerts.page, time_range="7d"),
    Page("/entities", "Entities", entities.page, time_range="1h"),
    Page("/revenue", "Revenue", revenue.page, time_range="30d"),
    Page("/system", "System", system.page, time_range="6h"),
    Page("/exports", "Exports", exports.page, time_range="30d"),
    Page("/boards", "Boards", boards.page, time_range="24h"),
]


def resolve(pathname: str | None) -> Page | None:
    path = (pathname or "/").rstrip("/") or "/"
    for page in PAGES:
        if path == page.path or (page.path != "/" and path.startswith(page.path + "/")):
            return page
    return None
