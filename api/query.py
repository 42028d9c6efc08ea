"""The Explore query over HTTP: ``GET /api/query`` as JSON, or as CSV with
``Accept: text/csv`` or ``GET /api/query.csv`` (streamed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, request, stream_with_context

from api.ingest import services
from core import query as core_query
from data.export import csv_lines
from reports import explore
from reports.cache import cached
from web import params as p
from web.docs import FILTERS, SINCE, UNTIL, WINDOW, Param, doc
from web.http import json_response

bp = Blueprint("query", __name__)

QUERY_PARAMS = (
    *FILTERS,
    WINDOW,
    SINCE,
    UNTIL,
    Param("metric", enum=explore.METRICS),
    Param("field", enum=explore.FIELDS, description="Field of sum/avg/min/max/percentiles"),
    Param(
        "group_by",
        description="A dimension (source, type, entity, user, status, session_id, execution_id) or attrs.<key>",
    ),
    Param("bucket", enum=explore.BUCKETS),
    Param("attr_key", description="Only events whose attrs have this key"),
    Param("attr_value", description="... with this value"),
    Param(
        "top",
        "integer",
        "With group_by: the N largest groups only, as Explore draws them; for count, rate and sum "
        'the rest summed per bucket as one group named "other"',
        minimum=1,
        maximum=core_query.MAX_TOP_N,
    ),
)


def parse_query(values: Mapping[str, str] | None = None) -> explore.Query:
    """The Explore query of ``values`` (default: this request's query string)."""
    now = core_query.asked_at(services().now())
    return core_query.parse_query(request.args if values is None else values, now=now, longest=p.max_window())


def run_query(q: explore.Query) -> Any:
    svc = services()

    def compute() -> Any:
        return svc.db.on_replica(lambda conn: explore.answer(conn, q))

    return cached(svc, ("query", q), compute)  # QueryTooLarge: a 400 from the domain error handler


def _csv(q: explore.Query) -> Response:
    df = run_query(q)
    name = f"pulseboard-{q.metric}-{q.since:%Y%m%dT%H%M}-{q.until:%Y%m%dT%H%M}.csv"
    body = stream_with_context(csv_lines(list(df.columns), explore.iter_records(df)))
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@doc(
    "GET",
    "/api/query",
    "Explore: filters + metric + group-by + bucket -> rows (CSV with Accept: text/csv)",
    *QUERY_PARAMS,
    produces=("application/json", "text/csv"),
)
@bp.get("/api/query")
def get_query() -> Response:
    q = parse_query()
    if request.accept_mimetypes.best_match(
        ["application/json", "text/csv"]
    ) == "text/csv" and "text/csv" in request.headers.get("Accept", ""):
        return _csv(q)
    return json_response(answer(q))


def answer(q: explore.Query) -> dict[str, Any]:
    """What ``GET /api/query`` answers for ``q`` as JSON (a board's panel data answers the same)."""
    df = run_query(q)
    return {
        "query": {
            "since": q.since.isoformat(),
            "until": q.until.isoformat(),
            "metric": q.metric,
            "field": q.field,
            "group_by": q.group_by,
            "bucket": q.freq or "none",
            "top": q.top,
            "source": "rollups" if q.uses_rollups() else "event counts" if q.counts_in_sql() else "events",
        },
        "columns": list(df.columns),
        "rows": explore.to_records(df),
    }


@doc("GET", "/api/query.csv", "The Explore query as CSV (streamed)", *QUERY_PARAMS, produces=("text/csv",))
@bp.get("/api/query.csv")
def get_query_csv() -> Response:
    return _csv(parse_query())
