"""The admin analytics API of the payments app Pulseboard replaces, under
``/admin/api/``: live metrics, revenue, user activity, health, alerts and the
caches behind them. Each route is a thin shell over ``reports.admin``.

With dashboard sign-in on, the reads need a signed-in admin or an API key,
and clearing the caches a signed-in admin (``auth.policy``); with it off,
clearing takes an API key when keys are configured, like every write.
``/admin/dashboard`` opens the Revenue page.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, redirect

from api.ingest import services
from data.queries import Filters
from reports import admin
from web import params as p
from web.docs import LIMIT, WINDOW, Param, doc
from web.http import json_response, require_key

bp = Blueprint("admin", __name__)

SOURCE = Param("source", description="Only events of these comma-separated sources (the payments app's)")
PERIOD = Param("period", description="Sums per hour (48 h), day (30 d) or week (12 weeks)", enum=tuple(admin.PERIODS))
RESPONSES = (200, 401, 403)


def _filters() -> Filters:
    """The ``source`` filter only: the routes choose the event types themselves."""
    return Filters(source=p.filters_arg(rollups=True).source)


@bp.get("/admin/dashboard")
def admin_dashboard() -> Any:
    return redirect("/revenue", code=302)


@doc(
    "GET",
    "/admin/api/metrics/live",
    "Live metrics: CPU, memory and disk per host, average and p95 response time overall and per endpoint, "
    "database timings, users active in the last 30 minutes, completed / pending / failed payments in the window "
    "(cached 30 s)",
    WINDOW,
    SOURCE,
    tag="admin",
    responses=RESPONSES,
)
@bp.get("/admin/api/metrics/live")
def get_live_metrics() -> Response:
    window = p.duration_arg("window", timedelta(hours=1))
    return json_response(admin.live_metrics(services(), window=window, filters=_filters()))


@doc(
    "GET",
    "/admin/api/analytics/revenue",
    "Successful payments summed per period with total, average, peak, revenue per transaction and success rate "
    "(cached 5 min)",
    PERIOD,
    SOURCE,
    tag="admin",
    responses=RESPONSES,
)
@bp.get("/admin/api/analytics/revenue")
def get_revenue() -> Response:
    period = p.choice_arg("period", "daily", tuple(admin.PERIODS))
    return json_response(admin.revenue(services(), period=period, filters=_filters()))


@doc(
    "GET",
    "/admin/api/user-activity",
    "Recent user actions, active users (30 min), activity per weekday x hour, file conversions (cached 2 min)",
    SOURCE,
    tag="admin",
    responses=RESPONSES,
)
@bp.get("/admin/api/user-activity")
def get_user_activity() -> Response:
    return json_response(admin.user_activity(services(), filters=_filters()))


@doc(
    "GET",
    "/admin/api/health",
    "Health: database round trip, components, firing alerts; 503 when the database does not answer (cached 30 s)",
    tag="admin",
    responses=(200, 401, 403, 503),
)
@bp.get("/admin/api/health")
def get_health() -> Response:
    body = admin.health(services())
    return json_response(body, 503 if body["status"] == "unhealthy" else 200)


@doc(
    "GET",
    "/admin/api/alerts",
    "Open (pending and firing) alerts of the alert rules and the most recent alerts (default 50)",
    LIMIT,
    tag="admin",
    responses=RESPONSES,
)
@bp.get("/admin/api/alerts")
def get_alerts() -> Response:
    limit = p.int_arg("limit", 50, lo=0, hi=p.MAX_LIMIT)
    return json_response(admin.alerts(services(), limit=limit))


@doc(
    "GET",
    "/admin/api/cache/stats",
    "Entries, hits, misses, hit ratio and TTL of each cache",
    tag="admin",
    responses=RESPONSES,
)
@bp.get("/admin/api/cache/stats")
def get_cache_stats() -> Response:
    return json_response(admin.cache_stats(services()))


@doc(
    "POST",
    "/admin/api/cache/clear",
    "Empty every cache; says how many entries went (a signed-in admin, or an API key with sign-in off)",
    tag="admin",
    responses=(200, 401, 403),
)
@bp.post("/admin/api/cache/clear")
@require_key
def post_cache_clear() -> Response:
    return json_response(admin.clear_caches(services()))
