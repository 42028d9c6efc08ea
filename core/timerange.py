"""The dashboard's time range, read from and written to a page's URL query.

A view covers either a relative range that follows now (``range=1h``, any
duration :func:`core.durations.parse_duration` reads; the picker offers
:data:`PRESETS`) or an absolute one (``from=...&to=...``, ISO 8601, UTC when
no offset is given: ``2026-12-01 10:00`` is accepted). ``refresh`` is how
often the page re-queries (:data:`REFRESH`); ``paused=1`` opens the view
paused. Old links' ``window=`` reads as ``range=``. Every bad value is an
``InvalidInput`` naming its parameter.

>>> tr = parse_range({"range": "6h"}, default="1h", longest=timedelta(days=30))
>>> tr.live, tr.bounds(datetime(2026, 12, 1, 12, tzinfo=timezone.utc))[0].isoformat()
(True, '2026-12-01T06:00:00+00:00')
>>> parse_range({"from": "2026-12-01 10:00", "to": "2026-12-01 09:00"}, default="1h", longest=timedelta(days=30))
Traceback (most recent call last):
...
core.errors.InvalidInput: parameter 'to': must be after 'from'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlencode

from core.durations import parse_duration
from core.errors import InvalidInput
from core.params import parse_time

PRESETS = ("15m", "1h", "6h", "24h", "7d", "30d")
# Refresh choices and their period in milliseconds (0: never).
REFRESH = {"off": 0, "5s": 5_000, "10s": 10_000, "30s": 30_000, "1m": 60_000, "5m": 300_000}
DEFAULT_REFRESH = "5s"
TIME_KEYS = ("range", "from", "to", "refresh", "paused")
PAUSED = {"1": True, "true": True, "0": False, "false": False}
LEGACY = "window"  # the per-page window of older links, read as ``range``


@dataclasses.dataclass(frozen=True)
class TimeRange:
    """A relative range (``range`` set, follows now) or an absolute one (``since``/``until``)."""

    range: str | None
    length: timedelta
    since: datetime | None = None
    until: datetime | None = None
    refresh: str = DEFAULT_REFRESH
    paused: bool = False

    @property
    def live(self) -> bool:
        return self.range is not None

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """The covered interval: the last ``length`` up to ``now``, or the absolute one."""
        if self.since is not None and self.until is not None:
            return self.since, self.until
        return now - self.length, now

    def params(self, default: str | None = None) -> dict[str, str]:
        """The URL parameters of this range; the page's default range and refresh are left out.

        >>> TimeRange(None, timedelta(hours=1), datetime(2026, 12, 1, 10, tzinfo=timezone.utc),
        ...           datetime(2026, 12, 1, 11, tzinfo=timezone.utc), "off").params("1h")
        {'from': '2026-12-01T10:00:00Z', 'to': '2026-12-01T11:00:00Z', 'refresh': 'off'}
        """
        out: dict[str, str] = {}
        if self.range is not None:
            if self.range != default:
                out["range"] = self.range
        elif self.since is not None and self.until is not None:
            out["from"], out["to"] = iso(self.since), iso(self.until)
        if self.refresh != DEFAULT_REFRESH:
            out["refresh"] = self.refresh
        if self.paused:
            out["paused"] = "1"
        return out

    def to_store(self) -> dict[str, Any]:
        """The JSON the pages' callbacks take: ``since``/``until`` (ISO, absolute
        ranges only), ``range``, ``seconds``, ``live`` and ``refresh`` (pause
        is kept apart: pausing does not re-query the pages)."""
        return {
            "range": self.range,
            "seconds": self.length.total_seconds(),
            "since": iso(self.since) if self.since else None,
            "until": iso(self.until) if self.until else None,
            "live": self.live,
            "refresh": self.refresh,
        }


def iso(moment: datetime) -> str:
    """UTC ISO 8601 to the second, with ``Z``.

    >>> iso(datetime(2026, 12, 1, 10, 0, 30, 999, tzinfo=timezone.utc))
    '2026-12-01T10:00:30Z'
    """
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_refresh(raw: str | None) -> str:
    if raw is None or raw == "":
        return DEFAULT_REFRESH
    if raw not in REFRESH:
        raise InvalidInput("refresh", f"must be one of {', '.join(REFRESH)}, got {raw!r}")
    return raw


def parse_paused(raw: str | None) -> bool:
    """``paused=1`` (or ``true``) opens the view paused; left out, ``0`` or ``false``: running.

    >>> parse_paused("1"), parse_paused(None), parse_paused("false")
    (True, False, False)
    """
    if raw is None or raw == "":
        return False
    if raw.lower() not in PAUSED:
        raise InvalidInput("paused", f"must be 1 or 0, got {raw!r}")
    return PAUSED[raw.lower()]


def parse_range(query: Mapping[str, str], *, default: str, longest: timedelta) -> TimeRange:
    """The time range, refresh and pause of a URL query (``range``,
    ``from``/``to``, legacy ``window``, ``refresh``, ``paused``), at most
    ``longest`` long; ``default`` when the query names none.

    >>> parse_range({"window": "30min"}, default="1h", longest=timedelta(days=1)).range
    '30min'
    >>> parse_range({"from": "2026-12-01 10:00"}, default="1h", longest=timedelta(days=1))
    Traceback (most recent call last):
    ...
    core.errors.InvalidInput: parameter 'to': give both 'from' and 'to', or neither
    """
    refresh = parse_refresh(query.get("refresh"))
    paused = parse_paused(query.get("paused"))
    raw_from, raw_to = (query.get(k, "").strip() for k in ("from", "to"))
    if raw_from or raw_to:
        if not (raw_from and raw_to):
            raise InvalidInput("from" if not raw_from else "to", "give both 'from' and 'to', or neither")
        since, until = parse_moment(raw_from, "from"), parse_moment(raw_to, "to")
        if since >= until:
            raise InvalidInput("to", "must be after 'from'")
        if until - since > longest:
            raise InvalidInput("from", f"the range may span at most {longest.days} days")
        return TimeRange(None, until - since, since, until, refresh, paused)
    name = "range" if query.get("range") else LEGACY if query.get(LEGACY) else "range"
    text = (query.get("range") or query.get(LEGACY) or default).strip()
    return TimeRange(text, parse_duration(text, name, longest=longest), refresh=refresh, paused=paused)


def parse_moment(raw: str, name: str) -> datetime:
    """A moment as people type it or as the URL holds it, UTC unless an offset is given.

    >>> parse_moment("2026-12-01 10:00", "from").isoformat()
    '2026-12-01T10:00:00+00:00'
    >>> parse_moment("yesterday", "from")
    Traceback (most recent call last):
    ...
    core.errors.InvalidInput: parameter 'from': expected a time like 2026-12-01 10:00 (UTC), got 'yesterday'
    """
    try:
        return parse_time(raw.strip(), name)
    except InvalidInput as exc:
        if exc.errors and exc.errors[0].get("message") == "out of range":
            raise
        raise InvalidInput(name, f"expected a time like 2026-12-01 10:00 (UTC), got {raw!r}") from None


def store_bounds(data: Mapping[str, Any] | None, now: datetime, *, default: timedelta) -> tuple[datetime, datetime]:
    """The interval a page queries for the stored range ``data`` (see
    :meth:`TimeRange.to_store`); the last ``default`` before the first store.

    >>> now = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
    >>> [t.hour for t in store_bounds({"live": True, "seconds": 3600}, now, default=timedelta(hours=6))]
    [11, 12]
    >>> [t.hour for t in store_bounds(None, now, default=timedelta(hours=6))]
    [6, 12]
    """
    if data and not data.get("live") and data.get("since") and data.get("until"):
        return parse_time(data["since"], "from"), parse_time(data["until"], "to")
    seconds = data.get("seconds") if data else None
    return now - (timedelta(seconds=seconds) if seconds else default), now


def with_time(search: str | None, time: Mapping[str, str], *, keys: tuple[str, ...] = TIME_KEYS) -> str:
    """``search`` with its time parameters (``keys``, and legacy ``window``)
    replaced by ``time``; the page's other parameters keep their order.

    >>> with_time("?metric=sum&window=6h&refresh=off", {"range": "7d", "refresh": "off"})
    '?metric=sum&range=7d&refresh=off'
    >>> with_time("?range=7d", {})
    ''
    """
    drop = (*keys, LEGACY) if "range" in keys else keys
    pairs = [(k, v) for k, v in parse_qsl((search or "").lstrip("?"), keep_blank_values=False) if k not in drop]
    pairs += [(k, time[k]) for k in keys if time.get(k)]
    return "?" + urlencode(pairs, safe=":,") if pairs else ""


def keep_time(own: str, current: str | None, *, keys: tuple[str, ...] = TIME_KEYS, default: str | None = None) -> str:
    """A page's own URL query ``own`` with the time parameters of the
    ``current`` URL kept; an old link's ``window`` becomes ``range`` (left out
    when it is the page's ``default``).

    >>> keep_time("?metric=sum", "?metric=avg&range=7d&refresh=off")
    '?metric=sum&range=7d&refresh=off'
    >>> keep_time("?metric=sum", "?window=6h"), keep_time("", "?window=24h", default="24h")
    ('?metric=sum&range=6h', '')
    """
    current_pairs = dict(parse_qsl((current or "").lstrip("?")))
    time = {k: v for k, v in current_pairs.items() if k in keys}
    if "range" in keys and current_pairs.get(LEGACY) and not any(time.get(k) for k in ("range", "from", "to")):
        time["range"] = current_pairs[LEGACY]
    if default is not None and time.get("range") == default:
        del time["range"]
    return with_time(own, time, keys=keys)
