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

from layouts import alerts, entities, executions, explore, exports, overview, revenue, sessions, system

Layout = Callable[[str, dict[str, str]], Any]


@dataclasses.dataclass(frozen=True)
class Page:
    path: str
    title: str
    layout: Layout
    nav: bool = True


PAGES: list[Page] = [
    Page("/", "Overview", overview.page),
    Page("/explore", "Explore", explore.page),
    Page("/sessions", "Sessions", sessions.page),
    Page("/executions", "Executions", executions.page),
    Page("/alerts", "Alerts", alerts.page),
    Page("/entities", "Entities", entities.page),
    Page("/revenue", "Revenue", revenue.page),
    Page("/system", "System", system.page),
    Page("/exports", "Exports", exports.page),
]


def resolve(pathname: str | None) -> Page | None:
    path = (pathname or "/").rstrip("/") or "/"
    for page in PAGES:
        if path == page.path or (page.path != "/" and path.startswith(page.path + "/")):
            return page
    return None
