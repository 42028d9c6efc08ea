"""System: the server's own health - process, database, ingest, live clients,
and the growth of the database and the disk with when they would fill it."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from data.db import ReplicaStatus
from layouts import ids
from layouts.executions import card, grid

# What each card shows (on hover), by label.
CARD_HELP = {
    "process CPU": "CPU used by this Pulseboard server process since the previous refresh, in % of one core",
    "process memory": "Resident memory of this Pulseboard server process",
    "database": "Size of the database (the SQLite file with its WAL, or the PostgreSQL database)",
    "disk free": "Free space on the disk that holds the data directory",
    "read replica": "The PostgreSQL standby (--db-read) that serves the pages, Explore, exports and reports:"
    " how far its replay is behind the primary, or down (those reads then go to the primary)",
}


def replica_card(status: ReplicaStatus) -> tuple[str, str]:
    """The read replica's card: its replay lag, or that it is down.

    >>> replica_card(ReplicaStatus(True, True, 0.0))
    ('read replica', 'lag 0.0 s')
    >>> replica_card(ReplicaStatus(True, error="OperationalError"))
    ('read replica', 'down: reads go to the primary')
    """
    if status.up:
        lag = "unknown" if status.lag_seconds is None else f"{status.lag_seconds:,.1f} s"
        return "read replica", f"lag {lag}"
    return "read replica", "down: reads go to the primary"


# Request timings per endpoint (System and Revenue): the milliseconds as numbers,
# right-aligned and written like the rest of the dashboard.
TIMING_COLUMNS: list[dict[str, Any]] = [
    {"field": "endpoint"},
    {"field": "requests", "type": "numericColumn"},
    *(
        {
            "field": k,
            "headerName": name,
            "type": "numericColumn",
            "valueFormatter": {"function": "groupedNumber(params)"},
        }
        for k, name in (("avg ms", "Avg (ms)"), ("p95 ms", "P95 (ms)"))
    ),
]


def timing_rows(timings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The timings table's rows, one an endpoint.

    >>> timing_rows([{"endpoint": "/", "requests": 3, "avg_ms": 6.28, "p95_ms": None}])
    [{'endpoint': '/', 'requests': 3, 'avg ms': 6.3, 'p95 ms': 0}]
    """
    return [
        {
            "endpoint": t["endpoint"],
            "requests": t["requests"],
            "avg ms": round(t["avg_ms"] or 0, 1),
            "p95 ms": round(t["p95_ms"] or 0, 1),
        }
        for t in timings
    ]


def page(_pathname: str, _query: dict[str, str]) -> html.Div:
    return html.Div(
        [
            html.Div(id=ids.SY_CARDS, className="mb-3"),
            card(
                "Ingest over the time range (events per minute, coarser beyond 6 h)",
                dcc.Graph(id=ids.SY_CHART, config={"displayModeBar": False}),
                className="mb-3",
            ),
            card(
                "Database size, with 30 days of growth forecast (hourly maxima of the 'db_size_mb' gauge, 14 days)",
                html.Div(
                    [
                        html.Div(id=ids.SY_FULL, className="mb-2"),
                        dcc.Graph(id=ids.SY_GROWTH, config={"displayModeBar": False}),
                    ]
                ),
                className="mb-3",
            ),
            card(
                "Request latency per endpoint (1 h, from self-monitoring events of source 'pulseboard')",
                grid(ids.SY_TIMINGS, TIMING_COLUMNS),
            ),
        ]
    )
