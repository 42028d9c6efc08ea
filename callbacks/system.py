"""System: process CPU and memory, disk, database size, read replica, ingest rate, live clients."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from typing import Any

import dash
import psutil
from dash import Input, Output

from callbacks import timebar
from data.queries import Filters
from layouts import figures, ids
from layouts import system as layout
from layouts.executions import fmt, stat_cards
from layouts.explore import add_forecast
from layouts.timebar import fit_x
from reports import explore, usage
from reports.forecast import capacity_forecast
from reports.overview import format_uptime
from services import Services


def register(app: dash.Dash, services: Services) -> None:
    process = psutil.Process(os.getpid())

    @app.callback(
        Output(ids.SY_CARDS, "children"),
        Output(ids.SY_CHART, "figure"),
        Output(ids.SY_TIMINGS, "rowData"),
        Output(ids.SY_FULL, "children"),
        Output(ids.SY_GROWTH, "figure"),
        Input(ids.TIME_RANGE, "data"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.THEME_STORE, "data"),
    )
    def update(time_range: dict[str, Any] | None, _n: Any, theme: str | None) -> tuple[Any, ...]:
        now = services.now()
        since, until = timebar.bounds(services, time_range, "/system")
        follows = not time_range or time_range.get("live", True)
        with services.db.replica() as conn:
            rate = explore.run(
                conn,
                explore.Query(
                    since=since,
                    until=until + timedelta(seconds=1) if follows else until,
                    metric="count",
                    bucket="1min" if until - since <= timedelta(hours=6) else "auto",
                ),
            )
            timings = usage.timings(
                conn,
                since=now - timedelta(hours=1),
                until=now + timedelta(minutes=1),
                filters=Filters(source=("pulseboard",), type=("request",)),
            )
        size = services.db.size_bytes() or 0
        disk = shutil.disk_usage(services.settings.data_dir if os.path.isdir(services.settings.data_dir) else ".")
        with process.oneshot():
            cpu = process.cpu_percent(interval=None)
            rss = process.memory_info().rss
        items = [
            ("process CPU", f"{cpu:.0f} %"),
            ("process memory", f"{rss / 1048576:,.0f} MB"),
            ("database", f"{size / 1048576:,.1f} MB"),
            ("disk free", f"{disk.free / 1073741824:,.1f} GB"),
        ]
        replica = services.db.replica_status()
        if replica.configured:
            items.append(layout.replica_card(replica))
        cards = stat_cards(items, titles=layout.CARD_HELP)
        cards.children.append(
            dash.html.Div(
                f"up {format_uptime(services.uptime_seconds())} · {fmt(services.live.broker.client_count)} live clients · "
                f"{services.db.dialect} at {services.db.safe_url}",
                className="text-body-secondary small mt-2",
            )
        )
        rows = layout.timing_rows(timings)
        growth = capacity_forecast(services, now=now, disk_free_mb=disk.free / 1048576)
        chart = figures.line(growth["database"]["history"], x="bucket", name="database MB", dark=theme == "dark")
        add_forecast(chart, growth["database"]["points"], name="database MB forecast")
        return (
            cards,
            fit_x(figures.activity(explore.to_records(rate), dark=theme == "dark"), time_range, (since, until)),
            rows,
            full_text(growth),
            chart,
        )


def full_text(growth: dict[str, Any]) -> list[Any]:
    """One line per store: "full in N days" (with the earliest plausible day,
    from the 95 % bound) when the forecast reaches the limit within 30 days,
    else why not.

    >>> g = {"database": {"full": {"days": 12.0, "earliest_days": 9.5}, "history": [1, 2], "model": {"name": "drift"}},
    ...      "disk": {"full": None, "history": [], "model": {"name": "none"}}}
    >>> [d.children for d in full_text(g)]
    ['Database: full in 12 days (at the earliest in 9.5 days; the disk fills when the database has grown by its free space) · drift', 'Disk: no disk_percent gauge recorded yet']
    >>> g["disk"]["history"] = [1]
    >>> full_text(g)[1].children
    'Disk: one disk_percent reading so far; a forecast needs two'
    """
    out = []
    for name, what in (("database", "db_size_mb"), ("disk", "disk_percent")):
        part = growth[name]
        label = name.capitalize()
        full = part["full"]
        how = (
            "the disk fills when the database has grown by its free space"
            if name == "database"
            else "use reaches 100 %"
        )
        if not part["history"]:
            text = f"{label}: no {what} gauge recorded yet"
        elif len(part["history"]) < 2:
            text = f"{label}: one {what} reading so far; a forecast needs two"
        elif full is None:
            text = f"{label}: not full within 30 days at the forecast growth ({how}) · {part['model']['name']}"
        elif full["days"] is None:
            text = (
                f"{label}: could be full in {full['earliest_days']:g} days (the 95 % bound; the forecast itself "
                f"stays below within 30 days; {how}) · {part['model']['name']}"
            )
        else:
            text = (
                f"{label}: full in {full['days']:g} days (at the earliest in {full['earliest_days']:g} days; {how})"
                f" · {part['model']['name']}"
            )
        warn = full is not None and full["earliest_days"] is not None and full["earliest_days"] <= 7
        out.append(dash.html.Div(text, className="text-danger fw-semibold" if warn else "text-body-secondary"))
    return out
