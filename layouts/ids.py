"""Every component id of the dashboard, in one place."""
from __future__ import annotations

URL = "url"
PAGE = "page"
EVENT_COUNT = "event-count"
