"""The overview's figures and the device monitor's status: KPIs,
component health and recent events, composed from queries and analytics.

Counts over long windows come from the per-minute rollups (exact), the
minute in progress included; users and recent events from raw rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from analytics.breakdowns import classify_statuses
from analytics.uptime import HEALTHY, effective_status, uptime_percent
from data import queries
from data.queries import Filters

BROKEN = ("error", "failed", "failure", "down", "critical")
DEGRADED = ("degraded", "warning", "slow", "busy")

# The device-monitor scenario's event types (query parameters can override them).
SCAN_TYPE = "scan"
SYNC_TYPE = "sync"
QUEUE_TYPE = "queue_size"
QUEUED_TYPE, QUEUED_PREFIX = "warning", "Cloud sync queued"  # a sync that did not go through


def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def status_mix(totals: pd.DataFrame) -> dict[str, Any]:
    """Success/failure counts and the success rate in percent, from per-status counts."""
    if totals.empty:
        return {"success": 0, "failure": 0, "total": 0, "success_rate": None}
    outcome = classify_statuses(totals["status"].replace("", None))
    success = int(totals.loc[outcome == "success", "count"].sum())
    failure = int(totals.loc[outcome == "failure", "count"].sum())
    decided = success + failure
    rate = round(100.0 * success / decided, 2) if decided else None
    return {"success": success, "failure": failure, "total": int(totals["count"].sum()), "success_rate": rate}


def count(conn: Connection, since: datetime, until: datetime, filters: Filters = Filters()) -> int:
    df = queries.rollup_totals(conn, since=since, until=until, filters=filters, columns=("count",))
    return int(df["count"].sum()) if len(df) else 0


RATE_MINUTES = 10  # the per-minute card's window


def rate_minutes(conn: Connection, now: datetime, minutes: int) -> float:
    """The minutes a per-minute rate over the last ``minutes`` divides by:
    fewer when the first event is more recent (a fresh install), at least 1."""
    first = queries.first_event_time(conn)
    if first is None:
        return float(minutes)
    return min(float(minutes), max((now - first).total_seconds() / 60.0, 1.0))


def kpis(conn: Connection, now: datetime, filters: Filters = Filters()) -> dict[str, Any]:
    """The overview's cards."""
    end = now + timedelta(minutes=1)  # include the minute in progress
    today = queries.rollup_totals(
        conn, since=day_start(now), until=end, filters=filters, group_by=("status",), columns=("count",)
    )
    last_10 = count(conn, now - timedelta(minutes=10), end, filters)
    mix = status_mix(today)
    return {
        "events_today": mix["total"],
        "events_last_hour": count(conn, now - timedelta(hours=1), end, filters),
        "rate_per_min": round(last_10 / rate_minutes(conn, now, RATE_MINUTES), 2),
        "success_rate": mix["success_rate"],
        "active_users_30m": queries.count_active_users(conn, since=now - timedelta(minutes=30), filters=filters),
        "open_sessions": queries.count_open_sessions(conn),
        "last_event_id": queries.last_event_id(conn),
    }


def overall_status(components: list[dict[str, Any]]) -> str:
    """The device monitor's overall health: ``healthy`` (all up),
    ``error`` (any broken, or none up), ``degraded`` (any degraded), ``partial``
    (some offline or unknown); ``unknown`` before any component reported.

    >>> overall_status([{"status": "online"}, {"status": "offline"}])
    'partial'
    """
    if not components:
        return "unknown"
    states = [str(c["status"]).lower() for c in components]
    if any(s in BROKEN for s in states):
        return "error"
    if any(s in DEGRADED for s in states):
        return "degraded"
    up = sum(s in HEALTHY for s in states)
    if up == len(states):
        return "healthy"
    return "error" if up == 0 else "partial"


UPTIME_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
UPTIME_REFRESH = 60.0  # seconds a page keeps the components' uptime (a month of heartbeats to read)


def system_state(conn: Connection, now: datetime, default_ttl: float, *, uptime: bool = False) -> dict[str, Any]:
    """Component states and the overall status. A component silent for longer
    than its TTL (its own ``ttl_seconds``, else ``default_ttl``) is ``offline``;
    ``reported_status`` keeps what it last said. With ``uptime``, each component
    gets its healthy share of the last 24 h, 7 d and 30 d in percent."""
    components = []
    for c in queries.list_components(conn):
        ttl = timedelta(seconds=c.get("ttl_seconds") or default_ttl)
        item = {
            "name": c["name"],
            "status": effective_status(c["status"], c["updated_at"], now, ttl),
            "reported_status": c["status"],
            "detail": c["detail"],
            "updated_at": c["updated_at"].isoformat(),
            "ttl_seconds": ttl.total_seconds(),
            "age_seconds": round(max((now - c["updated_at"]).total_seconds(), 0.0), 3),
        }
        if item["status"] != c["status"]:
            item["detail"] = (
                f"no report for {format_uptime(item['age_seconds']).removeprefix('0h ')} (last: {c['status']})"
            )
        if uptime:
            item["uptime"] = component_uptime(conn, c["name"], now, ttl)
        components.append(item)
    state: dict[str, Any] = {"status": overall_status(components)}
    for c in components:
        state[f"{c['name']}_status"] = c["status"]
    state["components"] = components
    return state


def component_uptime(conn: Connection, name: str, now: datetime, ttl: timedelta) -> dict[str, float | None]:
    """A component's healthy share of the last 24 h, 7 d and 30 d, in percent."""
    reports = queries.component_reports(conn, name, now - max(UPTIME_WINDOWS.values()), now)
    return {k: uptime_percent(reports, now - w, now, ttl) for k, w in UPTIME_WINDOWS.items()}


def live_system_state(services: Any, now: datetime) -> dict[str, Any]:
    """:func:`system_state` with uptime for a page that refreshes every few
    seconds: the states are current, the uptimes at most
    :data:`UPTIME_REFRESH` seconds old."""
    default_ttl = services.settings.component_ttl
    with services.db.read() as conn:
        state = system_state(conn, now, default_ttl)

    def compute() -> dict[str, dict[str, float | None]]:
        with services.db.replica() as conn:
            return {
                c["name"]: component_uptime(conn, c["name"], now, timedelta(seconds=c["ttl_seconds"]))
                for c in state["components"]
            }

    names = tuple(c["name"] for c in state["components"])
    uptimes = services.cache.get_or_compute(("component-uptime", names), 0, compute, ttl=UPTIME_REFRESH)
    for c in state["components"]:
        c["uptime"] = uptimes.get(c["name"])
    return state


def event_json(row: dict[str, Any]) -> dict[str, Any]:
    """An event as the API and the live feed show it."""
    out = {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
    ts = out.get("ts")
    if ts is not None and hasattr(ts, "isoformat"):
        out["ts"] = ts.isoformat()
    if "id" in out and out["id"] is not None:
        out["id"] = int(out["id"])
    out["timestamp"] = out.get("ts")
    out["context"] = out.get("attrs")
    return out


def recent_events(
    conn: Connection,
    *,
    limit: int = 50,
    filters: Filters = Filters(),
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int | None = None,
) -> list[dict[str, Any]]:
    df = queries.events_frame(
        conn, filters=filters, limit=limit, since=since, until=until, after_id=after_id, newest_first=after_id is None
    )
    return [event_json(r) for r in df.to_dict("records")]


def format_uptime(seconds: float) -> str:
    """``1h 0m`` as the device monitor shows it.

    >>> format_uptime(3600), format_uptime(90061)
    ('1h 0m', '1d 1h 1m')
    """
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m"


def monitor_metrics(
    conn: Connection,
    now: datetime,
    uptime_seconds: float,
    *,
    scan_type: str = SCAN_TYPE,
    sync_type: str = SYNC_TYPE,
    queue_type: str = QUEUE_TYPE,
    source: str | None = None,
) -> dict[str, Any]:
    """The device monitor's metrics card."""
    end = now + timedelta(minutes=1)
    src = (source,) if source else ()
    scans = Filters(type=(scan_type,), source=src)
    syncs = queries.rollup_totals(
        conn,
        since=day_start(now),
        until=end,
        filters=Filters(type=(sync_type,), source=src),
        group_by=("status",),
        columns=("count",),
    )
    mix = status_mix(syncs)
    # The scanner logs a `sync` (no status) when a record reached the cloud and a
    # `warning` "Cloud sync queued: ..." when it did not; explicit statuses count too.
    synced = mix["total"] - mix["failure"]
    queued = queries.count_with_prefix(
        conn,
        since=day_start(now),
        until=end,
        filters=Filters(type=(QUEUED_TYPE,), source=src),
        message_prefix=QUEUED_PREFIX,
    )
    failed = mix["failure"] + queued
    queue, _ = queries.latest_value(conn, type_=queue_type, source=source)
    return {
        "scans_today": count(conn, day_start(now), end, scans),
        "scans_last_hour": count(conn, now - timedelta(hours=1), end, scans),
        "success_rate": round(100.0 * synced / (synced + failed), 2) if synced + failed else None,
        "queue_size": int(queue) if queue is not None else 0,
        "failed_syncs": failed,
        "uptime_seconds": int(uptime_seconds),
    }


# The device monitor's alert conditions, checked against its metrics card.
QUEUE_LIMIT = 50
FAILED_SYNC_LIMIT = 10
SUCCESS_RATE_FLOOR = 80.0
MIN_SCANS_FOR_RATE = 10


def monitor_alerts(metrics: dict[str, Any], system: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """Conditions that hold now: high queue, many failed syncs, low success rate,
    and components in error or offline. Each alert has ``id`` (a stable
    fingerprint, the same while the condition lasts), ``level`` (error,
    warning, info), ``title`` and ``message``.

    >>> [a["id"] for a in monitor_alerts({"queue_size": 60, "failed_syncs": 0, "success_rate": 100.0, "scans_today": 0},
    ...                                  {"components": []}, datetime(2026, 1, 1))]
    ['queue_size']
    """
    alerts = []

    def add(key: str, level: str, title: str, message: str) -> None:
        alerts.append({"id": key, "level": level, "title": title, "message": message, "timestamp": now.isoformat()})

    if metrics["queue_size"] > QUEUE_LIMIT:
        add(
            "queue_size",
            "warning",
            "High queue size",
            f"{metrics['queue_size']} records wait to sync (limit {QUEUE_LIMIT})",
        )
    if metrics["failed_syncs"] > FAILED_SYNC_LIMIT:
        add(
            "failed_syncs",
            "error",
            "Sync failures",
            f"{metrics['failed_syncs']} syncs failed today (limit {FAILED_SYNC_LIMIT})",
        )
    rate = metrics["success_rate"]
    if rate is not None and rate < SUCCESS_RATE_FLOOR and metrics["scans_today"] > MIN_SCANS_FOR_RATE:
        add(
            "success_rate",
            "error",
            "Low sync success rate",
            f"{rate:.1f} % of syncs succeeded today (floor {SUCCESS_RATE_FLOOR:.0f} %)",
        )
    for c in system.get("components", []):
        status = str(c["status"]).lower()
        if status in BROKEN or status in ("offline",):
            add(
                f"component:{c['name']}",
                "error" if status in BROKEN else "warning",
                f"{c['name']} is {c['status']}",
                c.get("detail") or "",
            )
    return alerts
