"""Alert rules the demo installs beside the device-monitor defaults, so that
its incidents raise alerts: the ``etl_sync.py`` regression (ongoing: it fires
from the start and waits to be acknowledged), failed payments, tool failures,
slow API requests and failing scripts (the live simulator's incidents)."""

from __future__ import annotations

from typing import Any

from alerts import manage
from services import Services

DEMO_RULES: list[dict[str, Any]] = [
    {
        "name": "etl_sync slower than its budget",
        "description": "etl_sync.py's median run over 6 h above 50 s (it takes ~42 s)",
        "metric": "p50",
        "field": "duration_ms",
        "filter": {"type": "execution_finished", "entity": "etl_sync.py"},
        "window": "6h",
        "op": ">",
        "threshold": 50_000,
        "min_samples": 3,
        "severity": "warning",
        "labels": {"team": "data"},
    },
    {
        "name": "payments failing",
        "description": "More than 3 failed payments in 10 minutes",
        "metric": "failures",
        "filter": {"type": "payment"},
        "window": "10m",
        "op": ">",
        "threshold": 3,
        "keep_firing_for": "2m",
        "severity": "error",
        "labels": {"team": "payments"},
    },
    {
        "name": "tool borrow failures",
        "description": "License server refusing borrows",
        "metric": "count",
        "filter": {"type": "failure", "source": "tools"},
        "window": "5m",
        "op": ">",
        "threshold": 5,
        "severity": "warning",
        "labels": {"team": "it"},
    },
    {
        "name": "API p95 latency",
        "description": "p95 request time per endpoint over 5 minutes above 2 s",
        "metric": "p95",
        "field": "duration_ms",
        "filter": {"type": "request"},
        "group_by": ["entity"],
        "window": "5m",
        "op": ">",
        "threshold": 2_000,
        "min_samples": 10,
        "for": "1m",
        "keep_firing_for": "2m",
        "severity": "warning",
    },
    {
        "name": "scripts failing",
        "description": "More than 3 failed script runs in 10 minutes",
        "metric": "failures",
        "filter": {"type": "execution_finished"},
        "window": "10m",
        "op": ">",
        "threshold": 3,
        "severity": "error",
        "labels": {"team": "ops"},
    },
]


def install(services: Services) -> int:
    """Add the demo's rules that are not there yet (by name); returns how many."""
    added = 0
    with services.db.write() as conn:
        known = {r["name"] for r in manage.list_rules(conn)}
        for spec in DEMO_RULES:
            if spec["name"] not in known:
                manage.save_rule(
                    conn, spec, now=services.now(), origin="demo"
                )  # (the demo test checks every one is valid)
                added += 1
    return added
