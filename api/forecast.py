"""Forecasts over HTTP: ``GET /api/forecast`` takes the Explore query's
parameters (as ``GET /api/query`` reads them) and ``horizon``, and answers the
series' history, the forecast points with their 80 % and 95 % intervals,
the model chosen and why, and fit diagnostics."""

from __future__ import annotations

from flask import Blueprint, Response

from api.ingest import services
from api.query import QUERY_PARAMS, parse_query
from reports import forecast
from web import params as p
from web.docs import Param, doc
from web.http import json_response

bp = Blueprint("forecast", __name__)


@doc(
    "GET",
    "/api/forecast",
    "Forecast of an Explore series: points with 80 % and 95 % intervals, the model and why",
    *QUERY_PARAMS,
    Param(
        "horizon",
        description=f"How far ahead, a duration (default one fifth of the window; at most the window and {forecast.MAX_STEPS} buckets)",
    ),
)
@bp.get("/api/forecast")
def get_forecast() -> Response:
    q = parse_query()
    steps = forecast.horizon_steps(q, p.arg("horizon"))
    result = forecast.query_forecast(services(), q, steps)
    body = {
        "query": {
            "since": q.since.isoformat(),
            "until": q.until.isoformat(),
            "metric": q.metric,
            "field": q.field,
            "bucket": q.freq,
            "horizon_buckets": steps,
        },
        **forecast.public(result),
    }
    return json_response(body)
