"""Revenue (the payments admin dashboard): sums per hour/day/week, the next 7
days forecast with their intervals, status mix, users, activity heatmap and
request timings."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids, selfmon, timebar
from layouts.executions import card, grid
from layouts.system import TIMING_COLUMNS

# Buckets of the revenue chart; the range they cover is the time bar's.
PERIODS = (("hour", "per hour"), ("day", "per day"), ("week", "per week"))
_OWN = "Pulseboard's own events excluded unless the switch includes them"


def card_help(period: str) -> dict[str, str]:
    """The cards' definitions (shown on hover), by label."""
    return {
        "total": "Sum of the successful payments' amounts over the span shown",
        f"average per {period}": f"Total divided by the {period}s since the first payment of the span (not every {period})",
        "success rate (24 h)": "Completed payments in % of those completed or failed, last 24 hours",
        "next 7 days (forecast)": "Expected revenue of the next 7 days from the daily history",
    } | {"active users": f"Distinct users of the last 30 minutes' events, {_OWN}"}


def page(_pathname: str, query: dict[str, str]) -> html.Div:
    period = query.get("period", "day")
    return html.Div(
        [
            timebar.page_location("revenue"),
            html.Div(
                [
                    dbc.RadioItems(
                        id=ids.RV_PERIOD,
                        options=[{"label": l, "value": v} for v, l in PERIODS],
                        value=period if period in dict(PERIODS) else "day",
                        inline=True,
                        input_class_name="btn-check",
                        label_class_name="btn btn-sm btn-outline-primary",
                        label_checked_class_name="active",
                    ),
                    selfmon.switch(ids.RV_SELF, query),
                ],
                className="d-flex flex-wrap align-items-center justify-content-between gap-2 mb-3",
            ),
            html.Div(id=ids.RV_CARDS, className="mb-3"),
            html.Div(id=ids.RV_FORECAST, className="small text-body-secondary mb-1"),
            html.Div(
                "The chart and its totals cover the time range; the status, the weekday heatmap and the response"
                " times keep the fixed spans their titles name.",
                className="small text-body-secondary mb-3 pb-range-note",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        card(
                            "Revenue (successful payments)",
                            dcc.Graph(id=ids.RV_CHART, config={"displayModeBar": False}),
                        ),
                        lg=8,
                    ),
                    dbc.Col(
                        card(
                            "Transactions by status (24 h)",
                            dcc.Graph(id=ids.RV_STATUS, config={"displayModeBar": False}),
                        ),
                        lg=4,
                    ),
                ],
                className="g-3 mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        card(
                            "Activity by weekday and hour (UTC, 28 days)",
                            dcc.Graph(id=ids.RV_HEATMAP, config={"displayModeBar": False}),
                        ),
                        lg=7,
                    ),
                    dbc.Col(
                        card(
                            "Response time per endpoint (1 h)",
                            grid(ids.RV_TIMINGS, TIMING_COLUMNS),
                        ),
                        lg=5,
                    ),
                ],
                className="g-3",
            ),
        ]
    )
