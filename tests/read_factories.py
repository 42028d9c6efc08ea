"""Scenario data for the read-API tests, posted through the real HTTP API.

Every scenario is anchored on a fixed ``now`` (:func:`fixed_now`: 12:00 UTC of
the latest day whose noon has passed, so that no timestamp lies in the future
and "today" has twelve hours behind it). :func:`freeze` points the server's
clock at it, which makes "today", "last hour" and trailing windows
deterministic. The numbers each test expects are written out beside it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@contextlib.contextmanager
def shared_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A live server for a module-scoped fixture parametrized with ``"sqlite"``
    and ``"postgresql"``: read-only tests share one loaded scenario instead of
    building it again for every test."""
    from app import create_app
    from settings import load_settings
    from tests.conftest import LiveServer

    tmp = tmp_path_factory.mktemp("pulse")
    url = (
        f"sqlite:///{tmp / 'pulse.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres").new_database()
    )
    server = LiveServer(create_app(load_settings({"db": url, "data_dir": str(tmp), "rate_limit": 0}, environ={})))
    try:
        yield server
    finally:
        server.stop()


def fixed_now() -> datetime:
    """Noon UTC today, or yesterday before noon: never later than the real clock."""
    real = datetime.now(timezone.utc)
    noon = real.replace(hour=12, minute=0, second=0, microsecond=0)
    return noon if noon <= real else noon - DAY


def iso(ts: datetime) -> str:
    return ts.isoformat()


def freeze(server: Any, now: datetime, *, uptime_seconds: float | None = None) -> datetime:
    """Make ``server`` believe it is ``now`` (and, optionally, up for that long)."""
    server.services.clock = lambda: now
    if uptime_seconds is not None:
        server.services.started_monotonic = time.monotonic() - uptime_seconds
    return now


def post_events(server: Any, events: list[dict[str, Any]]) -> list[int]:
    """Store events in one batch; ``ts`` datetimes are sent as ISO 8601."""
    body = [{**e, "ts": iso(e["ts"])} if isinstance(e.get("ts"), datetime) else e for e in events]
    r = server.post("/api/events", json=body)
    assert r.status_code in (200, 201), r.text
    ids: list[int] = r.json()["ids"]
    return ids


def event(ts: datetime, type_: str, **fields: Any) -> dict[str, Any]:
    return {"ts": ts, "type": type_, **fields}


# ------------------------------------------------------------ device monitor


def device_monitor(server: Any, now: datetime) -> None:
    """The attendance scanner: scans, cloud syncs, a queue-size gauge, components.

    scans: 3 at now-5min, 2 at now-30min (last hour: 5), 4 at now-2h and 1 at
    now-11h (today: 10), 2 yesterday at 23:00 (not today).
    syncs today: 8 success, 2 failed (80 %); 1 failed yesterday (not counted).
    queue_size gauge: 12 at now-1h, 7 at now-20min, 3 at now-2min (latest: 3).
    components: camera online (640x480), cloud online, sms online.
    """
    freeze(server, now)
    src = "scanner"
    scans = [now - 5 * MIN] * 3 + [now - 30 * MIN] * 2 + [now - 2 * HOUR] * 4 + [now - 11 * HOUR]
    yesterday = now.replace(hour=0) - HOUR
    events = [
        event(t, "scan", source=src, status="ok", user=f"student{i}", attrs={"student_id": f"20210{i:02d}"})
        for i, t in enumerate(scans)
    ]
    events += [event(yesterday, "scan", source=src, status="ok") for _ in range(2)]
    events += [event(now - (3 + 10 * i) * MIN, "sync", source=src, status="success") for i in range(8)]
    events += [event(now - t, "sync", source=src, status="failed") for t in (40 * MIN, 3 * HOUR)]
    events += [event(yesterday, "sync", source=src, status="failed")]
    events += [
        event(now - HOUR, "queue_size", source=src, value=12),
        event(now - 20 * MIN, "queue_size", source=src, value=7),
        event(now - 2 * MIN, "queue_size", source=src, value=3),
    ]
    post_events(server, events)
    for name, detail in (("camera", "640x480"), ("cloud", "Connected"), ("sms", "Ready")):
        r = server.put(f"/api/components/{name}", json={"status": "online", "detail": detail, "source": src})
        assert r.status_code == 200, r.text


# ------------------------------------------------------------- macro session


@dataclasses.dataclass
class Interaction:
    minutes_before: int
    boxes: float
    execution_ms: float
    counts: dict[str, int]
    button: str = "Num5"


#: Six interactions of one open session started 20 minutes before ``now``.
#: total boxes 28; duration 1200 s; average speed 28/1200; current (10 min)
#: speed (6+2+4)/600 = 0.02; execution time 800..1500 ms, mean 6500/6,
#: median 1050; categories glare 4, smudge 3, blur 1.
INTERACTIONS = [
    Interaction(19, 9, 1000, {"smudge": 1, "glare": 1}),
    Interaction(15, 3, 1200, {"glare": 2}, "Num4"),
    Interaction(12, 4, 800, {"blur": 1}),
    Interaction(8, 6, 1500, {"smudge": 2}),
    Interaction(5, 2, 900, {}),
    Interaction(1, 4, 1100, {"glare": 1}, "Num4"),
]


def macro_session(server: Any, now: datetime, session_id: str, *, started_minutes_before: int = 20) -> str:
    """A macro session started with the macro-sessions tool's own routes, then its interactions."""
    freeze(server, now)
    r = server.post(
        "/session/start",
        json={
            "session_id": session_id,
            "username": "john_doe",
            "canvas_mode": "wide",
            "ts": iso(now - started_minutes_before * MIN),
        },
    )
    assert r.status_code == 201, r.text
    for it in INTERACTIONS:
        body = {
            "session_id": session_id,
            "interaction_type": "macro_execution",
            "button_key": it.button,
            "execution_time_ms": it.execution_ms,
            "total_boxes": it.boxes,
            "degradation_counts": it.counts,
            "degradation_assignments": ",".join(it.counts),
            "timestamp": iso(now - it.minutes_before * MIN),
        }
        r = server.post("/ingest/interaction", json=body)
        assert r.status_code == 201, r.text
    return session_id


def bulk_interactions(server: Any, now: datetime, session_id: str, n: int) -> list[int]:
    """``n`` interactions of one session, one second apart, the last at ``now - 1s``."""
    events = [
        event(
            now - (n - i) * timedelta(seconds=1),
            "macro_execution",
            source="macro",
            session_id=session_id,
            entity="Num1",
            value=1,
            duration_ms=100 + i,
        )
        for i in range(n)
    ]
    return post_events(server, events)


# ------------------------------------------------------------------ payments


#: (offset from now, amount, status, user): three hours before ``now``.
#: Hour totals of successful payments: 09:00 -> 30, 10:00 -> 0 (failed 50,
#: pending 5), 11:00 -> 45; total 75, average 25, peak 11:00 (45).
PAYMENTS_TODAY = [
    (-(2 * HOUR + 50 * MIN), 10.0, "completed", "ann"),
    (-(2 * HOUR + 20 * MIN), 20.0, "completed", "ben"),
    (-(HOUR + 30 * MIN), 50.0, "failed", "cid"),
    (-(HOUR + 15 * MIN), 5.0, "pending", "ann"),
    (-45 * MIN, 30.0, "completed", "dee"),
    (-10 * MIN, 15.0, "completed", "eve"),
]
#: Earlier days (offsets from ``now``): 2 days ago 100, 1 day ago 40 + 60
#: (and a failed 70), and 7 days ago + 1h: 1000, inside the default 7-day
#: window but in the window's first, partial day.
PAYMENTS_EARLIER = [
    (-2 * DAY, 100.0, "completed", "fay"),
    (-DAY - 2 * HOUR, 40.0, "completed", "gus"),
    (-DAY + HOUR, 60.0, "success", "hal"),
    (-DAY, 70.0, "failed", "ian"),
    (-7 * DAY + HOUR, 1000.0, "completed", "jon"),
]


def payments(server: Any, now: datetime) -> list[dict[str, Any]]:
    """PAYMENTS_TODAY and PAYMENTS_EARLIER as ``payment`` events of source "shop"."""
    freeze(server, now)
    events = [
        event(
            now + off,
            "payment",
            source="shop",
            value=amount,
            status=status,
            user=user,
            uid=f"tx-{i}",
            attrs={"plan": "pro" if amount >= 30 else "basic"},
        )
        for i, (off, amount, status, user) in enumerate(PAYMENTS_TODAY + PAYMENTS_EARLIER)
    ]
    post_events(server, events)
    return events


def request_timings(server: Any, now: datetime) -> list[dict[str, Any]]:
    """Requests of two endpoints (entity) in the last hour: /api/checkout every
    30 s back to now - 50 min, taking 10, 20, ..., 1000 ms (100 requests);
    /api/cart twice at now - 5 min, 40 ms and 60 ms. Status "200"."""
    freeze(server, now)
    events = [
        event(
            now - timedelta(seconds=30 * (i + 1)),
            "request",
            source="web",
            entity="/api/checkout",
            duration_ms=10.0 * (i + 1),
            status="200",
        )
        for i in range(100)
    ]
    events += [
        event(now - 5 * MIN, "request", source="web", entity="/api/cart", duration_ms=d, status="200")
        for d in (40.0, 60.0)
    ]
    post_events(server, events)
    return events


# ---------------------------------------------------------------- tool usage

TOOL = "Vector - DaVinci Configurator SE"
OTHER_TOOL = "CANoe"

#: (offset from now, tool, user, overage)
BORROWS = [
    (-(3 * MIN), TOOL, "alice", True),
    (-(3 * MIN) + timedelta(seconds=20), TOOL, "bob", False),
    (-(3 * MIN) + timedelta(seconds=40), TOOL, "alice", False),
    (-(10 * MIN), TOOL, "carol", True),
    (-(45 * MIN), TOOL, "dave", False),
    (-(2 * HOUR), TOOL, "erin", True),
    (-(5 * HOUR), TOOL, "frank", False),
    (-(7 * HOUR), TOOL, "gina", True),
    (-(MIN / 2), OTHER_TOOL, "bob", True),
]


def tool_borrows(server: Any, now: datetime) -> list[dict[str, Any]]:
    """BORROWS as ``borrow`` events (entity = tool) with ``attrs.overage``."""
    freeze(server, now)
    events = [
        event(now + off, "borrow", source="licenses", entity=tool, user=user, attrs={"overage": overage})
        for off, tool, user, overage in BORROWS
    ]
    post_events(server, events)
    return events


# ------------------------------------------------------------ script runner


@dataclasses.dataclass
class Runs:
    etl: list[str]
    report: list[str]
    report_outlier: str


#: report.py durations (ms), one run an hour; run 10 is an outlier.
REPORT_DURATIONS = [100.0, 102.0, 98.0, 101.0, 99.0, 100.0, 103.0, 97.0, 100.0, 101.0, 900.0, 100.0]


def execution(
    server: Any,
    run_id: str,
    script: str,
    started: datetime,
    duration_ms: float,
    *,
    exit_code: int = 0,
    metrics: dict[str, float] | None = None,
) -> dict[str, Any]:
    body = {
        "id": run_id,
        "script": script,
        "started_at": iso(started),
        "duration_ms": duration_ms,
        "exit_code": exit_code,
        "metrics": metrics or {},
    }
    r = server.post("/api/executions", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def script_runs(server: Any, now: datetime) -> Runs:
    """etl.py: 14 runs, one every 6 hours (now - 84h30 ... now - 6h30), duration
    1000 + 50 i ms (a slow regression), metrics rows = 100 + i and memory_mb =
    50 + (i % 3); run 3 failed (exit 1). report.py: 12 hourly runs (now - 12h
    ... now - 1h) lasting REPORT_DURATIONS, metric ``pages`` = 10; run 10 is an
    outlier."""
    freeze(server, now)
    etl = []
    for i in range(14):
        started = now - (14 - i) * 6 * HOUR - 30 * MIN
        run_id = f"etl-{i:02d}"
        execution(
            server,
            run_id,
            "etl.py",
            started,
            1000.0 + 50 * i,
            exit_code=1 if i == 3 else 0,
            metrics={"rows": 100.0 + i, "memory_mb": 50.0 + (i % 3)},
        )
        etl.append(run_id)
    report = []
    for i, duration in enumerate(REPORT_DURATIONS):
        started = now - (12 - i) * HOUR
        run_id = f"report-{i:02d}"
        execution(server, run_id, "report.py", started, duration, metrics={"pages": 10.0})
        report.append(run_id)
    return Runs(etl=etl, report=report, report_outlier=report[10])


def every_kind(server: Any, now: datetime, session_id: str) -> None:
    """A little of every scenario, a firing alert (id 1) and an export file
    ``openapi-<now>.csv``: every read route has something to answer with."""
    device_monitor(server, now)
    macro_session(server, now, session_id)
    tool_borrows(server, now)
    payments(server, now)
    request_timings(server, now)
    script_runs(server, now)
    freeze(server, now)
    server.post("/api/rules", json={"name": "always", "threshold": -1}).raise_for_status()  # fires at once: alert 1
    server.post("/api/alerts/evaluate").raise_for_status()
    schedule = server.post(
        "/api/exports/schedules", json={"name": "openapi", "query": "window=1h", "cron": "@daily"}
    ).json()
    server.post(f"/api/exports/schedules/{schedule['id']}/run").raise_for_status()
