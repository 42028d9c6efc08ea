"""The alert state machine, as pure functions over dataclasses.

One *series* per fingerprint (rule + labels) moves through

    normal -> pending -> firing -> resolved

* A match starts ``pending``; it becomes ``firing`` once it has matched
  for ``for`` (at once when ``for`` is 0). A miss while pending goes back
  to ``normal`` (the instance is dropped as never fired).
* A firing series resolves when it has not matched for ``keep_firing_for``
  (at the first miss when 0).
* De-duplication: a series that matches again within ``dedup`` of resolving
  reopens the same instance as ``firing``, with no new notification.
* Notifications: ``firing`` when it fires, ``repeat`` every
  ``repeat_interval`` while it keeps firing (not once acknowledged),
  ``resolved`` when it resolves (only if a firing notification was sent).
  A silenced series changes state as usual but sends nothing; when the
  silence ends while it still fires, the firing notification goes out then.

``now`` is always passed in, so tests drive the clock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, Literal

State = Literal["normal", "pending", "firing", "resolved"]
Notice = Literal["firing", "repeat", "resolved"]


@dataclasses.dataclass(frozen=True)
class Timing:
    for_: timedelta = timedelta(0)
    keep_firing_for: timedelta = timedelta(0)
    repeat_interval: timedelta = timedelta(hours=4)
    dedup: timedelta = timedelta(minutes=5)


@dataclasses.dataclass(frozen=True)
class Series:
    """The newest instance of a fingerprint (``alert_id`` None until stored)."""

    fingerprint: str
    labels: dict[str, str]
    state: State = "normal"
    value: float | None = None
    started_at: datetime | None = None
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    last_match_at: datetime | None = None
    last_eval_at: datetime | None = None
    last_notified_at: datetime | None = None
    notifications: int = 0
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    alert_id: int | None = None


@dataclasses.dataclass(frozen=True)
class Step:
    before: State
    after: Series
    notify: Notice | None = None
    new_instance: bool = False  # a fresh alert row (not an update of alert_id)
    silenced: bool = False

    @property
    def changed(self) -> bool:
        return self.before != self.after.state or self.new_instance


def fingerprint(rule: str, labels: dict[str, str]) -> str:
    """Stable id of a rule's series.

    >>> fingerprint("queue", {"entity": "a"}) == fingerprint("queue", {"entity": "a"}) != fingerprint("queue", {})
    True
    """
    raw = json.dumps([rule, sorted(labels.items())], separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def step(
    prev: Series, matched: bool, value: float | None, now: datetime, timing: Timing, *, silenced: bool = False
) -> Step:
    """The series after one evaluation at ``now``.

    >>> t0 = datetime(2026, 1, 1)
    >>> s = step(Series("f", {}), True, 60.0, t0, Timing(for_=timedelta(minutes=1)))
    >>> s.after.state, s.notify
    ('pending', None)
    >>> s = step(s.after, True, 61.0, t0 + timedelta(minutes=1), Timing(for_=timedelta(minutes=1)))
    >>> s.after.state, s.notify
    ('firing', 'firing')
    """
    seen = dataclasses.replace(prev, last_eval_at=now, value=value if value is not None else prev.value)
    if prev.state in ("normal", "resolved"):
        if not matched:
            return Step(prev.state, dataclasses.replace(prev, last_eval_at=now) if prev.alert_id else prev)
        if prev.state == "resolved" and prev.resolved_at is not None and now - prev.resolved_at <= timing.dedup:
            reopened = dataclasses.replace(seen, state="firing", resolved_at=None, last_match_at=now)
            return Step(prev.state, _maybe_repeat(reopened, now, timing, silenced)[0], silenced=silenced)
        fresh = Series(
            prev.fingerprint,
            prev.labels,
            state="pending",
            value=value,
            started_at=now,
            last_match_at=now,
            last_eval_at=now,
        )
        if timing.for_ <= timedelta(0):
            return _fire(prev.state, fresh, now, silenced, new=True)
        return Step(prev.state, fresh, new_instance=True)
    if prev.state == "pending":
        if not matched:
            return Step("pending", dataclasses.replace(seen, state="normal", resolved_at=now))
        current = dataclasses.replace(seen, last_match_at=now)
        assert prev.started_at is not None
        if now - prev.started_at >= timing.for_:
            return _fire("pending", current, now, silenced, new=False)
        return Step("pending", current)
    # firing
    if matched:
        series, notice = _maybe_repeat(dataclasses.replace(seen, last_match_at=now), now, timing, silenced)
        return Step("firing", series, notice, silenced=silenced)
    last = prev.last_match_at or prev.fired_at or now
    if now - last < timing.keep_firing_for:
        return Step("firing", seen)
    resolved = dataclasses.replace(seen, state="resolved", resolved_at=now)
    if prev.last_notified_at is None or silenced:
        return Step("firing", resolved, silenced=silenced)
    return Step("firing", _notified(resolved, now), "resolved")


def _fire(before: State, series: Series, now: datetime, silenced: bool, *, new: bool) -> Step:
    fired = dataclasses.replace(series, state="firing", fired_at=now)
    if silenced:
        return Step(before, fired, None, new_instance=new, silenced=True)
    return Step(before, _notified(fired, now), "firing", new_instance=new)


def _maybe_repeat(series: Series, now: datetime, timing: Timing, silenced: bool) -> tuple[Series, Notice | None]:
    if silenced:
        return series, None
    if series.last_notified_at is None:  # fired while silenced: tell now
        return _notified(series, now), "firing"
    if series.acknowledged_at is None and now - series.last_notified_at >= timing.repeat_interval:
        return _notified(series, now), "repeat"
    return series, None


def _notified(series: Series, now: datetime) -> Series:
    return dataclasses.replace(series, last_notified_at=now, notifications=series.notifications + 1)


def acknowledge(series: Series, by: str | None, now: datetime) -> Series:
    """Acknowledged: no more repeat notifications for this instance."""
    return dataclasses.replace(series, acknowledged_at=now, acknowledged_by=by)


def silenced_by(silences: list[dict[str, Any]], rule: str, labels: dict[str, str], now: datetime) -> bool:
    """Whether a silence in force at ``now`` matches: every matcher of it
    (``rule`` and label names) equals the series' rule name or label.

    >>> t = datetime(2026, 1, 1)
    >>> s = [{"matchers": {"rule": "q", "entity": "a"}, "starts_at": t, "ends_at": t + timedelta(hours=1)}]
    >>> silenced_by(s, "q", {"entity": "a"}, t), silenced_by(s, "q", {"entity": "b"}, t), silenced_by(s, "q", {"entity": "a"}, t + timedelta(hours=1))
    (True, False, False)
    """
    for silence in silences:
        if not silence["starts_at"] <= now < silence["ends_at"]:
            continue
        matchers = silence["matchers"] or {}
        if all((rule if key == "rule" else labels.get(key)) == str(want) for key, want in matchers.items()):
            return True
    return False
