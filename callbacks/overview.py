"""The overview: refreshed every few seconds from the same reports the API serves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dash
from dash import Input, Output, State, no_update

from callbacks import live
from core.durations import parse_duration
from data import queries
from layouts import figures, ids, overview
from reports import explore
from reports import overview as report
from reports.cache import cached
from services import Services


def refresh(services: Services, window: str, dark: bool) -> tuple[Any, ...]:
    now = services.now()

    def compute() -> tuple[Any, ...]:
        with services.db.read() as conn:
            kpis = report.kpis(conn, now)
            state = report.system_state(conn, now, services.settings.component_ttl, uptime=True)
            since = now - parse_duration(window, "window", longest=services.max_window())
            activity = explore.run(conn, explore.Query(since=since, until=now + timedelta(seconds=1)))
            sources = queries.rollup_totals(
                conn,
                since=report.day_start(now),
                until=now + timedelta(minutes=1),
                group_by=("source",),
                columns=("count",),
            )
        return (
            kpis,
            state,
            explore.to_records(activity),
            [{"source": r.source, "count": int(r.count)} for r in sources.itertuples()],
        )

    kpis, state, activity, sources = cached(services, ("overview-page", window, now.replace(microsecond=0)), compute)
    values = [_format(name, kpis[name]) for name, _ in overview.KPIS if name not in overview.LIVE_KPIS]
    # The counting cards are the browser's to write: it adds the events pushed after last_event_id.
    base = {name: kpis[name] for name in (*overview.LIVE_KPIS, "last_event_id")}
    uptime = report.format_uptime(services.uptime_seconds())
    return (
        *values,
        base,
        overview.health(state, uptime),
        figures.activity(activity, dark=dark),
        figures.breakdown_bar(sources, label="source", dark=dark),
    )


def _format(name: str, value: Any) -> str:
    if value is None:
        return "–"
    if name == "success_rate":
        return f"{value:.1f} %"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def register(app: dash.Dash, services: Services) -> None:
    outputs = [Output(ids.kpi(name), "children") for name, _ in overview.KPIS if name not in overview.LIVE_KPIS]
    outputs += [Output(ids.LIVE_KPI_BASE, "data")]
    outputs += [Output(ids.HEALTH, "children"), Output(ids.ACTIVITY, "figure"), Output(ids.SOURCES, "figure")]

    @app.callback(
        outputs, Input(ids.REFRESH, "n_intervals"), Input(ids.WINDOW, "value"), Input(ids.THEME_STORE, "data")
    )
    def update(_n: int | None, window: str | None, theme: str | None) -> tuple[Any, ...]:
        return refresh(services, window or "1h", theme == "dark")

    @app.callback(
        Output(ids.page_url("overview"), "search"),
        Input(ids.WINDOW, "value"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    def remember_window(window: str, search: str | None) -> Any:
        wanted = f"?window={window}"
        return no_update if search == wanted else wanted

    live.register(app)
