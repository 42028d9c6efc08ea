"""The overview: refreshed every few seconds from the same reports the API serves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dash
from dash import Input, Output

from callbacks import live, timebar
from data import queries
from layouts import figures, ids, overview
from layouts.timebar import fit_x
from reports import explore
from reports import overview as report
from reports.cache import cached
from services import Services


def refresh(services: Services, time_range: dict[str, Any] | None, dark: bool) -> tuple[Any, ...]:
    now = services.now()
    since, until = timebar.bounds(services, time_range, "/")
    follows = not time_range or bool(time_range.get("live", True))

    def compute() -> tuple[Any, ...]:
        with services.db.read() as conn:
            kpis = report.kpis(conn, now)
            state = report.system_state(conn, now, services.settings.component_ttl, uptime=True)
            end = until + timedelta(seconds=1) if follows else until  # following now: this second's events too
            activity = explore.run(conn, explore.Query(since=since, until=end))
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

    kpis, state, activity, sources = cached(
        services, ("overview-page", since.replace(microsecond=0), until.replace(microsecond=0)), compute
    )
    values = [_format(name, kpis[name]) for name, _ in overview.KPIS if name not in overview.LIVE_KPIS]
    # The counting cards are the browser's to write: it adds the events pushed after last_event_id.
    base = {name: kpis[name] for name in (*overview.LIVE_KPIS, "last_event_id")}
    uptime = report.format_uptime(services.uptime_seconds())
    return (
        *values,
        base,
        overview.health(state, uptime),
        fit_x(figures.activity(activity, dark=dark), time_range, (since, until)),
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
        outputs, Input(ids.REFRESH, "n_intervals"), Input(ids.TIME_RANGE, "data"), Input(ids.THEME_STORE, "data")
    )
    def update(_n: int | None, time_range: dict[str, Any] | None, theme: str | None) -> tuple[Any, ...]:
        return refresh(services, time_range, theme == "dark")

    live.register(app)
