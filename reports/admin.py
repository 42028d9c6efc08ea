"""The payments app's admin analytics, as its admin panel's clients read them
from ``/admin/api/...``: live metrics (host gauges, response times, database
timings, active users, the transaction flow), revenue per hour, day or week,
user activity, health, alerts, and the statistics of the named caches that
hold these answers.

Everything is composed from the reports the pages use (``reports.usage`` for
revenue, transactions, users, the heatmap and timings; ``reports.overview``
for components and recent events; ``alerts.manage`` for alerts). The payments
app sends ordinary events:

* ``type: payment`` with ``value`` (the amount) and ``status``
  (``completed``, ``pending``, ``failed``, ...);
* ``type: request`` with ``entity`` = endpoint and ``duration_ms``;
* ``type: db_query`` with ``entity`` = the query's name and ``duration_ms``;
* ``type: user_activity`` with ``user`` and ``entity`` = the action;
* ``type: vectorization`` for a file conversion, with ``status`` and ``duration_ms``;
* gauges ``cpu_percent``, ``memory_percent``, ``disk_percent`` with
  ``entity`` = host and ``value``.

Pulseboard's own host gauges (source ``pulseboard``: ``cpu_percent``,
``memory_mb``, ``db_size_mb``) are shown beside the app's.

Each answer is kept in a named cache (:data:`CACHES`, TTLs in seconds) and,
like every cached read, recomputed as soon as a new event is stored.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from alerts import manage
from analytics.breakdowns import classify_status
from analytics.distributions import rollup_summary
from core.errors import InvalidInput
from data import queries
from data.queries import Filters
from jobs.maintenance import SOURCE as SELF_SOURCE
from reports import overview, usage
from reports.cache import cached

if TYPE_CHECKING:
    from data.db import Database
    from services import Services

VERSION = "1.0.0"
PAYMENT_TYPE = "payment"
REQUEST_TYPE = "request"
DB_QUERY_TYPE = "db_query"
ACTIVITY_TYPE = "user_activity"
VECTORIZATION_TYPE = "vectorization"
GAUGE_TYPES = ("cpu_percent", "memory_percent", "memory_mb", "disk_percent", "db_size_mb")
#: Gauges older than this are not current: their host is left out.
GAUGE_WINDOW = timedelta(minutes=15)
ACTIVE_MINUTES = 30
HEATMAP_WINDOW = timedelta(days=28)
VECTORIZATION_WINDOW = timedelta(hours=24)
FEED_LIMIT = 50

#: Named caches and their TTLs (seconds): live metrics, revenue, user activity, health.
CACHES: dict[str, float] = {"live": 30.0, "revenue": 300.0, "activity": 120.0, "health": 30.0}
#: The shared cache of the other read routes (its TTL is given per call).
SHARED_CACHE = "shared"

#: period -> (rollup step, span ending now): the same spans as the Revenue page.
PERIODS: dict[str, tuple[str, timedelta]] = {
    "hourly": ("H", timedelta(hours=48)),
    "daily": ("D", timedelta(days=30)),
    "weekly": ("W", timedelta(weeks=12)),
}
#: Transaction outcomes as the payments app names them.
FLOW = {"success": "completed", "neutral": "pending", "failure": "failed"}


def _of_type(filters: Filters, type_: str) -> Filters:
    return dataclasses.replace(filters, type=(type_,))


def _end(now: datetime) -> datetime:
    return now + timedelta(minutes=1)  # the minute in progress included


# ------------------------------------------------------------------ pieces


def host_gauges(conn: Connection, *, now: datetime, data_dir: str) -> dict[str, Any]:
    """The newest CPU, memory and disk gauges per host (source and ``entity``)
    over the last :data:`GAUGE_WINDOW`, the app's hosts first, newest first.
    Pulseboard's own host is always listed, with the disk of its data
    directory. The top-level figures are those of the first host listed."""
    df = queries.events_frame(
        conn,
        since=now - GAUGE_WINDOW,
        until=now + timedelta(seconds=1),
        filters=Filters(type=GAUGE_TYPES),
        limit=5000,
        newest_first=True,
        with_attrs=False,
    )
    hosts: dict[tuple[str, str], dict[str, Any]] = {}
    for row in df.itertuples(index=False):
        if row.value != row.value:  # NaN: a gauge without a value
            continue
        source = str(row.source)
        host = row.entity if isinstance(row.entity, str) else source
        item = hosts.setdefault(
            (source, host),
            {"source": source, "host": host, "updated_at": row.ts.isoformat()}
            | {g: None for g in ("cpu_percent", "memory_percent", "memory_mb", "disk_percent")},
        )
        if str(row.type) in item and item[str(row.type)] is None:
            item[str(row.type)] = float(row.value)
    own = hosts.setdefault(
        (SELF_SOURCE, SELF_SOURCE),
        {"source": SELF_SOURCE, "host": SELF_SOURCE, "updated_at": None}
        | {g: None for g in ("cpu_percent", "memory_percent", "memory_mb", "disk_percent")},
    )
    disk = disk_usage(data_dir)
    if own["disk_percent"] is None:
        own["disk_percent"] = disk["percent"]
    own["disk_free_gb"] = disk["free_gb"]
    ordered = sorted(
        hosts.values(), key=lambda h: (h["source"] == SELF_SOURCE, -_epoch(h["updated_at"]), h["source"], h["host"])
    )
    first = ordered[0]
    return {
        "cpu_percent": first["cpu_percent"],
        "memory_percent": first["memory_percent"],
        "disk_percent": first["disk_percent"],
        "source": first["source"],
        "host": first["host"],
        "hosts": ordered,
    }


def _epoch(iso: str | None) -> float:
    return datetime.fromisoformat(iso).timestamp() if iso else 0.0


def disk_usage(path: str) -> dict[str, float]:
    """Size, free space and use in percent of the disk holding ``path``."""
    usage_ = shutil.disk_usage(path if os.path.isdir(path) else ".")
    return {
        "total_gb": round(usage_.total / 1073741824, 3),
        "free_gb": round(usage_.free / 1073741824, 3),
        "percent": round(100.0 * (usage_.total - usage_.free) / usage_.total, 2) if usage_.total else 0.0,
    }


def overall_timing(conn: Connection, *, since: datetime, until: datetime, filters: Filters) -> dict[str, Any]:
    """Count, average and p95 of ``duration_ms`` over every matching event
    (from rollups and their histograms, as :func:`reports.usage.timings` per endpoint)."""
    totals = queries.rollup_totals(conn, since=since, until=until, filters=filters)
    hist = queries.hist_totals(conn, since=since, until=until, filters=filters)
    if totals.empty:
        return {"requests": 0, "avg_ms": None, "p95_ms": None, "max_ms": None, "relative_error": None}
    summary = rollup_summary(totals, hist[["bucket", "count"]])
    return {
        "requests": summary.count,
        "avg_ms": summary.mean,
        "p95_ms": summary.p95,
        "max_ms": summary.max,
        "relative_error": summary.relative_error if summary.count else None,
    }


def response_times(conn: Connection, *, since: datetime, until: datetime, filters: Filters) -> dict[str, Any]:
    """Average and p95 response time over all endpoints and per endpoint."""
    requests = _of_type(filters, REQUEST_TYPE)
    return overall_timing(conn, since=since, until=until, filters=requests) | {
        "endpoints": usage.timings(conn, since=since, until=until, filters=requests)
    }


def database_check(db: Database) -> dict[str, Any]:
    """``ok`` (or the error's name) and how long a round trip to the database took."""
    started = time.perf_counter()
    try:
        db.check()
        status = "ok"
    except Exception as exc:  # a broken database is reported, not raised
        status = f"error: {type(exc).__name__}"
    return {"status": status, "check_ms": round((time.perf_counter() - started) * 1000.0, 3)}


def database(conn: Connection, db: Database, *, since: datetime, until: datetime, filters: Filters) -> dict[str, Any]:
    """Pulseboard's database (dialect, size, a timed round trip) and the app's
    own query timings (``db_query`` events per query name)."""
    size = db.size_bytes()
    queries_ = _of_type(filters, DB_QUERY_TYPE)
    return (
        {"dialect": db.dialect, "size_mb": round(size / 1048576, 3) if size is not None else None}
        | database_check(db)
        | {
            "queries": overall_timing(conn, since=since, until=until, filters=queries_)
            | {"by_query": usage.timings(conn, since=since, until=until, filters=queries_)}
        }
    )


def flow(conn: Connection, *, since: datetime, until: datetime, filters: Filters) -> dict[str, Any]:
    """Counts and amounts of completed (successful), pending (neither) and
    failed events per status, with the success rate in percent
    (from :func:`reports.usage.transactions`)."""
    mix = usage.transactions(conn, since=since, until=until, filters=filters)
    out: dict[str, Any] = {name: {"count": 0, "amount": 0.0} for name in FLOW.values()}
    for s in mix["statuses"]:
        bucket = out[FLOW[classify_status(None if s["status"] == "(none)" else s["status"])]]
        bucket["count"] += s["count"]
        bucket["amount"] = round(bucket["amount"] + s["amount"], 6)
    return out | {
        "total": {"count": mix["total"], "amount": round(sum(s["amount"] for s in mix["statuses"]), 6)},
        "success_rate": mix["success_rate"],
        "statuses": mix["statuses"],
    }


def transaction_flow(conn: Connection, *, since: datetime, until: datetime, filters: Filters) -> dict[str, Any]:
    return flow(conn, since=since, until=until, filters=_of_type(filters, PAYMENT_TYPE))


def vectorization(conn: Connection, *, now: datetime, filters: Filters) -> dict[str, Any] | None:
    """File conversions of the last 24 hours: counts per outcome, processing
    times and the latest ten; None when there were none."""
    since, until = now - VECTORIZATION_WINDOW, _end(now)
    conversions = _of_type(filters, VECTORIZATION_TYPE)
    outcome = flow(conn, since=since, until=until, filters=conversions)
    if not outcome["total"]["count"]:
        return None
    return {
        "window_hours": VECTORIZATION_WINDOW.total_seconds() / 3600,
        "total": outcome["total"]["count"],
        "completed": outcome["completed"]["count"],
        "pending": outcome["pending"]["count"],
        "failed": outcome["failed"]["count"],
        "success_rate": outcome["success_rate"],
        "duration": overall_timing(conn, since=since, until=until, filters=conversions),
        "recent": overview.recent_events(conn, limit=10, filters=conversions, since=since, until=until),
    }


# ----------------------------------------------------------------- answers


def live_metrics(svc: Services, *, window: timedelta, filters: Filters) -> dict[str, Any]:
    """``GET /admin/api/metrics/live``: host gauges, response times, database
    timings, active users and the transaction flow over ``window``."""
    now = svc.now()

    def compute() -> dict[str, Any]:
        since, until = now - window, _end(now)
        with svc.db.replica() as conn:
            users = usage.users(conn, now=now, minutes=ACTIVE_MINUTES, filters=Filters(source=filters.source))
            return {
                "timestamp": now.isoformat(),
                "window_seconds": window.total_seconds(),
                "system": host_gauges(conn, now=now, data_dir=svc.settings.data_dir),
                "response_times": response_times(conn, since=since, until=until, filters=filters),
                "database": database(conn, svc.db, since=since, until=until, filters=filters),
                "active_users": users["active_users"],
                "active_users_window_minutes": ACTIVE_MINUTES,
                "transactions": transaction_flow(conn, since=since, until=until, filters=filters),
            }

    return cached(svc, ("live", window, filters), compute, CACHES["live"], name="live")


def period_of(period: str) -> tuple[str, timedelta]:
    """The rollup step and span of a period name, or InvalidInput naming ``period``."""
    if period not in PERIODS:
        raise InvalidInput("period", f"expected one of {', '.join(PERIODS)}, got {period!r}")
    return PERIODS[period]


def revenue(svc: Services, *, period: str, filters: Filters) -> dict[str, Any]:
    """``GET /admin/api/analytics/revenue``: successful payments summed per
    period over the period's span (from :func:`reports.usage.revenue`), with
    total, average per period, peak, revenue per transaction and the success
    rate of every payment in the span."""
    freq, span = period_of(period)
    now = svc.now()

    def compute() -> dict[str, Any]:
        since, until = now - span, _end(now)
        payments = _of_type(filters, PAYMENT_TYPE)
        with svc.db.replica() as conn:
            sums = usage.revenue(conn, since=since, until=until, freq=freq, filters=payments, success_only=True)
            outcome = flow(conn, since=since, until=until, filters=payments)
        paid = sum(p["count"] for p in sums["periods"])
        return {
            "period": period,
            "since": since.isoformat(),
            "until": now.isoformat(),
            "series": [
                {"period": p["period"], "revenue": p["total"], "transactions": p["count"]} for p in sums["periods"]
            ],
            "total": sums["total"],
            "average": sums["average"],
            "peak": {"period": sums["peak_period"], "amount": sums["peak_amount"]},
            "transactions": paid,
            "revenue_per_transaction": sums["total"] / paid if paid else None,
            "success_rate": outcome["success_rate"],
            "flow": {k: outcome[k] for k in (*FLOW.values(), "total")},
        }

    return cached(svc, ("revenue", period, filters), compute, CACHES["revenue"], name="revenue")


def user_activity(svc: Services, *, filters: Filters) -> dict[str, Any]:
    """``GET /admin/api/user-activity``: the latest user actions, payments and
    file conversions (newest first), users active in the last 30 minutes,
    events per weekday x hour (UTC) over 28 days, and the file conversions."""
    now = svc.now()

    def compute() -> dict[str, Any]:
        sources = Filters(source=filters.source)
        feed = dataclasses.replace(sources, type=(ACTIVITY_TYPE, PAYMENT_TYPE, VECTORIZATION_TYPE))
        with svc.db.replica() as conn:
            users = usage.users(conn, now=now, minutes=ACTIVE_MINUTES, filters=sources)
            return {
                "timestamp": now.isoformat(),
                "activities": overview.recent_events(
                    conn, limit=FEED_LIMIT, filters=feed, until=now + timedelta(seconds=1)
                ),
                "active_users": users["active_users"],
                "users": users["users"],
                "active_users_window_minutes": ACTIVE_MINUTES,
                "heatmap": usage.heatmap(conn, since=now - HEATMAP_WINDOW, until=_end(now), filters=sources, tz="UTC"),
                "vectorization": vectorization(conn, now=now, filters=sources),
            }

    return cached(svc, ("activity", filters), compute, CACHES["activity"], name="activity")


def health(svc: Services) -> dict[str, Any]:
    """``GET /admin/api/health``: ``unhealthy`` when the database does not
    answer; ``degraded`` when a component is broken, degraded or silent, or
    an error alert fires; else ``healthy``."""
    check = database_check(svc.db)
    if check["status"] != "ok":
        return _health_body(svc, check, None, [])
    now = svc.now()

    def compute() -> dict[str, Any]:
        with svc.db.read() as conn:
            state = overview.system_state(conn, now, svc.settings.component_ttl)
            open_alerts = manage.active_alerts(conn)
        return _health_body(svc, check, state, open_alerts)

    return cached(svc, ("health",), compute, CACHES["health"], name="health")


def _health_body(
    svc: Services, check: dict[str, Any], state: dict[str, Any] | None, open_alerts: list[dict[str, Any]]
) -> dict[str, Any]:
    firing = [a for a in open_alerts if a["state"] == "firing"]
    if check["status"] != "ok":
        status = "unhealthy"
    elif (state and state["status"] not in ("healthy", "unknown")) or any(a["severity"] == "error" for a in firing):
        status = "degraded"
    else:
        status = "healthy"
    return {
        "status": status,
        "timestamp": svc.now().isoformat(),
        "uptime_seconds": round(svc.uptime_seconds(), 1),
        "version": VERSION,
        "database": {"dialect": svc.db.dialect} | check,
        "components": state["components"] if state else [],
        "components_status": state["status"] if state else "unknown",
        "alerts": {"firing": len(firing), "pending": sum(a["state"] == "pending" for a in open_alerts)},
    }


def alerts(svc: Services, *, limit: int) -> dict[str, Any]:
    """``GET /admin/api/alerts``: the alert engine's open alerts (pending and
    firing) and its ``limit`` most recent alerts of any state."""
    with svc.db.read() as conn:
        active = manage.active_alerts(conn)
        history = manage.alert_history(conn, limit=limit)
    return {
        "active": active,
        "counts": {state: sum(a["state"] == state for a in active) for state in ("firing", "pending")},
        "recent": history["alerts"],
        "total": history["total"],
    }


def _cache_stats(stats: dict[str, int], ttl: float | None) -> dict[str, Any]:
    looked = stats["hits"] + stats["misses"]
    return stats | {"hit_ratio": round(stats["hits"] / looked, 4) if looked else None, "ttl_seconds": ttl}


def cache_stats(svc: Services) -> dict[str, Any]:
    """``GET /admin/api/cache/stats``: entries, hits, misses, hit ratio and TTL
    of each named cache, and of the shared cache of the other read routes."""
    caches = {name: _cache_stats(svc.cache.named(name, ttl).stats(), ttl) for name, ttl in CACHES.items()}
    caches[SHARED_CACHE] = _cache_stats(svc.cache.stats(), None)
    total = {k: sum(c[k] for c in caches.values()) for k in ("entries", "hits", "misses")}
    return {"caches": caches, "total": _cache_stats(total, None)}


def clear_caches(svc: Services) -> dict[str, Any]:
    """``POST /admin/api/cache/clear``: every cache emptied; how many entries went."""
    return {"status": "success", "cleared": svc.cache.clear()}


__all__ = [
    "CACHES",
    "PERIODS",
    "alerts",
    "cache_stats",
    "clear_caches",
    "health",
    "live_metrics",
    "period_of",
    "revenue",
    "user_activity",
]
