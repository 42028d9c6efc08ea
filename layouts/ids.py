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
LIVE_CHART = "live-chart"

# live push
WS_WATCHDOG = "ws-watchdog"
LIVE_STATUS = "live-status"


def kpi(name: str) -> str:
    return f"{KPI}-{name.replace('_', '-')}"
