"""Component availability from its state reports.

A component reports its state (``online``, ``error``, ...) now and then: on a
change, and as a heartbeat. It is shown in its last reported state until its
TTL runs out without a report, then ``offline``. Uptime over a window is the
share of the window, from the component's first report on, spent in a healthy
state, where a report covers the time until the next one: healthy when it
said so and the next report came within the TTL. A silence longer than the
TTL is down as a whole (the component most likely stopped right after its
last heartbeat, not when the TTL ran out): heartbeats every 30 s for a day
read 100 %, the same day with one 10-minute silence 99.31 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

HEALTHY = ("online", "ok", "healthy", "up", "ready", "running", "connected")


def effective_status(status: str, updated_at: datetime, now: datetime, ttl: timedelta) -> str:
    """The reported status, or ``offline`` once the report is older than ``ttl``.

    >>> t = datetime(2026, 1, 1, 12, 0)
    >>> effective_status("online", t, t + timedelta(minutes=4), timedelta(minutes=5))
    'online'
    >>> effective_status("online", t, t + timedelta(minutes=6), timedelta(minutes=5))
    'offline'
    """
    return "offline" if now - updated_at > ttl else status


def healthy_seconds(
    reports: Sequence[tuple[datetime, str]],
    since: datetime,
    until: datetime,
    ttl: timedelta,
    healthy: Iterable[str] = HEALTHY,
) -> tuple[float, float]:
    """``(healthy, observed)`` seconds within ``[since, until)``.

    ``reports`` are ``(ts, status)`` in time order; the last one before
    ``since``, if any, should be included: it sets the state at the window's
    start. Time before the first report is not observed. The time from a
    report to the next (or to ``until``) is healthy when the report said so
    and the next came within ``ttl``; a longer silence is down as a whole.

    >>> t = datetime(2026, 1, 1, 12, 0)
    >>> m = lambda n: t + timedelta(minutes=n)
    >>> healthy_seconds([(m(0), "online"), (m(30), "error"), (m(40), "online")], m(0), m(60), timedelta(hours=1))
    (3000.0, 3600.0)
    >>> healthy_seconds([(m(0), "online"), (m(10), "online"), (m(40), "online")], m(0), m(50), timedelta(minutes=15))
    (1200.0, 3000.0)
    """
    good = {s.lower() for s in healthy}
    up = observed = 0.0
    for i, (ts, status) in enumerate(reports):
        nxt = reports[i + 1][0] if i + 1 < len(reports) else until
        start, end = max(ts, since), min(nxt, until)
        if end <= start:
            continue
        observed += (end - start).total_seconds()
        if status.lower() in good and nxt - ts <= ttl:
            up += (end - start).total_seconds()
    return up, observed


def uptime_percent(
    reports: Sequence[tuple[datetime, str]],
    since: datetime,
    until: datetime,
    ttl: timedelta,
    healthy: Iterable[str] = HEALTHY,
) -> float | None:
    """Healthy share of the observed part of the window, in percent (None when
    the component had not reported yet).

    >>> t = datetime(2026, 1, 1, 12, 0)
    >>> uptime_percent([(t, "online"), (t + timedelta(minutes=45), "down")], t, t + timedelta(hours=1), timedelta(hours=2))
    75.0
    """
    up, observed = healthy_seconds(reports, since, until, ttl, healthy)
    return round(100.0 * up / observed, 2) if observed > 0 else None
