"""Every component id of the dashboard, in one place."""
from __future__ import annotations

URL = "url"


def page_url(page: str) -> str:
    """Each page's own Location, which writes the page's state into the query string."""
    return f"{page}-url"
PAGE = "page"
THEME = "theme"
THEME_TOGGLE = "theme-toggle"
THEME_STORE = "theme-store"
REFRESH = "refresh"

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
TOASTS = "toasts"


def kpi(name: str) -> str:
    return f"{KPI}-{name.replace('_', '-')}"

# explore
EX_FILTER = "ex-filter"  # prefix: ex-filter-<dimension>
EX_WINDOW = "ex-window"
EX_METRIC = "ex-metric"
EX_FIELD = "ex-field"
EX_GROUP = "ex-group"
EX_BUCKET = "ex-bucket"
EX_CHART_TYPE = "ex-chart-type"
EX_OVERLAYS = "ex-overlays"
EX_ATTR_KEY = "ex-attr-key"
EX_ATTR_VALUE = "ex-attr-value"
EX_CHART = "ex-chart"
EX_TABLE = "ex-table"
EX_SUMMARY = "ex-summary"
EX_ERROR = "ex-error"
EX_CSV = "ex-csv"
EX_JSON = "ex-json"
EX_DOWNLOAD = "ex-download"


def ex_filter(dimension: str) -> str:
    return f"{EX_FILTER}-{dimension.replace('_', '-')}"

# executions
XS_SCRIPT = "xs-script"
XS_METRIC = "xs-metric"
XS_CARDS = "xs-cards"
XS_TABLE = "xs-table"
XS_TREND = "xs-trend"
XS_DIST = "xs-distribution"
XS_STATS = "xs-stats"
XS_STEPS = "xs-steps"
X_DETAIL = "x-detail"
X_ID = "x-id"
X_COMPARISON = "x-comparison"
X_EVENTS = "x-events"

# sessions
SS_TABLE = "ss-table"
S_ID = "s-id"
S_DETAIL = "s-detail"
S_SPEED = "s-speed"
S_DIST = "s-distribution"
S_CATEGORIES = "s-categories"
S_INTERACTIONS = "s-interactions"
S_CARDS = "s-cards"

# entities (tool usage)
EN_ENTITY = "en-entity"
EN_WINDOW = "en-window"
EN_CHART = "en-chart"
EN_USERS = "en-users"

# revenue (payments)
RV_PERIOD = "rv-period"
RV_CARDS = "rv-cards"
RV_CHART = "rv-chart"
RV_STATUS = "rv-status"
RV_HEATMAP = "rv-heatmap"
RV_TIMINGS = "rv-timings"

# system
SY_CARDS = "sy-cards"
SY_CHART = "sy-chart"
SY_TIMINGS = "sy-timings"


def csv_button(grid: str) -> str:
    return f"{grid}-csv"


# Tables with a CSV export button (the Explore table has its own downloads).
GRIDS = (XS_TABLE, XS_STATS, X_COMPARISON, X_EVENTS, SS_TABLE, S_INTERACTIONS, RV_TIMINGS, SY_TIMINGS)
