"""Every component id of the dashboard, in one place."""
from __future__ import annotations

URL = "url"
PAGE = "page"
THEME = "theme"
THEME_TOGGLE = "theme-toggle"
THEME_STORE = "theme-store"
REFRESH = "refresh"
EVENT_COUNT = "event-count"

# overview
KPI = "kpi"  # prefix: kpi-<name>
HEALTH = "health"
ACTIVITY = "activity-chart"
WINDOW = "activity-window"
FEED = "event-feed"
SOURCES = "source-breakdown"


def kpi(name: str) -> str:
    return f"{KPI}-{name.replace('_', '-')}"
