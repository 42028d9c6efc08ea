"""Days of history for the demo, written through the ordinary ingest path.

The window ``[now - days, now)`` is generated hour by hour (bounded memory)
and written in batches of ~2,000 events. Incidents sit at fixed times of day
relative to ``now``'s UTC day (see :func:`plan_incidents`)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from datetime import datetime

from data import queries
from demo.macro import Macro
from demo.model import (
    DAY,
    HEARTBEAT,
    HOUR,
    MINUTE,
    Act,
    Incident,
    Incidents,
    Mode,
    Scenario,
    backfill_mode,
    is_weekend,
)
from demo.payments import Payments
from demo.runner import Runner
from demo.scanner import Scanner
from demo.tools import Tools
from demo.writer import Writer
from services import Services

log = logging.getLogger(__name__)

SCENARIOS: tuple[type[Scenario], ...] = (Macro, Scanner, Payments, Tools, Runner)
SOURCES: tuple[str, ...] = tuple(s.source for s in SCENARIOS)
BATCH = 2000
SLICE = HOUR


def make_scenarios(seed: int, mode: Mode) -> list[Scenario]:
    return [cls(seed, i, mode) for i, cls in enumerate(SCENARIOS)]


def advance_all(scenarios: Sequence[Scenario], t0: float, t1: float, incidents: Incidents) -> list[Act]:
    """Every scenario's actions due in ``[t0, t1)``, merged in time order."""
    out = [act for s in scenarios for act in s.advance(t0, t1, incidents)]
    out.sort(key=lambda act: act.t)  # stable: ties keep the scenarios' order
    return out


def plan_incidents(now: datetime) -> list[Incident]:
    """The backfill's incidents. ``Y`` is the UTC day before ``now``'s day,
    ``D2`` the day before that; ``W`` the latest weekday before today.

    | kind | when (UTC) | what it shows |
    |---|---|---|
    | camera_fault | D2 13:05-13:09 | camera ``error``, error events, no scans |
    | latency_spike | D2 19:10-19:40 | /api/vectorize x5 latency: p95 anomaly |
    | sync_outage | W 07:20-08:35 | cloud ``offline``, failed syncs, queue > 50 then drains |
    | license_outage | Y 10:30-10:50 | tools ``failure`` burst |
    | payment_failures | Y 14:00-14:50 | ~65 % payments failed, checkout 502/504 |
    | backup_failures | Y 00:00-13:00 | backup.sh fails every attempt (streak of 9) |
    | regression | now - 2 days onward | etl_sync.py duration x1.4 |
    """
    t = now.timestamp()
    today = math.floor(t / DAY) * DAY
    y, d2 = today - DAY, today - 2 * DAY
    w = today - DAY
    while is_weekend(w):
        w -= DAY
    h = HOUR
    return [
        Incident("camera_fault", d2 + 13 * h + 5 * MINUTE, d2 + 13 * h + 9 * MINUTE, "camera error"),
        Incident("latency_spike", d2 + 19 * h + 10 * MINUTE, d2 + 19 * h + 40 * MINUTE, "/api/vectorize 5x slower"),
        Incident("sync_outage", w + 7 * h + 20 * MINUTE, w + 8 * h + 35 * MINUTE, "cloud sync outage"),
        Incident("license_outage", y + 10 * h + 30 * MINUTE, y + 10 * h + 50 * MINUTE, "license server down"),
        Incident("payment_failures", y + 14 * h, y + 14 * h + 50 * MINUTE, "payment gateway timeouts"),
        Incident("backup_failures", y, y + 13 * h, "backup.sh failing streak"),
        Incident("regression", t - 2 * DAY, math.inf, "etl_sync.py +40 % duration"),
    ]


def has_demo_data(services: Services) -> bool:
    with services.db.read() as conn:
        return bool(set(queries.distinct_values(conn, "source")) & set(SOURCES))


def backfill(
    services: Services, *, days: int = 7, now: datetime, seed: int = 7, heartbeat: float = HEARTBEAT
) -> dict[str, int]:
    """Fill ``days`` of history before ``now``; stored events per source
    (``{}`` when the database already holds demo data or ``days <= 0``).
    Components send a heartbeat at most ``heartbeat`` seconds apart.
    History is not published to the live feed."""
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    if days <= 0 or has_demo_data(services):
        return {}
    started = time.monotonic()
    t1 = now.timestamp()
    t0 = t1 - days * DAY
    incidents = Incidents(i for i in plan_incidents(now) if i.end > t0)
    scenarios = make_scenarios(seed, backfill_mode(heartbeat))
    writer = Writer(services, batch=BATCH, publish=False)
    a = t0
    while a < t1:
        b = min(a + SLICE, t1)
        writer.add(advance_all(scenarios, a, b, incidents))
        a = b
    for scenario in scenarios:
        writer.add(sorted(scenario.close(t1), key=lambda act: act.t))
    writer.flush()
    counts = {source: writer.counts.get(source, 0) for source in SOURCES}
    log.info("demo backfill: %d events over %d days in %.1f s", sum(counts.values()), days, time.monotonic() - started)
    return counts
