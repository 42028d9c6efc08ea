"""Read routes: the overview, the device monitor, sessions, tool usage,
payments and the Explore query. Each is a thin shell over ``reports/``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, redirect

from alerts.manage import monitor_shape
from api.ingest import services
from data import queries
from reports import overview, sessions, usage
from reports.cache import cached
from web import params as p
from web.docs import FILTERS, LIMIT, ROLLUP_FILTERS, SINCE, UNTIL, WINDOW, Param, doc
from web.http import ApiError, json_response

bp = Blueprint("read", __name__)


def _now() -> Any:
    return services().now()


@bp.get("/dashboard")
def dashboard_redirect() -> Any:
    return redirect("/", code=302)


@doc(
    "GET",
    "/api/overview",
    "KPIs, component health, recent events and per-source counts for the overview",
    *ROLLUP_FILTERS,
)
@bp.get("/api/overview")
def get_overview() -> Response:
    filters = p.filters_arg(rollups=True)
    svc = services()
    now = svc.now()

    def compute() -> dict[str, Any]:
        with svc.db.read() as conn:
            by_source = queries.rollup_totals(
                conn,
                since=overview.day_start(now),
                until=now + timedelta(minutes=1),
                filters=filters,
                group_by=("source",),
                columns=("count",),
            )
            return {
                "timestamp": now.isoformat(),
                "kpis": overview.kpis(conn, now, filters),
                "system_state": overview.system_state(conn, svc.now(), svc.settings.component_ttl),
                "uptime_seconds": round(svc.uptime_seconds(), 1),
                "sources": [{"source": r.source, "count": int(r.count)} for r in by_source.itertuples(index=False)],
                "recent_events": overview.recent_events(conn, limit=50, filters=filters),
            }

    return json_response(cached(svc, ("overview", filters), compute))


def _monitor_metrics(conn: Any) -> dict[str, Any]:
    svc = services()
    return overview.monitor_metrics(
        conn,
        svc.now(),
        svc.uptime_seconds(),
        scan_type=p.arg("scan_type", overview.SCAN_TYPE) or overview.SCAN_TYPE,
        sync_type=p.arg("sync_type", overview.SYNC_TYPE) or overview.SYNC_TYPE,
        queue_type=p.arg("queue_type", overview.QUEUE_TYPE) or overview.QUEUE_TYPE,
        source=p.arg("source"),
    )


MAX_INTERACTIONS = 1000
MONITOR_PARAMS = (
    Param("source", description="Only this source"),
    Param("scan_type", description="Event type counted as a scan (default scan)"),
    Param("sync_type", description="Event type of sync attempts (default sync)"),
    Param("queue_type", description="Gauge event type holding the queue size (default queue_size)"),
)


@doc(
    "GET",
    "/api/status",
    "Device-monitor status: metrics, system state, recent events and alerts, uptime",
    *MONITOR_PARAMS,
)
@bp.get("/api/status")
def get_status() -> Response:
    svc = services()
    with svc.db.read() as conn:
        metrics = _monitor_metrics(conn)
        state = overview.system_state(conn, svc.now(), svc.settings.component_ttl)
        body = {
            "timestamp": svc.now().isoformat(),
            "metrics": metrics,
            "system_state": state,
            "recent_events": overview.recent_events(conn, limit=20),
            "recent_alerts": overview.monitor_alerts(metrics, state, svc.now()),
            "uptime": overview.format_uptime(svc.uptime_seconds()),
        }
    return json_response(body)


@doc(
    "GET",
    "/api/alerts",
    "Firing alerts of the alert rules, plus the device-monitor conditions that hold now (queue > 50, failed syncs "
    "> 10, success < 80 % with > 10 scans, broken components)",
    *MONITOR_PARAMS,
)
@bp.get("/api/alerts")
def get_alerts() -> Response:

    svc = services()
    with svc.db.read() as conn:
        alerts = monitor_shape(conn)
        # The device monitor's own conditions hold at once (the engine confirms them on its next cycle); a firing rule of the same id wins.
        held = {a["id"] for a in alerts}
        conditions = overview.monitor_alerts(
            _monitor_metrics(conn), overview.system_state(conn, svc.now(), svc.settings.component_ttl), svc.now()
        )
        alerts += [a for a in conditions if a["id"] not in held]
    return json_response({"alerts": alerts, "count": len(alerts)})


@doc("GET", "/api/metrics", "Device-monitor metrics only", *MONITOR_PARAMS)
@bp.get("/api/metrics")
def get_metrics() -> Response:
    with services().db.read() as conn:
        return json_response(_monitor_metrics(conn))


@doc(
    "GET",
    "/api/events",
    "Recent events, newest first (or after an id, oldest first)",
    *FILTERS,
    SINCE,
    UNTIL,
    LIMIT,
    Param("after_id", "integer", "Only events with a larger id, in id order (polling)", minimum=0),
)
@bp.get("/api/events")
def get_events() -> Response:
    filters = p.filters_arg()
    limit = p.int_arg("limit", 50, lo=0, hi=p.MAX_LIMIT)
    after = p.int_arg("after_id", -1, lo=0, hi=2**62) if p.arg("after_id") else None
    since, until = p.time_arg("since"), p.time_arg("until")
    if since is not None and until is not None and since >= until:
        raise ApiError(400, "parameter 'since': must be before 'until'")
    with services().db.read() as conn:
        rows = overview.recent_events(conn, limit=limit, filters=filters, since=since, until=until, after_id=after)
    return json_response({"events": rows, "count": len(rows)})


@doc(
    "GET",
    "/api/components",
    "Component states (offline when silent past their TTL), uptime over 24 h / 7 d / 30 d, and the overall status",
)
@bp.get("/api/components")
def get_components() -> Response:
    svc = services()
    with svc.db.read() as conn:
        return json_response(overview.system_state(conn, svc.now(), svc.settings.component_ttl, uptime=True))


@doc("GET", "/api/dimensions/<name>", "Known values of a dimension (for filter pickers)", LIMIT)
@bp.get("/api/dimensions/<name>")
def get_dimension(name: str) -> Response:
    if name not in queries.DIMENSIONS:
        raise ApiError(404, f"unknown dimension {name!r}; one of {', '.join(queries.DIMENSIONS)}")
    with services().db.read() as conn:
        return json_response(
            {"name": name, "values": queries.distinct_values(conn, name, limit=p.int_arg("limit", 500))}
        )


# ------------------------------------------------------------ sessions


@doc("GET", "/api/sessions", "Sessions, newest first", LIMIT, Param("open", "boolean", "Only sessions not ended"))
@bp.get("/api/sessions")
def get_sessions() -> Response:
    with services().db.read() as conn:
        rows = queries.list_sessions(conn, limit=p.int_arg("limit", 100), open_only=p.bool_arg("open"))
    for row in rows:
        row["started_at"] = row["started_at"].isoformat()
        row["ended_at"] = row["ended_at"].isoformat() if row["ended_at"] else None
    return json_response({"sessions": rows})


def _session_metrics(session_id: str) -> dict[str, Any]:
    svc = services()
    with svc.db.read() as conn:
        body = sessions.session_metrics(
            conn, session_id, svc.now(), category_key=p.arg("category_key", sessions.CATEGORY_KEY) or ""
        )
    if body is None:
        raise ApiError(404, f"session {session_id!r} not found")
    return body


@doc(
    "GET",
    "/metrics/<session_id>",
    "Macro-session metrics: boxes, duration, speeds, distributions, categories",
    Param("category_key", description="attrs key holding category counts (default degradation_counts)"),
)
@bp.get("/metrics/<session_id>")
def get_session_metrics(session_id: str) -> Response:
    return json_response(_session_metrics(session_id))


@doc("GET", "/api/sessions/<session_id>", "One session's metrics (same as /metrics/<session_id>)")
@bp.get("/api/sessions/<session_id>")
def get_session(session_id: str) -> Response:
    return json_response(_session_metrics(session_id))


@doc(
    "GET",
    "/interactions/<session_id>",
    "A session's interactions (not its start/end markers), newest first (default 100, at most 1,000)",
    Param("limit", "integer", "Most interactions returned", minimum=0, maximum=MAX_INTERACTIONS),
)
@bp.get("/interactions/<session_id>")
def get_interactions(session_id: str) -> Response:
    limit = p.int_arg("limit", 100, hi=MAX_INTERACTIONS)
    with services().db.read() as conn:
        rows = sessions.interactions(conn, session_id, limit)
        # Unknown: no session row and no event of it (limit=0 asks for none, hence the look for one).
        if not (rows or queries.get_session(conn, session_id) or sessions.has_events(conn, session_id)):
            raise ApiError(404, f"session {session_id!r} not found")
    return json_response({"session_id": session_id, "interactions": rows, "count": len(rows)})


# ------------------------------------------------------ usage, payments


@doc(
    "GET",
    "/api/entities/history",
    "Per-entity per-minute history: count, users, flagged count (windows 1 min to 6 h)",
    *FILTERS,
    WINDOW,
    Param("flag", description="attrs key counted as a flag (default overage)"),
)
@bp.get("/api/entities/history")
def get_entity_history() -> Response:
    window = p.duration_arg("window", timedelta(minutes=30))
    if window > usage.MAX_HISTORY:
        raise ApiError(400, "parameter 'window': at most 6h")
    with services().db.read() as conn:
        body = usage.entity_history(
            conn, window=window, now=_now(), filters=p.filters_arg(), flag_key=p.arg("flag", "overage") or "overage"
        )
    return json_response({"window_seconds": int(window.total_seconds()), "tool_metrics": body})


def _range(default: timedelta) -> tuple[Any, Any]:
    return p.time_range(_now(), default)


@doc(
    "GET",
    "/api/revenue",
    "Sums of value per hour/day/week with total, average and peak",
    *ROLLUP_FILTERS,
    WINDOW,
    SINCE,
    UNTIL,
    Param("period", enum=("hour", "day", "week")),
    Param("success_only", "boolean", "Count successful rows only"),
)
@bp.get("/api/revenue")
def get_revenue() -> Response:
    period = p.choice_arg("period", "day", ("hour", "day", "week"))
    since, until = _range(timedelta(days=7))
    freq = {"hour": "H", "day": "D", "week": "W"}[period]
    with services().db.read() as conn:
        body = usage.revenue(
            conn,
            since=since,
            until=until,
            freq=freq,
            filters=p.filters_arg(rollups=True),
            success_only=p.bool_arg("success_only", True),
        )
    return json_response(body | {"period": period})


@doc("GET", "/api/transactions", "Status mix and success rate (percent)", *ROLLUP_FILTERS, WINDOW, SINCE, UNTIL)
@bp.get("/api/transactions")
def get_transactions() -> Response:
    since, until = _range(timedelta(days=1))
    with services().db.read() as conn:
        return json_response(usage.transactions(conn, since=since, until=until, filters=p.filters_arg(rollups=True)))


@doc(
    "GET",
    "/api/users/active",
    "Users seen in the last N minutes (default 30)",
    *FILTERS,
    Param("minutes", "integer", minimum=1, maximum=10080),
)
@bp.get("/api/users/active")
def get_active_users() -> Response:
    minutes = p.int_arg("minutes", 30, lo=1, hi=10080)
    with services().db.read() as conn:
        return json_response(usage.users(conn, now=_now(), minutes=minutes, filters=p.filters_arg()))


@doc(
    "GET",
    "/api/heatmap",
    "Event counts per weekday x local hour",
    *ROLLUP_FILTERS,
    WINDOW,
    SINCE,
    UNTIL,
    Param("tz", description="IANA time zone"),
)
@bp.get("/api/heatmap")
def get_heatmap() -> Response:
    since, until = _range(timedelta(days=28))
    tz = p.arg("tz", "UTC") or "UTC"
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except Exception:
        raise ApiError(400, f"parameter 'tz': unknown time zone {tz!r}") from None
    with services().db.read() as conn:
        return json_response(usage.heatmap(conn, since=since, until=until, filters=p.filters_arg(rollups=True), tz=tz))


@doc("GET", "/api/timings", "Average and p95 duration per endpoint (entity)", *ROLLUP_FILTERS, WINDOW, SINCE, UNTIL)
@bp.get("/api/timings")
def get_timings() -> Response:
    since, until = _range(timedelta(hours=1))
    with services().db.read() as conn:
        return json_response(
            {"endpoints": usage.timings(conn, since=since, until=until, filters=p.filters_arg(rollups=True))}
        )
