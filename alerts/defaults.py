"""The device monitor's alert conditions as default rules.

They are what ``reports.overview.monitor_alerts`` checks on its metrics card:
the newest ``queue_size`` gauge above 50; more than 10 failed ``sync`` events
today; a ``sync`` success rate below 80 % today once more than 10 ``scan``
events were counted today. The rule names are the ids ``GET /api/alerts``
gives those alerts. They are installed once, into an empty rules table (a
fresh database); edit or disable them like any rule.
"""

from __future__ import annotations

from typing import Any

from reports.overview import (
    FAILED_SYNC_LIMIT,
    MIN_SCANS_FOR_RATE,
    QUEUE_LIMIT,
    QUEUE_TYPE,
    SCAN_TYPE,
    SUCCESS_RATE_FLOOR,
    SYNC_TYPE,
)

DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "name": "queue_size",
        "description": "High queue size",
        "metric": "latest",
        "filter": {"type": QUEUE_TYPE},
        "window": "30d",
        "op": ">",
        "threshold": QUEUE_LIMIT,
        "severity": "warning",
    },
    {
        "name": "failed_syncs",
        "description": "Sync failures",
        "metric": "failures",
        "filter": {"type": SYNC_TYPE},
        "window": "today",
        "op": ">",
        "threshold": FAILED_SYNC_LIMIT,
        "severity": "error",
    },
    {
        "name": "success_rate",
        "description": "Low sync success rate",
        "metric": "success_rate",
        "filter": {"type": SYNC_TYPE},
        "window": "today",
        "op": "<",
        "threshold": SUCCESS_RATE_FLOOR,
        "min_samples": MIN_SCANS_FOR_RATE + 1,
        "samples_filter": {"type": SCAN_TYPE},
        "severity": "error",
    },
]
