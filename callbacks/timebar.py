"""The time bar: URL -> the ``TIME_RANGE`` store and the bar's controls;
presets, from/to, the refresh select, pause and a chart's drag-zoom -> URL;
the refresh timer, the navigation links (they take the range along to the
next page; assets/timebar.js completes a link and the brand again when
clicked, so a click before the hrefs are rewritten keeps the range too) and
copy-link (clientside, assets/timebar.js).

The URL is the one source of truth: every control writes only the URL, and
one callback reads it back into the store that the pages' callbacks take as
their Input. A page's own URL state (Explore's metric, ...) is kept as is.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, no_update

from core.durations import parse_duration
from core.errors import InvalidInput
from core.timerange import (
    LEGACY,
    PAUSED,
    PRESETS,
    REFRESH,
    TIME_KEYS,
    iso,
    keep_time,
    parse_moment,
    parse_range,
    store_bounds,
    with_time,
)
from layouts import ids, timebar
from layouts.pages import resolve
from services import Services

FALLBACK = "1h"


def default_range(pathname: str | None) -> str | None:
    """The page's range when its URL names none; None for a page without one."""
    page = resolve(pathname)
    return page.time_range if page else None


def bounds(services: Services, store: Mapping[str, Any] | None, path: str) -> tuple[datetime, datetime]:
    """The interval a page at ``path`` queries for the bar's ``store``: its
    default range ending now until the bar has read the URL."""
    default = parse_duration(default_range(path) or FALLBACK, "range", longest=services.max_window())
    return store_bounds(store, services.now(), default=default)


def page_search(own: str, search: str | None, path: str) -> str:
    """A page's own URL query with the time bar's parameters of the current URL kept."""
    return keep_time(own, search, default=default_range(path))


def read(search: str | None, pathname: str | None, longest: timedelta) -> dict[str, Any]:
    """What the bar shows for a URL: the store, the controls' values, the
    error of a bad parameter (the page's default range is used meanwhile) and
    the canonical query when the URL used an old ``window=``."""
    query = dict(parse_qsl((search or "").lstrip("?")))
    default = default_range(pathname)
    has_range = default is not None
    if not has_range:  # a page's own parameter may be called range: not ours
        query = {k: v for k, v in query.items() if k in ("refresh", "paused")}
    error, field = None, None
    try:
        tr = parse_range(query, default=default or FALLBACK, longest=longest)
    except InvalidInput as exc:
        field, error = exc.field, str(exc)
        valid: dict[str, Collection[str]] = {"refresh": REFRESH.keys(), "paused": PAUSED.keys()}
        safe = {k: v for k, v in query.items() if v.lower() in valid.get(k, ())}
        tr = parse_range(safe, default=default or FALLBACK, longest=longest)
    canonical = None
    if has_range and LEGACY in query and error is None:
        canonical = with_time(search, tr.params(default))
    return {
        "store": tr.to_store(),
        "preset": tr.range if has_range else None,
        "from": _shown(query.get("from", ""), "from") if error else timebar.typed(tr.to_store()["since"]),
        "to": _shown(query.get("to", ""), "to") if error else timebar.typed(tr.to_store()["until"]),
        "refresh": tr.refresh,
        "paused": tr.paused,
        "error": error,
        "field": field,
        "has_range": has_range,
        "canonical": canonical,
    }


def write(
    trigger: Any,
    search: str | None,
    pathname: str | None,
    *,
    typed: tuple[str | None, str | None] = (None, None),
    refresh: str | None = None,
    zoom: Mapping[str, Any] | None = None,
    last: str | None = None,
    longest: timedelta,
) -> str | None:
    """The URL query after a control changed (``trigger`` names it), or None
    when it stays as it is."""
    default = default_range(pathname)
    current = dict(parse_qsl((search or "").lstrip("?")))
    time = {k: current[k] for k in ("range", "from", "to") if current.get(k)} if default else {}
    if LEGACY in current and default and not time:
        time = {"range": current[LEGACY]}
    if isinstance(trigger, dict) and trigger.get("type") == ids.TB_PRESET:
        time = {"range": trigger["value"]}
    elif trigger in (ids.TB_APPLY, ids.TB_FROM, ids.TB_TO):
        time = {"from": _normal(typed[0], "from"), "to": _normal(typed[1], "to")}
    elif trigger == ids.TB_ZOOM and zoom:
        if zoom.get("reset"):
            time = {"range": last or default or FALLBACK}
        elif zoom.get("from") and zoom.get("to"):
            time = {"from": _normal(zoom["from"], "from"), "to": _normal(zoom["to"], "to")}
    if time.get("range") == default and not isinstance(trigger, dict):
        time = {}  # a chosen preset stays in the URL (and goes along to the next page), even the page's default
    wanted_refresh = refresh if trigger == ids.TB_REFRESH else current.get("refresh")
    if wanted_refresh and wanted_refresh != "5s":
        time["refresh"] = wanted_refresh
    paused = PAUSED.get(current.get("paused", "").lower(), False)
    if (not paused) if trigger == ids.TB_PAUSE else paused:
        time["paused"] = "1"
    keys = TIME_KEYS if default else ("refresh", "paused")
    wanted = with_time(search, time, keys=keys)
    return None if wanted == (search or "") else wanted


def _shown(raw: str, name: str) -> str:
    """A moment of the URL as the inputs show it; one that cannot be read as it is."""
    try:
        return timebar.typed(iso(parse_moment(raw, name)))
    except InvalidInput:
        return raw


def _normal(raw: str | None, name: str) -> str:
    """A typed or zoomed moment as the URL holds it; a bad one as typed (the bar then says what is wrong)."""
    text = (raw or "").strip()
    try:
        return iso(parse_moment(text, name))
    except InvalidInput:
        return text


def refresh_timer(store: Mapping[str, Any] | None, paused: bool | None) -> dict[str, Any]:
    """The refresh timer's period and whether it runs; the bar's flags for the live feed (assets/live.js).

    >>> refresh_timer({"refresh": "30s", "live": False}, False)
    {'interval': 30000, 'disabled': False, 'paused': 'false', 'follow': 'false', 'label': 'Pause'}
    """
    period = REFRESH.get((store or {}).get("refresh") or "5s", 5000)
    return {
        "interval": period or REFRESH["5s"],
        "disabled": bool(paused) or period == 0,
        "paused": "true" if paused else "false",
        "follow": "false" if store and not store.get("live", True) else "true",
        "label": "Resume" if paused else "Pause",
    }


def nav_links(paths: list[str], search: str | None, pathname: str | None) -> tuple[list[str], list[bool]]:
    """The navigation links' targets, each taking along the time parameters
    the URL holds (a range chosen, the refresh, pause), and which one is the
    current page. A page whose URL names no range leaves each its default.

    >>> nav_links(["/", "/explore"], "?metric=sum&range=24h&paused=1", "/explore")
    (['/?range=24h&paused=1', '/explore?range=24h&paused=1'], [False, True])
    """
    here = resolve(pathname)
    hrefs = [path + keep_time("", search) for path in paths]
    return hrefs, [here is not None and here.path == path for path in paths]


# The pages whose callbacks write their state into the address, and the path each is shown at
# (ending in "/": every path below it). A write that arrives after the user left the page is dropped.
PAGE_PATHS = {
    "overview": "/",
    "explore": "/explore",
    "executions": "/executions",
    "entities": "/entities",
    "revenue": "/revenue",
    "alerts": "/alerts",
    "boards": "/boards",
    "board": "/boards/",
}

# The wanted query string into the page's Location, only while the address is still on that page
# (assets/timebar.js pageSearch; a dropped write is counted on <html data-pb-dropped-writes>).
GUARDED_SEARCH = "function (wanted) { return window.dash_clientside.timebar.pageSearch(wanted, %s); }"


def register_page_search(app: dash.Dash, page: str, path: str) -> None:
    """A page's wanted query string (``ids.page_search``) -> its Location, while the page is shown:
    a callback that answers after a click on the navigation must not write into the next page's address."""
    app.clientside_callback(  # type: ignore[no-untyped-call]
        GUARDED_SEARCH % json.dumps(path),
        Output(ids.page_url(page), "search"),
        Input(ids.page_search(page), "data"),
        prevent_initial_call=True,
    )


def register(app: dash.Dash, services: Services) -> None:
    preset_ids = [ids.tb_preset(p) for p in PRESETS]
    for page, path in PAGE_PATHS.items():
        register_page_search(app, page, path)

    @app.callback(
        Output(ids.TIME_RANGE, "data"),
        Output({"type": ids.TB_PRESET, "value": ALL}, "active"),
        Output(ids.TB_FROM, "value"),
        Output(ids.TB_TO, "value"),
        Output(ids.TB_FROM, "invalid"),
        Output(ids.TB_TO, "invalid"),
        Output(ids.TB_REFRESH, "value"),
        Output(ids.TB_ERROR, "children"),
        Output(ids.TB_RANGE_PART, "hidden"),
        Output(ids.TB_LAST, "data"),
        Output(ids.TB_PAUSED, "data"),
        Output(ids.TB_URL, "search", allow_duplicate=True),
        Input(ids.URL, "search"),
        Input(ids.URL, "pathname"),
        State(ids.TIME_RANGE, "data"),
        prevent_initial_call="initial_duplicate",
    )
    def show(search: str | None, pathname: str | None, previous: Any) -> tuple[Any, ...]:
        r = read(search, pathname, services.max_window())
        bad, field = r["error"] is not None, r["field"]
        return (
            no_update if r["store"] == previous else r["store"],
            [p["value"] == r["preset"] for p in preset_ids],
            r["from"],
            r["to"],
            bad and field != "to",
            bad and field != "from",
            r["refresh"],
            r["error"],
            not r["has_range"],
            r["preset"] if r["preset"] else no_update,
            r["paused"],
            r["canonical"] or no_update,
        )

    @app.callback(
        Output(ids.TB_URL, "search", allow_duplicate=True),
        Input({"type": ids.TB_PRESET, "value": ALL}, "n_clicks"),
        Input(ids.TB_APPLY, "n_clicks"),
        Input(ids.TB_FROM, "n_submit"),
        Input(ids.TB_TO, "n_submit"),
        Input(ids.TB_REFRESH, "value"),
        Input(ids.TB_ZOOM, "data"),
        Input(ids.TB_PAUSE, "n_clicks"),
        State(ids.TB_FROM, "value"),
        State(ids.TB_TO, "value"),
        State(ids.TB_LAST, "data"),
        State(ids.URL, "search"),
        State(ids.URL, "pathname"),
        prevent_initial_call=True,
    )
    def change(
        _presets: Any,
        _apply: Any,
        _from_submit: Any,
        _to_submit: Any,
        refresh: str | None,
        zoom: Any,
        _pause: Any,
        typed_from: str | None,
        typed_to: str | None,
        last: str | None,
        search: str | None,
        pathname: str | None,
    ) -> Any:
        trigger = dash.ctx.triggered_id
        if isinstance(trigger, dict) and not dash.ctx.triggered[0].get("value"):
            return no_update  # a preset button was (re)drawn, not clicked
        wanted = write(
            trigger,
            search,
            pathname,
            typed=(typed_from, typed_to),
            refresh=refresh,
            zoom=zoom,
            last=last,
            longest=services.max_window(),
        )
        return no_update if wanted is None else wanted

    @app.callback(
        Output(ids.REFRESH, "interval"),
        Output(ids.REFRESH, "disabled"),
        Output(ids.TIMEBAR, "data-paused"),
        Output(ids.TIMEBAR, "data-follow"),
        Output(ids.TIMEBAR, "data-stopped"),
        Output(ids.TB_PAUSE, "children"),
        Input(ids.TIME_RANGE, "data"),
        Input(ids.TB_PAUSED, "data"),
    )
    def timer(store: Any, paused: bool | None) -> tuple[Any, ...]:
        t = refresh_timer(store, paused)
        stopped = "true" if t["disabled"] else "false"
        return t["interval"], t["disabled"], t["paused"], t["follow"], stopped, t["label"]

    @app.callback(
        Output({"type": ids.NAV_LINK, "path": ALL}, "href"),
        Output({"type": ids.NAV_LINK, "path": ALL}, "active"),
        Input(ids.URL, "search"),
        Input(ids.URL, "pathname"),
    )
    def links(search: str | None, pathname: str | None) -> tuple[list[str], list[bool]]:
        paths = [o["id"]["path"] for o in dash.ctx.outputs_list[0]]
        return nav_links(paths, search, pathname)

    app.clientside_callback(  # type: ignore[no-untyped-call]
        ClientsideFunction("timebar", "copyLink"),
        Output(ids.TB_COPIED, "children"),
        Input(ids.TB_COPY, "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        "function (n) { return String(n || 0); }",
        Output(ids.TIMEBAR, "data-ticks"),
        Input(ids.REFRESH, "n_intervals"),
    )
    for chart in ids.TIME_CHARTS:
        register_chart(app, chart)


def register_chart(app: dash.Dash, chart: str) -> None:
    """A time chart's drag-zoom (and double-click) -> the bar's zoom store, and
    its redraws counted on the bar (``data-refreshed``: tests wait for a redraw)."""
    app.clientside_callback(  # type: ignore[no-untyped-call]
        ClientsideFunction("timebar", "zoom"),
        Output(ids.TB_ZOOM, "data", allow_duplicate=True),
        Input(chart, "relayoutData"),
        prevent_initial_call=True,
    )
    app.clientside_callback(  # type: ignore[no-untyped-call]
        ClientsideFunction("timebar", "drawn"),
        Output(ids.TIMEBAR, "data-refreshed", allow_duplicate=True),
        Input(chart, "figure"),
        State(ids.TIMEBAR, "data-refreshed"),
        prevent_initial_call=True,
    )
