"""The machinery the demo scenarios share: actions, daily profiles, bursts,
Poisson arrivals and incidents.

Time is handled as float epoch seconds (UTC) inside the generators and only
turned into aware datetimes when rows are written. Every random draw comes
from generators seeded by ``(seed, scenario)``, and bursts from a hash of
``(seed, stream, time slot)``, so the same seed and the same calls give the
same data.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
import random
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from data.ingest import EVENT_COLUMNS

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
RateFn = Callable[[FloatArray], FloatArray]
T = TypeVar("T")

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

# Kinds of action: a plain event, or a change written through data/records.py.
EVENT = "event"
SESSION_START = "session_start"
SESSION_END = "session_end"
EXECUTION = "execution"
FINISH = "execution_finish"
COMPONENT = "component"


@dataclasses.dataclass(slots=True)
class Act:
    """One thing that happens at ``t``: an event row (``ts`` filled in when
    written) or a record change with its arguments."""

    t: float
    kind: str
    data: dict[str, Any]


def event(t: float, source: str, type_: str, **fields: Any) -> Act:
    row = {c: None for c in EVENT_COLUMNS if c != "ts"} | {"source": source, "type": type_} | fields
    return Act(t, EVENT, row)


def to_datetime(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


# ------------------------------------------------------------------ modes


@dataclasses.dataclass(frozen=True)
class Mode:
    """Backfill (``live=False``) or live (``live=True``: shorter, more frequent
    bursts; runs recorded ``running`` then finished). Both follow the same
    daily profiles at the same mean rates, times ``scale``, so the live
    stream continues the history without a step. Components send a
    heartbeat every ``heartbeat`` seconds in both."""

    live: bool
    seed: int = 7
    scale: float = 1.0
    burst_slot: float = 300.0  # seconds per burst slot
    burst_prob: float = 0.03  # share of slots that burst
    burst_gain: tuple[float, float] = (2.0, 4.0)
    heartbeat: float = 60.0

    @property
    def mean_burst(self) -> float:
        return 1.0 + self.burst_prob * ((self.burst_gain[0] + self.burst_gain[1]) / 2.0 - 1.0)


BACKFILL = Mode(live=False)
HEARTBEAT = BACKFILL.heartbeat


def backfill_mode(heartbeat: float = HEARTBEAT) -> Mode:
    return dataclasses.replace(BACKFILL, heartbeat=heartbeat)


def live_mode(seed: int, scale: float = 1.0, heartbeat: float = HEARTBEAT) -> Mode:
    return Mode(
        live=True,
        seed=seed,
        scale=scale,
        burst_slot=30.0,
        burst_prob=0.08,
        burst_gain=(2.5, 4.0),
        heartbeat=heartbeat,
    )


# ------------------------------------------------------- hashing and bursts

_MASK = (1 << 64) - 1


def _splitmix_int(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _splitmix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def slot_hash(seed: int, stream: int, slots: IntArray) -> npt.NDArray[np.uint64]:
    """64 well-mixed bits per slot, a pure function of the arguments."""
    key = np.uint64(_splitmix_int((seed * 1_000_003 + stream * 7919) & _MASK))
    with np.errstate(over="ignore"):
        return _splitmix(slots.astype(np.uint64) ^ key)


def burst(mode: Mode, stream: int, t: FloatArray) -> FloatArray:
    """Rate multiplier: 1, or a gain in ``burst_gain`` in a few slots."""
    bits = slot_hash(mode.seed, stream, np.floor(t / mode.burst_slot).astype(np.int64))
    hit = (bits >> np.uint64(40)).astype(np.float64) / float(1 << 24)
    gain = (bits & np.uint64(0xFFFFFF)).astype(np.float64) / float(1 << 24)
    lo, hi = mode.burst_gain
    out: FloatArray = np.where(hit < mode.burst_prob, lo + (hi - lo) * gain, 1.0)
    return out


# ---------------------------------------------------------------- profiles


def hours(t: FloatArray) -> FloatArray:
    out: FloatArray = (t % DAY) / HOUR
    return out


def weekend(t: FloatArray) -> npt.NDArray[np.bool_]:
    day = np.floor(t / DAY).astype(np.int64)
    out: npt.NDArray[np.bool_] = (day + 3) % 7 >= 5  # 1970-01-01 was a Thursday
    return out


def is_weekend(t: float) -> bool:
    return bool(weekend(np.array([t]))[0])


def _bump(h: FloatArray, mu: float, sigma: float) -> FloatArray:
    out: FloatArray = np.exp(-0.5 * ((h - mu) / sigma) ** 2)
    return out


def office(t: FloatArray) -> FloatArray:
    """Working hours (UTC): quiet nights, ramp 8-9, lunch dip, wind-down
    after 17; weekends at a fifth. Peak 1."""
    h = hours(t)
    up = 1.0 / (1.0 + np.exp(-(h - 8.3) / 0.45))
    down = 1.0 / (1.0 + np.exp((h - 17.8) / 0.7))
    day = 0.05 + 0.95 * up * down * (1.0 - 0.3 * _bump(h, 12.5, 0.5))
    out: FloatArray = np.where(weekend(t), 0.2 * day, day)
    return out


def school(t: FloatArray) -> FloatArray:
    """Attendance scans: arrival peak ~07:35, small lunch peak, departure
    peak ~15:20; weekends at a quarter. Peak ~1."""
    h = hours(t)
    day = (
        0.015
        + 1.0 * _bump(h, 7.6, 0.35)
        + 0.15 * _bump(h, 12.3, 0.4)
        + 0.75 * _bump(h, 15.3, 0.45)
        + 0.05 * ((h > 8.5) & (h < 15.0))
    )
    out: FloatArray = np.where(weekend(t), 0.25 * day, day)
    return out


def consumer(t: FloatArray) -> FloatArray:
    """An online shop: low at night, a late-morning rise and an evening peak
    around 20:00; weekends slightly busier in the afternoon."""
    h = hours(t)
    day = 0.12 + 0.5 * _bump(h, 11.0, 3.0) + 0.6 * _bump(h, 20.0, 2.3)
    out: FloatArray = np.minimum(np.where(weekend(t), 1.1 * day, day), 1.0)
    return out


def profile_at(profile: RateFn, t: float) -> float:
    return float(profile(np.array([t], dtype=np.float64))[0])


# ---------------------------------------------------------------- arrivals


def arrivals(rng: np.random.Generator, t0: float, t1: float, rate: RateFn) -> FloatArray:
    """Arrival times of a Poisson process with intensity ``rate(t)`` (per
    second) in ``[t0, t1)``, the rate taken piecewise constant per minute."""
    if t1 <= t0:
        return np.empty(0, dtype=np.float64)
    first = math.floor(t0 / MINUTE) * MINUTE + MINUTE
    inner = np.arange(first, t1, MINUTE, dtype=np.float64)
    bounds = np.concatenate(([t0], inner, [t1]))
    lo, hi = bounds[:-1], bounds[1:]
    width = hi - lo
    lam = np.maximum(rate((lo + hi) / 2.0), 0.0) * width
    counts = rng.poisson(lam)
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.float64)
    times: FloatArray = np.repeat(lo, counts) + rng.random(total) * np.repeat(width, counts)
    times.sort()
    return times


class Weighted(Generic[T]):
    """A weighted choice with the cumulative weights computed once."""

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        if len(items) != len(weights) or not items:
            raise ValueError("items and weights must be non-empty and of the same length")
        self.items = tuple(items)
        self.cum = list(itertools.accumulate(float(w) for w in weights))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total, 0, len(self.cum) - 1)]

    def indices(self, rng: np.random.Generator, n: int) -> IntArray:
        """``n`` weighted draws at once, as indices into ``items``."""
        idx: IntArray = np.searchsorted(np.asarray(self.cum), rng.random(n) * self.total, side="right")
        return np.minimum(idx, len(self.cum) - 1)


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


# --------------------------------------------------------------- incidents


@dataclasses.dataclass(frozen=True)
class Incident:
    kind: str
    start: float
    end: float
    note: str = ""

    def covers(self, t: float) -> bool:
        return self.start <= t < self.end


class Incidents:
    """The incidents scenarios consult: ``active(kind, t)`` and the ones
    starting or ending in a time slice (for component changes)."""

    def __init__(self, items: Iterable[Incident] = ()) -> None:
        self.items: list[Incident] = list(items)

    def add(self, incident: Incident) -> None:
        self.items.append(incident)

    def prune(self, before: float) -> None:
        self.items = [i for i in self.items if i.end >= before]

    def active(self, kind: str, t: float) -> Incident | None:
        for item in self.items:
            if item.kind == kind and item.covers(t):
                return item
        return None

    def mask(self, kind: str, t: FloatArray) -> npt.NDArray[np.bool_]:
        """Which of the times ``t`` fall in an incident of ``kind``."""
        out = np.zeros(t.shape, dtype=bool)
        for item in self.items:
            if item.kind == kind:
                out |= (t >= item.start) & (t < item.end)
        return out

    def starting(self, kind: str, t0: float, t1: float) -> list[Incident]:
        return [i for i in self.items if i.kind == kind and t0 <= i.start < t1]

    def ending(self, kind: str, t0: float, t1: float) -> list[Incident]:
        return [i for i in self.items if i.kind == kind and t0 <= i.end < t1]


# ---------------------------------------------------------------- scenario


def _time(act: Act) -> float:
    return act.t


class Scenario:
    """A stateful generator of one source's actions. ``advance(t0, t1)``
    generates what happens in ``[t0, t1)`` (successive calls take adjacent
    slices) and returns, in time order, every action due before ``t1``;
    actions scheduled later (a return, a retry) wait for a later slice."""

    source = ""

    def __init__(self, seed: int, index: int, mode: Mode) -> None:
        self.seed = seed
        self.index = index
        self.mode = mode
        self.rng = random.Random(seed * 1009 + index)
        self.np_rng = np.random.default_rng([seed, index])
        self._pending: list[Act] = []

    # -- scheduling
    def push(self, act: Act) -> None:
        self._pending.append(act)

    def ev(self, t: float, type_: str, **fields: Any) -> None:
        self._pending.append(event(t, self.source, type_, **fields))

    def op(self, t: float, kind: str, **data: Any) -> None:
        self._pending.append(Act(t, kind, data))

    def advance(self, t0: float, t1: float, incidents: Incidents) -> list[Act]:
        self.generate(t0, t1, incidents)
        pending = self._pending
        pending.sort(key=_time)  # stable: actions at the same time keep their order
        cut = bisect.bisect_left(pending, t1, key=_time)
        self._pending = pending[cut:]
        return pending[:cut]

    def generate(self, t0: float, t1: float, incidents: Incidents) -> None:
        raise NotImplementedError

    def close(self, t: float) -> list[Act]:
        """Actions that tidy up at the end of a backfill (before ``t``)."""
        return []

    # -- rates
    def intensity(self, stream: int, peak: float, profile: RateFn) -> RateFn:
        """Per-second rate of one Poisson stream: ``peak * profile(t) * scale``
        with bursts, the bursts scaled so that live and backfill have the
        same mean rate at the same time of day."""
        mode = self.mode
        key = self.index * 100 + stream
        gain = mode.scale * BACKFILL.mean_burst / mode.mean_burst
        return lambda t: peak * gain * profile(t) * burst(mode, key, t)
