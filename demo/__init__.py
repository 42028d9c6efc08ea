"""Demo data for Pulseboard: the five scenarios of the dashboards it replaces
(macro sessions, attendance scanner, payments admin, license/tool usage,
script runner), with daily seasonality, bursts and a few incidents.

    counts = demo.backfill(services, days=7, now=services.now(), seed=7)
    sim = demo.Simulator(services, seed=7)
    sim.start()   # daemon thread: the history's rates for the time of day, with bursts
    sim.stop()

Everything goes through the ordinary write path (``data.ingest.ingest`` and
``data.records``), so rollups, the live feed and every page see it.
"""

from __future__ import annotations

from demo.backfill import SOURCES, backfill, has_demo_data, plan_incidents
from demo.simulator import LIVE_INCIDENTS, Simulator

__all__ = ["LIVE_INCIDENTS", "SOURCES", "Simulator", "backfill", "has_demo_data", "plan_incidents"]
