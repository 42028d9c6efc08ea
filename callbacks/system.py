"""System: process CPU and memory, disk, database size, ingest rate, live clients."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from typing import Any

import dash
import psutil
from dash import Input, Output

from data.queries import Filters
from layouts import figures, ids
from layouts.executions import fmt, stat_cards
from reports import explore, usage
from reports.overview import format_uptime
from services import Services


def register(app: dash.Dash, services: Services) -> None:
    process = psutil.Process(os.getpid())

    @app.callback(
        Output(ids.SY_CARDS, "children"),
        Output(ids.SY_CHART, "figure"),
        Output(ids.SY_TIMINGS, "rowData"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.THEME_STORE, "data"),
    )
    def update(_n: Any, theme: str | None) -> tuple[Any, ...]:
        now = services.now()
        with services.db.read() as conn:
            rate = explore.run(
                conn,
                explore.Query(
                    since=now - timedelta(hours=6), until=now + timedelta(seconds=1), metric="count", bucket="1min"
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
        cards = stat_cards(
            [
                ("process CPU", f"{cpu:.0f} %"),
                ("process memory", f"{rss / 1048576:,.0f} MB"),
                ("database", f"{size / 1048576:,.1f} MB"),
                ("disk free", f"{disk.free / 1073741824:,.1f} GB"),
            ]
        )
        cards.children.append(
            dash.html.Div(
                f"up {format_uptime(services.uptime_seconds())} · {fmt(services.live.broker.client_count)} live clients · "
                f"{services.db.dialect} at {services.db.safe_url}",
                className="text-body-secondary small mt-2",
            )
        )
        rows = [
            {
                "endpoint": t["endpoint"],
                "requests": t["requests"],
                "avg ms": round(t["avg_ms"] or 0, 1),
                "p95 ms": round(t["p95_ms"] or 0, 1),
            }
            for t in timings
        ]
        return cards, figures.activity(explore.to_records(rate), dark=theme == "dark"), rows
