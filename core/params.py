"""Readers of query-string style parameters over a plain mapping: every bad
value is an ``InvalidInput`` naming its parameter. Time ranges are bounded
by ``longest`` and row limits by ``MAX_LIMIT``, so that no request can pin a
core. The web layer reads ``request.args`` through this; a job reads a saved
query's parameters the same way.

>>> args = Args({"limit": "20", "window": "1h"}, longest=timedelta(days=7))
>>> args.int_arg("limit", 100), args.duration_arg("window", timedelta(hours=24))
(20, datetime.timedelta(seconds=3600))
>>> Args({"limit": "x"}).int_arg("limit", 100)
Traceback (most recent call last):
...
core.errors.InvalidInput: parameter 'limit': expected an integer, got 'x'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from core.durations import MAX_WINDOW, parse_duration
from core.errors import InvalidInput
from core.filters import DIMENSIONS, ROLLUP_DIMENSIONS, Filters

MAX_LIMIT = 5000
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
LAST = datetime(2200, 1, 1, tzinfo=timezone.utc)


class Args:
    """Typed access to string parameters; blank values count as absent."""

    def __init__(self, values: Mapping[str, str], *, longest: timedelta = MAX_WINDOW) -> None:
        self.values = values
        self.longest = longest

    def arg(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name)
        return default if value is None or value.strip() == "" else value.strip()

    def int_arg(self, name: str, default: int, *, lo: int = 0, hi: int = MAX_LIMIT) -> int:
        raw = self.arg(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise InvalidInput(name, f"expected an integer, got {raw!r}") from None
        if not lo <= value <= hi:
            raise InvalidInput(name, f"must be between {lo} and {hi}, got {value}")
        return value

    def float_arg(self, name: str, default: float, *, lo: float, hi: float) -> float:
        raw = self.arg(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise InvalidInput(name, f"expected a number, got {raw!r}") from None
        if not lo <= value <= hi:
            raise InvalidInput(name, f"must be between {lo:g} and {hi:g}, got {raw}")
        return value

    def choice_arg(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.arg(name, default)
        assert value is not None
        if value not in choices:
            raise InvalidInput(name, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def bool_arg(self, name: str, default: bool = False) -> bool:
        raw = self.arg(name)
        if raw is None:
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise InvalidInput(name, f"expected true or false, got {raw!r}")

    def duration(self, raw: str, name: str) -> timedelta:
        return parse_duration(raw, name, longest=self.longest)

    def duration_arg(self, name: str, default: timedelta) -> timedelta:
        raw = self.arg(name)
        return default if raw is None else self.duration(raw, name)

    def days_arg(self, name: str, default: float) -> float:
        """A number of days back, at most ``longest``."""
        return self.float_arg(name, default, lo=0.001, hi=self.longest.days)

    def time_arg(self, name: str) -> datetime | None:
        """ISO 8601 (naive = UTC) or epoch seconds."""
        raw = self.arg(name)
        return None if raw is None else parse_time(raw, name)

    def time_range(self, now: datetime, default_window: timedelta) -> tuple[datetime, datetime]:
        """``since``/``until`` or ``window`` (trailing, ending now). Bounded."""
        until = self.time_arg("until") or now
        since = self.time_arg("since")
        named = "since"
        if since is None:
            since, named = until - self.duration_arg("window", default_window), "window"
        if since >= until:
            raise InvalidInput(named, "must be before 'until'")
        if until - since > self.longest:
            raise InvalidInput(named, f"the range may span at most {self.longest.days} days")
        return since, until

    def filters_arg(self, *, rollups: bool = False) -> Filters:
        """Dimension filters; a comma separates several accepted values. Routes
        served from rollups (``rollups=True``) can filter on their dimensions only."""
        values: dict[str, Any] = {}
        for name in DIMENSIONS:
            raw = self.arg(name)
            if raw is not None:
                if rollups and name not in ROLLUP_DIMENSIONS:
                    raise InvalidInput(name, f"this route filters on {', '.join(ROLLUP_DIMENSIONS)} only")
                parts = tuple(p.strip() for p in raw.split(",") if p.strip())
                if any(len(p) > 300 for p in parts):
                    raise InvalidInput(name, "value too long")
                values[name] = parts
        return Filters(**values)


def parse_time(raw: str, name: str) -> datetime:
    """ISO 8601 (naive = UTC) or epoch seconds, between 1970 and 2200, in UTC."""
    try:
        value = datetime.fromtimestamp(float(raw), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(name, f"expected ISO 8601 or epoch seconds, got {raw!r}") from None
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not EPOCH <= value <= LAST:
        raise InvalidInput(name, "out of range")
    return value.astimezone(timezone.utc)
