"""The overview: refreshed every few seconds from the same reports the API serves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import dash
from dash import Input, Output, State, no_update

from callbacks import live, timebar
from data import queries
from layouts import figures, ids, overview, selfmon
from layouts.timebar import fit_x
from reports import explore
from reports import overview as report
from reports.cache import cached
from services import Services


def refresh(
    services: Services, time_range: dict[str, Any] | None, dark: bool, include_self: bool = False
) -> tuple[Any, ...]:
    now = services.now()
    since, until = timebar.bounds(services, time_range, "/")
    follows = not time_range or bool(time_range.get("live", True))
    filters = queries.Filters().business(include_self)

    def compute() -> tuple[Any, ...]:
        with services.db.replica() as conn:
            kpis = report.kpis(conn, now, filters)
            end = until + timedelta(seconds=1) if follows else until  # following now: this second's events too
            activity = explore.run(conn, explore.Query(since=since, until=end, filters=filters))
            sources = queries.rollup_totals(
                conn,
                since=report.day_start(now),
                until=now + timedelta(minutes=1),
                filters=filters,
                group_by=("source",),
                columns=("count",),
            )
        return (
            kpis,
            report.live_system_state(services, now),
            explore.to_records(activity),
            [{"source": r.source, "count": int(r.count)} for r in sources.itertuples()],
        )

    key = ("overview-page", since.replace(microsecond=0), until.replace(microsecond=0), include_self)
    kpis, state, activity, sources = cached(services, key, compute)
    values = [_format(name, kpis[name]) for name, _ in overview.KPIS if name not in overview.LIVE_KPIS]
    # The counting cards are the browser's to write: it adds the events pushed after last_event_id.
    base = {name: kpis[name] for name in (*overview.LIVE_KPIS, "last_event_id")} | {"include_self": include_self}
    return (
        *values,
        base,
        overview.health(state),
        overview.server_uptime(report.format_uptime(services.uptime_seconds())),
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
    outputs += [Output(ids.HEALTH, "children"), Output(ids.OV_UPTIME, "children")]
    outputs += [Output(ids.ACTIVITY, "figure"), Output(ids.SOURCES, "figure")]

    @app.callback(
        outputs,
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.TIME_RANGE, "data"),
        Input(ids.THEME_STORE, "data"),
        Input(ids.OV_SELF, "value"),
    )
    def update(
        _n: int | None, time_range: dict[str, Any] | None, theme: str | None, include_self: bool | None
    ) -> tuple[Any, ...]:
        return refresh(services, time_range, theme == "dark", bool(include_self))

    @app.callback(
        Output(ids.page_search("overview"), "data"),
        Input(ids.OV_SELF, "value"),
        State(ids.URL, "search"),
        prevent_initial_call=True,
    )
    def remember_switch(include_self: bool | None, search: str | None) -> Any:
        own = urlencode(selfmon.params(include_self))
        wanted = timebar.page_search(f"?{own}" if own else "", search, "/")
        return no_update if wanted == (search or "") else wanted

    live.register(app)
