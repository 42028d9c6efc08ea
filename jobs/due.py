"""When a schedule is due: standard crontab lines (in UTC) and intervals.

APScheduler's ``CronTrigger`` computes the fire times; crontab numbers
weekdays from Sunday (0 or 7) where APScheduler 3 starts at Monday, so
weekdays are translated to names first.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from apscheduler.triggers.cron import CronTrigger

_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(expr: str) -> CronTrigger:
    """A standard five-field crontab line (0 or 7 = Sunday) or @hourly, @daily...
    APScheduler numbers weekdays from Monday, so numeric weekdays are
    translated to names."""
    text = _MACROS.get(expr.strip().lower(), expr.strip())
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(
            f"expected 5 fields (minute hour day month weekday) or @hourly/@daily/@weekly/@monthly, got {len(fields)}"
        )
    fields[4] = _weekdays(fields[4])
    try:
        trigger = CronTrigger(
            minute=fields[0], hour=fields[1], day=fields[2], month=fields[3], day_of_week=fields[4], timezone="UTC"
        )
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    if trigger.get_next_fire_time(None, datetime(2000, 1, 1, tzinfo=timezone.utc)) is None:
        raise ValueError("this expression never fires")
    return trigger


def _weekdays(field: str) -> str:
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        rng, slash, step_text = part.partition("/")
        if slash and not (step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"bad weekday step in {field!r}")
        step = int(step_text) if slash else 1
        if rng == "*":
            lo, hi = 0, 6
        elif "-" in rng:
            a, b = rng.split("-", 1)
            lo, hi = _day(a), _day(b)
            hi = 7 if hi == 0 and lo > 0 else hi  # fri-sun
        else:
            lo = _day(rng)
            hi = 6 if slash else lo
        if lo > hi:
            raise ValueError(f"bad weekday range in {field!r}")
        days.update(d % 7 for d in range(lo, hi + 1, step))
    return ",".join(_DAYS[d] for d in sorted(days))


def _day(text: str) -> int:
    """0-7 (0 and 7 are Sunday) or a name."""
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text)
    if len(text) >= 3 and text[:3] in _DAYS:
        return _DAYS.index(text[:3])
    raise ValueError(f"bad weekday {text!r} (0-7 or sun-sat)")


def next_run(
    cron: str | None, interval_seconds: int | None, *, after: datetime, anchor: datetime | None = None
) -> datetime | None:
    """The first due time strictly after ``after``: cron fire times in UTC, or
    ``anchor + k * interval``.

    >>> t = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
    >>> str(next_run("0 * * * *", None, after=t)), str(next_run(None, 900, after=t + timedelta(minutes=20), anchor=t))
    ('2026-01-05 13:00:00+00:00', '2026-01-05 12:30:00+00:00')
    """
    if cron:
        return cron_trigger(cron).get_next_fire_time(None, after + timedelta(microseconds=1))  # type: ignore[no-any-return]
    if interval_seconds:
        start = anchor or after
        steps = max(int((after - start).total_seconds() // interval_seconds) + 1, 1)
        due = start + timedelta(seconds=interval_seconds * steps)
        return due if due > after else due + timedelta(seconds=interval_seconds)
    return None
