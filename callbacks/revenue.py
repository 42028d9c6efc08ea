"""Revenue: the payments admin dashboard's figures from the same reports as its API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import dash
from dash import Input, Output, State, no_update

from callbacks import timebar
from data.queries import Filters
from layouts import figures, ids, selfmon
from layouts.executions import fmt, stat_cards
from layouts.explore import add_forecast
from layouts.revenue import card_help
from layouts.system import timing_rows
from layouts.timebar import fit_x
from reports import usage
from reports.forecast import revenue_forecast
from services import Services

PAYMENTS = Filters(type=("payment",))
REQUESTS = Filters(type=("request",))
FREQS = {"hour": "H", "day": "D", "week": "W"}


def register(app: dash.Dash, services: Services) -> None:
    @app.callback(
        Output(ids.RV_CARDS, "children"),
        Output(ids.RV_FORECAST, "children"),
        Output(ids.RV_CHART, "figure"),
        Output(ids.RV_STATUS, "figure"),
        Output(ids.RV_HEATMAP, "figure"),
        Output(ids.RV_TIMINGS, "rowData"),
        Output(ids.page_search("revenue"), "data"),
        Input(ids.RV_PERIOD, "value"),
        Input(ids.TIME_RANGE, "data"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.THEME_STORE, "data"),
        Input(ids.RV_SELF, "value"),
        State(ids.URL, "search"),
    )
    def update(
        period: str,
        time_range: dict[str, Any] | None,
        _n: Any,
        theme: str | None,
        include_self: bool | None,
        search: str | None,
    ) -> tuple[Any, ...]:
        dark = theme == "dark"
        now = services.now()
        freq = FREQS.get(period, "D")
        since, until = timebar.bounds(services, time_range, "/revenue")
        follows = not time_range or time_range.get("live", True)
        end = now + timedelta(minutes=1)
        payments, requests, every = (f.business(bool(include_self)) for f in (PAYMENTS, REQUESTS, Filters()))
        with services.db.replica() as conn:
            revenue = usage.revenue(
                conn,
                since=since,
                until=end if follows else until,
                freq=freq,
                filters=payments,
                success_only=True,
            )
            mix = usage.transactions(conn, since=now - timedelta(days=1), until=end, filters=payments)
            users = usage.users(conn, now=now, minutes=30, filters=every)
            heat = usage.heatmap(conn, since=now - timedelta(days=28), until=end, filters=every, tz="UTC")
            timings = usage.timings(conn, since=now - timedelta(hours=1), until=end, filters=requests)
        ahead = revenue_forecast(services, now=now, filters=payments)
        peak = revenue["peak_period"][:16].replace("T", " ") if revenue["peak_period"] else "–"
        cards = stat_cards(
            [
                ("total", fmt(revenue["total"], 2)),
                (f"average per {period}", fmt(revenue["average"], 2)),
                (f"peak ({peak})", fmt(revenue["peak_amount"], 2)),
                ("success rate (24 h)", "–" if mix["success_rate"] is None else f"{mix['success_rate']:.1f} %"),
                ("next 7 days (forecast)", "–" if ahead["total"] is None else fmt(ahead["total"]["value"], 2)),
            ],
            titles=card_help(period) | {f"peak ({peak})": f"The {period} with the largest sum"},
        )
        cards.children.append(
            dash.html.Div(
                f"{users['active_users']} active users in the last 30 minutes",
                className="text-body-secondary small mt-2",
                title=card_help(period)["active users"],
            )
        )
        chart = figures.activity([{"bucket": p["period"], "value": p["total"]} for p in revenue["periods"]], dark=dark)
        if period == "day" and follows:
            add_forecast(chart, ahead["points"])
        fit_x(chart, time_range, (since, until))
        status = figures.donut([s["status"] for s in mix["statuses"]], [s["count"] for s in mix["statuses"]], dark=dark)
        heatmap = figures.heatmap(heat["counts"], x=heat["hours"], y=heat["weekdays"], dark=dark)
        rows = timing_rows(timings)
        query = urlencode({**({} if period == "day" else {"period": period}), **selfmon.params(include_self)})
        wanted = timebar.page_search(f"?{query}" if query else "", search, "/revenue")
        return (
            cards,
            forecast_note(ahead),
            chart,
            status,
            heatmap,
            rows,
            no_update if wanted == (search or "") else wanted,
        )


def forecast_note(ahead: dict[str, Any]) -> str:
    """The line under the cards: the next 7 days' expected revenue, its
    cautious 80 % range and the model.

    >>> forecast_note({"total": None, "model": {"name": "none", "reason": "no history"}})
    'Next 7 days: no forecast (no history).'
    >>> t = {"value": 70.0, "lower_80": 50.0, "upper_80": 90.0, "lower_95": 40.0, "upper_95": 99.0}
    >>> forecast_note({"total": t, "model": {"name": "drift", "reason": "only 5 buckets of history"}})
    'Next 7 days: 70.00 expected, 50.00 to 90.00 (80 %), 40.00 to 99.00 (95 %); per day in the daily chart. Model drift: only 5 buckets of history.'
    """
    total, model = ahead["total"], ahead["model"]
    if total is None:
        return f"Next 7 days: no forecast ({model['reason']})."
    ranges = ", ".join(
        f"{fmt(total[f'lower_{lv}'], 2)} to {fmt(total[f'upper_{lv}'], 2)} ({lv} %)"
        for lv in (80, 95)
        if total[f"lower_{lv}"] is not None
    )
    return (
        f"Next 7 days: {fmt(total['value'], 2)} expected{', ' + ranges if ranges else ''}; per day in the daily chart. "
        f"Model {model['name']}: {model['reason']}."
    )
