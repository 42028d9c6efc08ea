"""Labeling macro sessions: a user starts a session
(``sess_YYYYMMDD_HHMMSS``) and fires macros from the number pad; each
interaction records the button, its execution time, the boxes drawn and
the image degradations assigned.

A few sessions a working day (25-90 min each), none at night, the same in a
backfill and live (``mode.scale`` makes sessions more or less frequent)."""

from __future__ import annotations

import dataclasses
import math

from demo.model import (
    SESSION_END,
    SESSION_START,
    Act,
    Incidents,
    Mode,
    Scenario,
    Weighted,
    lognormal,
    office,
    profile_at,
    to_datetime,
)

USERS = ("john_doe", "maria_s", "kenji_t", "amara_o", "lukas_b", "priya_r")
BUTTONS = tuple(f"Num{i}" for i in range(1, 10))
BUTTON_WEIGHTS = (6, 9, 5, 12, 20, 12, 5, 8, 4)
# Median execution time (ms) per button: bigger macros draw more boxes.
BUTTON_MS = (650, 800, 720, 950, 1250, 1100, 900, 1500, 1800)
BUTTON_BOXES = (1, 2, 1, 3, 5, 4, 2, 6, 8)
DEGRADATIONS = ("smudge", "glare", "blur", "noise", "occlusion", "low_light")
DEGRADATION_WEIGHTS = (30, 25, 20, 12, 8, 5)
_BUTTON = Weighted(range(len(BUTTONS)), BUTTON_WEIGHTS)
_HOW_MANY = Weighted((0, 1, 2, 3), (30, 42, 22, 6))
_DEGRADATION = Weighted(DEGRADATIONS, DEGRADATION_WEIGHTS)


@dataclasses.dataclass
class _Session:
    id: str
    user: str
    start: float
    end: float
    pace: float  # > 1: slower than usual
    next_t: float
    last_t: float


class Macro(Scenario):
    source = "macro"

    def __init__(self, seed: int, index: int, mode: Mode) -> None:
        super().__init__(seed, index, mode)
        self.session: _Session | None = None
        self.next_start: float | None = None
        self.used_ids: set[str] = set()

    # ------------------------------------------------------------ planning
    def _plan_next(self, after: float, first: bool = False) -> float:
        rng = self.rng
        t = after + (0.0 if first else rng.uniform(5.0, 25.0) * 60.0)
        while True:  # 10-minute slots, more likely in working hours
            if rng.random() < 0.07 * self.mode.scale * profile_at(office, t):
                return t + rng.uniform(0.0, 600.0)
            t += 600.0

    def _open(self, t: float) -> None:
        rng = self.rng
        while True:
            sid = f"sess_{_stamp(t)}"
            if sid not in self.used_ids:
                break
            t += 1.0
        self.used_ids.add(sid)
        user = rng.choice(USERS)
        minutes = rng.uniform(25.0, 90.0)
        pace = math.exp(rng.gauss(0.0, 0.2))
        self.session = _Session(sid, user, t, t + minutes * 60.0, pace, t + rng.uniform(3.0, 12.0), t)
        self.op(
            t,
            SESSION_START,
            session_id=sid,
            source=self.source,
            user=user,
            attrs={"canvas_mode": rng.choice(("wide", "wide", "narrow")), "generator": "demo"},
        )

    def _close(self, s: _Session, t: float) -> None:
        self.op(t, SESSION_END, session_id=s.id)
        self.session = None

    # ---------------------------------------------------------- generating
    def generate(self, t0: float, t1: float, incidents: Incidents) -> None:
        if self.session is None and self.next_start is None:
            self.next_start = self._plan_next(t0, first=True)
        while True:
            if self.session is None:
                assert self.next_start is not None
                if self.next_start >= t1:
                    return
                self._open(max(self.next_start, t0))
            s = self.session
            assert s is not None
            stop = min(t1, s.end)
            while s.next_t < stop:
                self._interaction(s, s.next_t)
                s.next_t += self._gap(s)
            if s.end >= t1:
                return
            self._close(s, s.end)
            self.next_start = self._plan_next(s.end)

    def _gap(self, s: _Session) -> float:
        rng = self.rng
        if rng.random() < 0.012:  # a break
            return rng.uniform(60.0, 240.0)
        progress = (s.next_t - s.start) / max(s.end - s.start, 1.0)
        warmup = 1.25 - 0.3 * min(progress * 3.0, 1.0)  # faster once warmed up
        return max(1.2, lognormal(rng, 4.5, 0.45) * s.pace * warmup)

    def _interaction(self, s: _Session, t: float) -> None:
        rng = self.rng
        i = _BUTTON.pick(rng)
        boxes = max(1, BUTTON_BOXES[i] + rng.choice((-1, 0, 0, 0, 1)))
        exec_ms = round(lognormal(rng, BUTTON_MS[i], 0.22) * s.pace, 1)
        k = _HOW_MANY.pick(rng)
        picked: list[str] = []
        while len(picked) < k:
            c = _DEGRADATION.pick(rng)
            if c not in picked:
                picked.append(c)
        counts = {c: (2 if rng.random() < 0.15 else 1) for c in picked}
        attrs = {"degradation_assignments": ",".join(picked), "degradation_counts": counts}
        self.ev(
            t,
            "macro_execution",
            entity=BUTTONS[i],
            user=s.user,
            session_id=s.id,
            value=boxes,
            duration_ms=exec_ms,
            attrs=attrs,
        )
        s.last_t = t

    def close(self, t: float) -> list[Act]:
        s = self.session
        if s is None:
            return []
        end = min(s.last_t + 5.0, t)
        self.session = None
        return [Act(end, SESSION_END, {"session_id": s.id})]


def _stamp(t: float) -> str:
    return f"{to_datetime(t):%Y%m%d_%H%M%S}"
