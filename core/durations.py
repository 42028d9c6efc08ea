"""Durations as people write them: ``90`` (seconds), ``30s``, ``10min``,
``6h``, ``7d``, ``2w``. The longest accepted duration is an argument, so a
parse gives the same answer wherever it runs (a request, a job, a test).

>>> parse_duration("10min", "window", longest=timedelta(days=1))
datetime.timedelta(seconds=600)
>>> parse_duration("2d", "window", longest=timedelta(days=1))
Traceback (most recent call last):
...
core.errors.InvalidInput: parameter 'window': must be between 1 second and 1 days, got '2d'
"""

from __future__ import annotations

import re
from datetime import timedelta

from core.errors import InvalidInput

# The longest range anything may cover when no setting says otherwise (settings.max_query_days).
MAX_WINDOW = timedelta(days=400)

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hour|d|day|w|week)s?$")
_UNITS = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
    "w": 604800,
    "week": 604800,
}


def parse_duration(raw: str, name: str, *, longest: timedelta = MAX_WINDOW) -> timedelta:
    """``raw`` as a positive duration of at most ``longest``; an
    ``InvalidInput`` naming ``name`` otherwise."""
    text = raw.strip().lower()
    try:
        seconds = float(text)
    except ValueError:
        match = _DURATION.match(text)
        if not match:
            raise InvalidInput(name, f"expected a duration like 90, 10min, 6h or 7d, got {raw!r}") from None
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if not 0 < seconds <= longest.total_seconds():
        raise InvalidInput(name, f"must be between 1 second and {longest.days} days, got {raw!r}")
    return timedelta(seconds=seconds)
