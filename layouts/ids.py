"""Every component id of the dashboard, in one place."""

from __future__ import annotations

from typing import Any

URL = "url"


def page_url(page: str) -> str:
    """Each page's own Location, which writes the page's state into the query string."""
    return f"{page}-url"


def page_search(page: str) -> str:
    """The query string a page's callbacks want in the address; written into
    :func:`page_url` only while that page is still the one shown (callbacks.timebar)."""
    return f"{page}-url-wanted"


PAGE = "page"
THEME = "theme"
THEME_TOGGLE = "theme-toggle"
THEME_STORE = "theme-store"
NAV_TOGGLER = "nav-toggler"
NAV_COLLAPSE = "nav-collapse"
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
LIVE_SOCKET = "live-socket"  # the dash-extensions WebSocket
LIVE_CONFIG = "live-config"  # ids and limits for the clientside code (assets/live.js)
LIVE_KPI_BASE = "live-kpi-base"  # the counting cards' values from the server, with the last event id counted
TOASTS = "toasts"
TOAST_CLICKS = "toast-clicks"  # the EventListener around the toasts
FEED_EVENT = "feed-event"  # prefix: feed-event-<event id>
TOAST = "toast"  # prefix: toast-<event id>


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
EX_FORECAST = "ex-forecast"  # the forecast's model and reason under the chart
EX_ATTR_KEY = "ex-attr-key"
EX_ATTR_VALUE = "ex-attr-value"
EX_CHART = "ex-chart"
EX_TABLE = "ex-table"
EX_SUMMARY = "ex-summary"
EX_ERROR = "ex-error"
EX_CSV = "ex-csv"
EX_JSON = "ex-json"
EX_SCHEDULE = "ex-schedule"
EX_DOWNLOAD = "ex-download"
EX_TOP = "ex-top"  # how many groups are drawn (top N by total)
EX_CHART_NOTE = "ex-chart-note"  # why the chart shown is not the one asked for
EX_OVERLAY_NOTE = "ex-overlay-note"  # why the overlays are off
EX_NOTES = "ex-notes"  # under the chart: groups left out or summed, precision


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
X_PREV = "x-prev"  # the same script's previous run
X_NEXT = "x-next"
X_ERROR = "x-error"  # a failed run's error message
X_REASON = "x-reason"  # why the run's duration is (or is not) outside its band, in words
X_ATTRS = "x-attrs"
X_NEIGHBOURS = "x-neighbours"  # chart: the run among the previous and next runs of its script
X_EXPLORE = "x-explore"  # link: the script's events around the run in Explore
X_EVENTS_API = "x-events-api"  # link: every event of the run's time window, as JSON

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
RV_FORECAST = "rv-forecast"  # the next 7 days' revenue and its model

# system
SY_CARDS = "sy-cards"
SY_CHART = "sy-chart"
SY_TIMINGS = "sy-timings"
SY_GROWTH = "sy-growth"  # database and disk growth, forecast
SY_FULL = "sy-full"  # "full in N days" or why not

# exports
EXP_NAME = "exp-name"
EXP_QUERY = "exp-query"
EXP_MODE = "exp-mode"
EXP_KIND = "exp-kind"
EXP_CRON = "exp-cron"
EXP_INTERVAL = "exp-interval"
EXP_KEEP = "exp-keep"
EXP_RECIPIENTS = "exp-recipients"  # input: addresses that get each run as a report
EXP_PAGE = "exp-page"  # input: the page a report prints
EXP_MAIL = "exp-mail"  # grid: the newest report e-mails and their state
EXP_MAIL_EMPTY = "exp-mail-empty"
EXP_CREATE = "exp-create"
EXP_MESSAGE = "exp-message"
EXP_SCHEDULES = "exp-schedules"
EXP_SCHEDULES_EMPTY = "exp-schedules-empty"
EXP_RUN = "exp-run"
EXP_TOGGLE = "exp-toggle"
EXP_DELETE = "exp-delete"
EXP_FILES = "exp-files"
EXP_CHANGED = "exp-changed"

# alerts
AL_TABS = "al-tabs"
AL_CHANGED = "al-changed"
AL_MESSAGE = "al-message"
AL_EVALUATE = "al-evaluate"
AL_COUNTS = "al-counts"
AL_ALERT_ID = "al-alert-id"
AL_DETAIL = "al-detail"
AL_ACTIVE = "al-active"
AL_ACTIVE_DATA = "al-active-data"
AL_RECENT = "al-recent"
AL_ALERT_DETAIL = "al-alert-detail"  # the card of /alerts?alert=<id>, drawn only when the URL names an alert
AL_ACK = "al-ack"  # pattern-matching type: {"type": AL_ACK, "index": alert id}
AL_H_RULE = "al-h-rule"
AL_H_STATE = "al-h-state"
AL_HISTORY = "al-history"
AL_HISTORY_NOTE = "al-history-note"
AL_RULES = "al-rules"
AL_RULE_ENABLED = "al-rule-enabled"  # pattern-matching type, index = rule id
AL_RULE_EDIT = "al-rule-edit"  # pattern-matching type, index = rule id
AL_FORM = "al-f"  # prefix: al-f-<field> (the rule form's controls)
AL_EDITING = "al-editing"
AL_FORM_TITLE = "al-form-title"
AL_FORM_MESSAGE = "al-form-message"
AL_SAVE = "al-save"
AL_NEW = "al-new"
AL_DELETE = "al-delete"
AL_FORM_BACKTEST = "al-form-backtest"
AL_DELETE_WRAP = "al-delete-wrap"
AL_S_RULE = "al-s-rule"
AL_S_LABELS = "al-s-labels"
AL_S_DURATION = "al-s-duration"
AL_S_COMMENT = "al-s-comment"
AL_S_ADD = "al-s-add"
AL_S_MESSAGE = "al-s-message"
AL_SILENCES = "al-silences"
AL_OUTBOX = "al-outbox"  # grid of the e-mail outbox's newest messages
AL_OUTBOX_NOTE = "al-outbox-note"
AL_S_DELETE = "al-s-delete"  # pattern-matching type, index = silence id
AL_BT_RULE = "al-bt-rule"
AL_BT_RANGE = "al-bt-range"
AL_BT_RUN = "al-bt-run"
AL_BT_SPEC = "al-bt-spec"
AL_BT_RESULT = "al-bt-result"
AL_FORECAST_ROW = "al-forecast-row"  # the rule form's forecast controls, shown for kind forecast


def al_field(name: str) -> str:
    return f"{AL_FORM}-{name.replace('_', '-')}"


def al_field_error(name: str) -> str:
    """What is wrong with a rule form control, under it."""
    return f"{al_field(name)}-error"


def al_tab(tab: str) -> str:
    return f"al-tab-{tab}"


def al_alert(alert_id: int) -> str:
    """A firing or pending alert's card in the list."""
    return f"alert-{alert_id}"


def al_alert_in_detail(alert_id: int) -> str:
    """The same alert's card inside its detail view (ids are unique per page)."""
    return f"alert-detail-{alert_id}"


def al_rule_row(rule_id: int) -> str:
    return f"rule-row-{rule_id}"


def al_silence_row(silence_id: int) -> str:
    return f"silence-row-{silence_id}"


def csv_button(grid: str) -> str:
    return f"{grid}-csv"


# Tables with a CSV export button (the Explore table has its own downloads).
GRIDS: tuple[str, ...] = (
    XS_TABLE,
    XS_STATS,
    X_COMPARISON,
    X_EVENTS,
    SS_TABLE,
    S_INTERACTIONS,
    RV_TIMINGS,
    SY_TIMINGS,
    EXP_SCHEDULES,
)
GRIDS += (AL_HISTORY, AL_OUTBOX)

# time bar (layouts/timebar.py): one range, refresh and link for every page
TIME_RANGE = "time-range"  # store: {range, seconds, since, until, live, refresh}
TIMEBAR = "timebar"  # the bar; data-paused, data-follow, data-ticks, data-refreshed
TB_URL = "timebar-url"  # the bar's own Location, which writes the time parameters
TB_PRESET = "tb-preset"  # prefix: tb-preset-<preset>
TB_RANGE_PART = "tb-range"  # presets and from/to (hidden where a page has no time range)
TB_FROM = "tb-from"
TB_TO = "tb-to"
TB_APPLY = "tb-apply"
TB_ERROR = "tb-error"
TB_REFRESH = "tb-refresh"  # the refresh interval select
TB_PAUSE = "tb-pause"
TB_PAUSED = "tb-paused"  # store: bool
TB_LAST = "tb-last"  # store: the last relative range (double-click on a chart returns to it)
TB_ZOOM = "tb-zoom"  # store: a chart's drag-zoom or autoscale, {from, to} or {reset}
TB_COPY = "tb-copy"
TB_PDF = "tb-pdf"  # link: this page as a PDF (GET /api/pdf)
TB_COPIED = "tb-copied"


def tb_preset(preset: str) -> dict[str, str]:
    """A preset button's pattern-matching id (its DOM id is ``{"type":...,"value":...}``)."""
    return {"type": TB_PRESET, "value": preset}


NAV_LINK = "nav-link"  # a navigation link; the time bar keeps its href carrying the range


def nav_link(path: str) -> dict[str, str]:
    """A navigation link's pattern-matching id, by the page's path."""
    return {"type": NAV_LINK, "path": path}


# Charts with a time x axis: a drag-zoom on one sets the bar's from/to.
TIME_CHARTS: tuple[str, ...] = (ACTIVITY, EX_CHART, XS_TREND, EN_CHART, RV_CHART, SY_CHART)

# "Include Pulseboard's own events" switches (URL parameter self=1)
OV_SELF = "ov-self"
RV_SELF = "rv-self"
EN_SELF = "en-self"
OV_UPTIME = "ov-server-uptime"  # the server's own uptime, under the Health card

# boards (layouts/boards.py): the list, and one board's header, variables, rows and panels
BD_LIST = "bd-list"
BD_SEARCH = "bd-search"
BD_NEW_TITLE = "bd-new-title"
BD_NEW = "bd-new"
BD_MESSAGE = "bd-message"
BD_CHANGED = "bd-changed"  # store: bumped when a star or a board changed, to redraw the list
BD_STAR = "bd-star"  # pattern-matching type: {"type": BD_STAR, "uid": board uid}
BD_UID = "bd-uid"  # store: the uid the URL names
BD_BOARD = "bd-board"  # store: {uid, version, time, refresh, can_edit} of the board shown
BD_BODY = "bd-body"  # the board: header, variables and rows, drawn from the database
BD_VAR = "bd-var"  # pattern-matching type: {"type": BD_VAR, "name": variable name}
BD_GRID = "bd-grid"  # pattern-matching type: {"type": BD_GRID, "row": row index, -1 for panels in no row}
BD_ROW_TOGGLE = "bd-row-toggle"  # pattern-matching type, row = index
BD_ROW_BODY = "bd-row-body"  # pattern-matching type, row = index
BD_PANEL = "bd-panel"  # pattern-matching type: {"type": BD_PANEL, "uid": board uid, "panel": panel id}


def bd_star(uid: str) -> dict[str, str]:
    return {"type": BD_STAR, "uid": uid}


def bd_var(name: str) -> dict[str, str]:
    return {"type": BD_VAR, "name": name}


def bd_grid(row: int) -> dict[str, Any]:
    return {"type": BD_GRID, "row": row}


def bd_row_toggle(row: int) -> dict[str, Any]:
    return {"type": BD_ROW_TOGGLE, "row": row}


def bd_row_body(row: int) -> dict[str, Any]:
    return {"type": BD_ROW_BODY, "row": row}


def bd_panel(uid: str, panel: str) -> dict[str, str]:
    return {"type": BD_PANEL, "uid": uid, "panel": panel}


def bd_item(panel: str) -> str:
    """A panel's grid item (the grid keys its layout by this string)."""
    return f"bd-item-{panel}"


# boards: editing (layouts/board_edit.py)
BD_TOOLBAR = "bd-toolbar"  # edit controls
BD_TOOLBAR_WRAP = "bd-toolbar-wrap"  # shown to those who may change the board
BD_EDIT = "bd-edit"  # switch: edit mode (drag, resize, panel buttons)
BD_STATUS = "bd-status"  # what the last save did ("saved", "changed elsewhere, reload")
BD_ADD_PANEL = "bd-add-panel"
BD_VERSIONS = "bd-versions"  # button: open the version history
BD_VERSIONS_MODAL = "bd-versions-modal"
BD_VERSIONS_LIST = "bd-versions-list"
BD_RESTORE = "bd-restore"  # pattern-matching type, version = number
BD_DUPLICATE = "bd-duplicate"
BD_EXPORT = "bd-export"
BD_DOWNLOAD = "bd-download"
BD_IMPORT = "bd-import"  # the list page's YAML upload
BD_PANEL_EDIT = "bd-panel-edit"  # pattern-matching type, panel = id
BD_FORM = "bd-form"  # the panel form's modal
BD_FORM_PANEL = "bd-form-panel"  # store: the id of the panel edited, None for a new one
BD_F = "bd-f"  # prefix: bd-f-<field> (the panel form's controls)
BD_FORM_SAVE = "bd-form-save"
BD_FORM_REMOVE = "bd-form-remove"
BD_FORM_MESSAGE = "bd-form-message"
BD_NOTES = "bd-notes"  # store: bumped when an annotation was added (the time series redraw)
BD_NOTE_TEXT = "bd-note-text"
BD_NOTE_TS = "bd-note-ts"
BD_NOTE_TAGS = "bd-note-tags"
BD_NOTE_ADD = "bd-note-add"
BD_NOTE_MESSAGE = "bd-note-message"
BD_WRAP = "bd-wrap"  # the board's container: class pb-bd-editing in edit mode

# explore: "Add to board…"
EX_ADD_BOARD = "ex-add-board"
EX_AB_MODAL = "ex-ab-modal"
EX_AB_BOARD = "ex-ab-board"
EX_AB_NEW_TITLE = "ex-ab-new-title"
EX_AB_TITLE = "ex-ab-title"
EX_AB_SAVE = "ex-ab-save"
EX_AB_MESSAGE = "ex-ab-message"
EX_AB_LINK = "ex-ab-link"  # the board the view was saved on


def bd_field(name: str) -> str:
    return f"{BD_F}-{name.replace('_', '-')}"


def bd_restore(version: int) -> dict[str, Any]:
    return {"type": BD_RESTORE, "version": version}


def bd_panel_edit(panel: str) -> dict[str, str]:
    return {"type": BD_PANEL_EDIT, "panel": panel}


BD_NOTE_FORM = "bd-note-form"  # the note form, shown to those who may annotate the board
BD_SOCKET = "bd-socket"  # the board's live feed (dash-extensions WebSocket)
BD_WATCHDOG = "bd-watchdog"  # one-second tick: reconnects, and flushes a held live update
BD_LIVE = "bd-live"  # store: the last event id seen live (panels following now redraw)
BD_GRAPH = "bd-graph"  # pattern-matching type: a time series panel's chart, {"type", "uid", "panel"}


def bd_graph(uid: str, panel: str) -> dict[str, str]:
    """A time series panel's chart: a drag-zoom on it sets the time bar's from/to."""
    return {"type": BD_GRAPH, "uid": uid, "panel": panel}


# a board's settings (edit mode): title, description, tags, time, refresh, variables, rows
BD_SETTINGS = "bd-settings"  # button: open the settings
BD_SETTINGS_MODAL = "bd-settings-modal"
BD_S = "bd-s"  # prefix: bd-s-<field> (the settings' own fields)
BD_S_VARS = "bd-s-vars"  # the variables' editors
BD_S_ROWS = "bd-s-rows"  # the rows' editors
BD_S_ADD_VAR = "bd-s-add-var"
BD_S_ADD_ROW = "bd-s-add-row"
BD_S_SAVE = "bd-s-save"
BD_S_MESSAGE = "bd-s-message"
BD_SV = "bd-sv"  # prefix of a variable editor's pattern-matching types: bd-sv-<field>, key = the editor's key
BD_SR = "bd-sr"  # prefix of a row editor's pattern-matching types: bd-sr-<field>, key = r<index> or n<number>
VARIABLE_FIELDS = ("name", "label", "kind", "values", "dimension", "default", "multi")
ROW_FIELDS = ("title", "collapsed")
# deleting a board (owner or admin, edit mode), with a confirm step
BD_DELETE = "bd-delete"
BD_DELETE_MODAL = "bd-delete-modal"
BD_DELETE_CONFIRM = "bd-delete-confirm"
BD_DELETE_CANCEL = "bd-delete-cancel"
BD_DELETE_MESSAGE = "bd-delete-message"
# share links (admins)
BD_SHARE_WRAP = "bd-share-wrap"  # shown to admins
BD_SHARE = "bd-share"  # button: open the share links
BD_SHARE_MODAL = "bd-share-modal"
BD_SHARE_CREATE = "bd-share-create"
BD_SHARE_LIST = "bd-share-list"
BD_SHARE_MESSAGE = "bd-share-message"
BD_SHARE_REVOKE = "bd-share-revoke"  # pattern-matching type, token = the link's token
BD_SHARE_URL = "bd-share-url"  # pattern-matching type, token = the link's token


def bd_setting(name: str) -> str:
    return f"{BD_S}-{name}"


def bd_sv(field: str, key: str) -> dict[str, str]:
    return {"type": f"{BD_SV}-{field}", "key": key}


def bd_sr(field: str, key: str) -> dict[str, str]:
    return {"type": f"{BD_SR}-{field}", "key": key}


def bd_share_revoke(token: str) -> dict[str, str]:
    return {"type": BD_SHARE_REVOKE, "token": token}


def bd_share_url(token: str) -> dict[str, str]:
    return {"type": BD_SHARE_URL, "token": token}
