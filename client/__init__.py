"""Pulseboard's Python client: standard library only.

    from client import get_monitor            # in this repository
    from pulseboard_client import get_monitor  # after ``pip install ./client``

    monitor = get_monitor()                   # PULSE_URL, PULSE_API_KEY, PULSE_SOURCE, PULSE_SPOOL_DIR
    monitor.log_event("scan", "Attendance recorded", {"student_id": "2021001"})
    monitor.update_system_state("camera", "online", "640x480")
    with monitor.execution("nightly-report") as run:
        run.metric("rows", 1200)

``log_event`` only appends to an in-memory queue; a background thread sends
batches (500 events or 200 ms), keeps what the server cannot take in a local
SQLite spool and replays it in order when the server is back. Every event
carries a ``uid`` and every session and execution a client-made id, so a
retry never stores an event or a run twice. ``python -m client.run -- CMD`` records a command's run;
``python -m client.spool`` inspects, exports or replays the spool.

Modules import each other relatively, so the folder works under any name:
``client`` here, ``pulseboard_client`` when installed, or copied elsewhere.
"""

from __future__ import annotations

from .config import Config
from .execution import Execution
from .monitor import EVENT_FIELDS, Monitor, MonitorError, get_monitor
from .sse import Subscription

__all__ = ["EVENT_FIELDS", "Config", "Execution", "Monitor", "MonitorError", "Subscription", "get_monitor"]
__version__ = "1.0.0"
