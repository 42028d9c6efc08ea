"""License/tool usage: engineers borrow a tool's license, hold it
for a while and return it. A borrow beyond the tool's licensed seats is an
``overage`` (so overage comes with peak hours); beyond a hard cap it fails.

Incident: ``license_outage`` (the license server is unreachable: every
borrow attempt is a ``failure``)."""

from __future__ import annotations

import heapq

from demo.model import Incidents, Mode, Scenario, arrivals, lognormal, office

# tool, licensed seats (a tool's borrow rate follows from its seats)
TOOLS = (
    ("Vector - DaVinci Configurator SE", 6),
    ("Vector - CANoe", 10),
    ("MATLAB", 25),
    ("Simulink", 12),
    ("dSPACE ControlDesk", 5),
    ("ETAS INCA", 6),
    ("Lauterbach TRACE32", 4),
)
_FIRST = (
    "anna",
    "ben",
    "carla",
    "david",
    "elena",
    "felix",
    "greta",
    "hugo",
    "ines",
    "jonas",
    "katrin",
    "leon",
    "mia",
    "nils",
    "olga",
    "paul",
)
_LAST = (
    "meyer",
    "schmidt",
    "weber",
    "fischer",
    "wagner",
    "becker",
    "hoffmann",
    "koch",
    "richter",
    "klein",
    "wolf",
    "neumann",
)
HARD_CAP = 1.3  # borrows beyond seats x HARD_CAP are refused
SERVER_DOWN = "License server not reachable (FlexNet: -15)"


class Tools(Scenario):
    source = "tools"

    def __init__(self, seed: int, index: int, mode: Mode) -> None:
        super().__init__(seed, index, mode)
        rng = self.rng
        self.users = sorted({f"{rng.choice(_FIRST)}.{rng.choice(_LAST)}" for _ in range(60)})
        self.hold_median = 2700.0  # seconds
        mean_hold = self.hold_median * 1.38  # lognormal sigma 0.8
        self.rates = []
        for i, (_, seats) in enumerate(TOOLS):
            # Peak-hour concurrency near the seat count, so peaks overflow into overage.
            peak = 0.95 * seats / mean_hold
            self.rates.append(self.intensity(i, peak, office))
        self.out: list[list[float]] = [[] for _ in TOOLS]  # return times of open borrows
        self.borrows = 0

    def generate(self, t0: float, t1: float, incidents: Incidents) -> None:
        times: list[tuple[float, int]] = []
        for i, rate in enumerate(self.rates):
            times.extend((t, i) for t in arrivals(self.np_rng, t0, t1, rate).tolist())
        times.sort()
        for t, i in times:
            self._borrow(t, i, incidents)

    def _borrow(self, t: float, i: int, incidents: Incidents) -> None:
        rng = self.rng
        tool, seats = TOOLS[i]
        held = self.out[i]
        while held and held[0] <= t:
            heapq.heappop(held)
        user = rng.choice(self.users)
        in_use = len(held)
        if incidents.active("license_outage", t):
            self.ev(
                t,
                "failure",
                entity=tool,
                user=user,
                status="failed",
                message=SERVER_DOWN,
                attrs={"overage": False, "reason": "server_unreachable"},
            )
            return
        if in_use >= seats * HARD_CAP or rng.random() < 0.004:
            reason = "all seats in use" if in_use >= seats * HARD_CAP else "checkout timeout"
            attrs = {"overage": in_use >= seats, "reason": reason.replace(" ", "_"), "in_use": in_use, "seats": seats}
            message = f"License checkout refused: {reason}"
            self.ev(t, "failure", entity=tool, user=user, status="failed", message=message, attrs=attrs)
            return
        self.borrows += 1
        borrow_id = f"b{self.seed}-{self.borrows:06d}"
        overage = in_use >= seats
        self.ev(
            t,
            "borrow",
            entity=tool,
            user=user,
            status="ok",
            attrs={"overage": overage, "borrow_id": borrow_id, "in_use": in_use + 1, "seats": seats},
        )
        hold = min(lognormal(rng, self.hold_median, 0.8), 40.0 * self.hold_median / 6.0)
        heapq.heappush(held, t + hold)
        self.ev(
            t + hold,
            "return",
            entity=tool,
            user=user,
            status="ok",
            duration_ms=round(hold * 1000.0, 1),
            attrs={"overage": overage, "borrow_id": borrow_id},
        )
