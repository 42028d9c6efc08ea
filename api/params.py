"""Query-string parsing for the read routes: every bad parameter is a 400
that names it. Time ranges are bounded by ``settings.max_query_days`` and
row limits by ``MAX_LIMIT``, so that no request can pin a core."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import current_app, has_app_context, request

from api.http import ApiError
from data.queries import DIMENSIONS, ROLLUP_DIMENSIONS, Filters

MAX_WINDOW = timedelta(days=400)  # when no app is configured (settings.max_query_days overrides)
MAX_LIMIT = 5000
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


def max_window() -> timedelta:
    """The longest time range a request may cover: ``settings.max_query_days``."""
    if has_app_context():
        services = current_app.extensions.get("pulseboard")
        if services is not None:
            return timedelta(days=services.settings.max_query_days)
    return MAX_WINDOW


def arg(name: str, default: str | None = None) -> str | None:
    value = request.args.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def int_arg(name: str, default: int, *, lo: int = 0, hi: int = MAX_LIMIT) -> int:
    raw = arg(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"parameter '{name}': expected an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ApiError(400, f"parameter '{name}': must be between {lo} and {hi}, got {value}")
    return value


def float_arg(name: str, default: float, *, lo: float, hi: float) -> float:
    raw = arg(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, f"parameter '{name}': expected a number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ApiError(400, f"parameter '{name}': must be between {lo:g} and {hi:g}, got {raw}")
    return value


def choice_arg(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = arg(name, default)
    assert value is not None
    if value not in choices:
        raise ApiError(400, f"parameter '{name}': must be one of {', '.join(choices)}, got {value!r}")
    return value


def bool_arg(name: str, default: bool = False) -> bool:
    raw = arg(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ApiError(400, f"parameter '{name}': expected true or false, got {raw!r}")


def parse_duration(raw: str, name: str) -> timedelta:
    """``90`` (seconds), ``30s``, ``10min``, ``6h``, ``7d``, ``2w``."""
    text = raw.strip().lower()
    try:
        seconds = float(text)
    except ValueError:
        match = _DURATION.match(text)
        if not match:
            raise ApiError(
                400, f"parameter '{name}': expected a duration like 90, 10min, 6h or 7d, got {raw!r}"
            ) from None
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    longest = max_window()
    if not 0 < seconds <= longest.total_seconds():
        raise ApiError(400, f"parameter '{name}': must be between 1 second and {longest.days} days, got {raw!r}")
    return timedelta(seconds=seconds)


def days_arg(name: str, default: float) -> float:
    """A number of days back, at most ``settings.max_query_days``."""
    return float_arg(name, default, lo=0.001, hi=max_window().days)


def duration_arg(name: str, default: timedelta) -> timedelta:
    raw = arg(name)
    return default if raw is None else parse_duration(raw, name)


def time_arg(name: str) -> datetime | None:
    """ISO 8601 (naive = UTC) or epoch seconds."""
    raw = arg(name)
    if raw is None:
        return None
    try:
        value = datetime.fromtimestamp(float(raw), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise ApiError(400, f"parameter '{name}': expected ISO 8601 or epoch seconds, got {raw!r}") from None
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not datetime(1970, 1, 1, tzinfo=timezone.utc) <= value <= datetime(2200, 1, 1, tzinfo=timezone.utc):
        raise ApiError(400, f"parameter '{name}': out of range")
    return value.astimezone(timezone.utc)


def time_range(now: datetime, default_window: timedelta) -> tuple[datetime, datetime]:
    """``since``/``until`` or ``window`` (trailing, ending now). Bounded."""
    until = time_arg("until") or now
    since = time_arg("since")
    named = "since"
    if since is None:
        since, named = until - duration_arg("window", default_window), "window"
    if since >= until:
        raise ApiError(400, f"parameter '{named}': must be before 'until'")
    longest = max_window()
    if until - since > longest:
        raise ApiError(400, f"parameter '{named}': the range may span at most {longest.days} days")
    return since, until


def filters_arg(*, rollups: bool = False) -> Filters:
    """Dimension filters; a comma separates several accepted values. Routes
    served from rollups (``rollups=True``) can filter on their dimensions only."""
    values: dict[str, Any] = {}
    for name in DIMENSIONS:
        raw = arg(name)
        if raw is not None:
            if rollups and name not in ROLLUP_DIMENSIONS:
                raise ApiError(400, f"parameter '{name}': this route filters on {', '.join(ROLLUP_DIMENSIONS)} only")
            parts = tuple(p.strip() for p in raw.split(",") if p.strip())
            if any(len(p) > 300 for p in parts):
                raise ApiError(400, f"parameter '{name}': value too long")
            values[name] = parts
    return Filters(**values)
