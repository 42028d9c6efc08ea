"""The payments app's admin analytics: payments with amount and
status, API requests per endpoint with their latency and HTTP status, user
activity, and the host's CPU, memory and disk gauges.

Incidents: ``payment_failures`` (the payment gateway times out: most
payments fail, checkout answers 502/504 and slows down) and
``latency_spike`` (``/api/vectorize`` gets five times slower)."""

from __future__ import annotations

import math

import numpy as np

from demo.model import EVENT, Act, FloatArray, Incidents, Mode, Scenario, Weighted, arrivals, consumer, profile_at

USERS = tuple(f"user{n:04d}" for n in range(1, 401))
USER_WEIGHTS = tuple(1.0 / (n + 8) for n in range(400))  # a few heavy users
# endpoint, share of requests, median latency (ms), sigma, success status
ENDPOINTS = (
    ("/api/products", 30, 35.0, 0.45, "200"),
    ("/api/checkout", 16, 140.0, 0.4, "201"),
    ("/api/search", 15, 60.0, 0.5, "200"),
    ("/api/login", 12, 70.0, 0.35, "200"),
    ("/api/vectorize", 10, 480.0, 0.5, "200"),
    ("/api/upload", 9, 320.0, 0.55, "201"),
    ("/admin/dashboard", 8, 90.0, 0.4, "200"),
)
ENDPOINT_WEIGHTS = tuple(e[1] for e in ENDPOINTS)
ACTIONS = ("login", "view_dashboard", "upload", "search", "download", "update_profile", "logout", "export_report")
ACTION_WEIGHTS = (25, 22, 12, 14, 9, 4, 10, 4)
METHODS = ("card", "paypal", "apple_pay", "bank_transfer")
METHOD_WEIGHTS = (62, 20, 12, 6)
HOST = "web-1"
GAUGE_EVERY = 60.0  # seconds between the host's CPU, memory and disk gauges
_USER = Weighted(USERS, USER_WEIGHTS)
_ENDPOINT = Weighted(ENDPOINTS, ENDPOINT_WEIGHTS)
_ACTION = Weighted(ACTIONS, ACTION_WEIGHTS)
_METHOD = Weighted(METHODS, METHOD_WEIGHTS)
PATHS = tuple(e[0] for e in ENDPOINTS)
_MEDIAN = np.array([e[2] for e in ENDPOINTS])
_SIGMA = np.array([e[3] for e in ENDPOINTS])
_OK = np.array([e[4] for e in ENDPOINTS], dtype=object)
_CHECKOUT = PATHS.index("/api/checkout")
_VECTORIZE = PATHS.index("/api/vectorize")
_CLIENT_ERRORS = np.array(["400", "401", "404", "404"], dtype=object)
_DECLINES = np.array(["Card declined", "Insufficient funds", "Card declined", "3-D Secure failed"], dtype=object)


class Payments(Scenario):
    source = "payments"

    def __init__(self, seed: int, index: int, mode: Mode) -> None:
        super().__init__(seed, index, mode)
        self.request_rate = self.intensity(0, 0.30, consumer)
        self.payment_rate = self.intensity(1, 0.045, consumer)
        self.activity_rate = self.intensity(2, 0.045, consumer)
        self.gauge_every = GAUGE_EVERY
        self.next_gauge: float | None = None
        self.disk = 61.0 + self.rng.uniform(0.0, 2.0)
        self.tx = 0

    def generate(self, t0: float, t1: float, incidents: Incidents) -> None:
        self._requests(arrivals(self.np_rng, t0, t1, self.request_rate), incidents)
        self._payments(arrivals(self.np_rng, t0, t1, self.payment_rate), incidents)
        self._activity(arrivals(self.np_rng, t0, t1, self.activity_rate))
        gauge = self.next_gauge if self.next_gauge is not None else math.ceil(t0 / self.gauge_every) * self.gauge_every
        while gauge < t1:
            self._host(gauge, incidents)
            gauge += self.gauge_every
        self.next_gauge = gauge

    # Vectorised: these three streams are most of the demo's events.
    def _users(self, n: int) -> list[str | None]:
        return [USERS[i] for i in _USER.indices(self.np_rng, n).tolist()]

    def _requests(self, times: FloatArray, incidents: Incidents) -> None:
        n = times.size
        if n == 0:
            return
        g = self.np_rng
        ep = _ENDPOINT.indices(g, n)
        ms = _MEDIAN[ep] * np.exp(g.standard_normal(n) * _SIGMA[ep])
        status = _OK[ep].copy()
        u = g.random(n)
        server_error = u < 0.004
        status[server_error] = np.where(g.random(int(server_error.sum())) < 0.5, "500", "503")
        client_error = (u >= 0.004) & (u < 0.02)
        status[client_error] = _CLIENT_ERRORS[g.integers(0, len(_CLIENT_ERRORS), int(client_error.sum()))]
        checkout_down = (ep == _CHECKOUT) & incidents.mask("payment_failures", times)
        ms[checkout_down] *= 3.0
        bad = checkout_down & (g.random(n) < 0.35)
        status[bad] = np.where(g.random(int(bad.sum())) < 0.5, "502", "504")
        slow = (ep == _VECTORIZE) & incidents.mask("latency_spike", times)
        ms[slow] *= 5.0
        status[slow & (g.random(n) < 0.05)] = "504"
        users = self._users(n)
        anonymous = (g.random(n) >= 0.7).tolist()
        src = self.source
        for t, e, d, st, user, anon in zip(
            times.tolist(), ep.tolist(), np.round(ms, 2).tolist(), status.tolist(), users, anonymous
        ):
            self.push(
                Act(
                    t,
                    EVENT,
                    {
                        "source": src,
                        "type": "request",
                        "entity": PATHS[e],
                        "user": None if anon else user,
                        "session_id": None,
                        "execution_id": None,
                        "status": st,
                        "value": None,
                        "duration_ms": d,
                        "message": None,
                        "attrs": None,
                        "uid": None,
                    },
                )
            )

    def _payments(self, times: FloatArray, incidents: Incidents) -> None:
        n = times.size
        if n == 0:
            return
        g = self.np_rng
        amounts = np.round(np.minimum(35.0 * np.exp(g.standard_normal(n) * 0.9), 2500.0), 2)
        down = incidents.mask("payment_failures", times)
        u = g.random(n)
        gateway = down & (u < 0.65)
        failed = np.where(down, u < 0.68, u < 0.03)
        pending = ~failed & np.where(down, u < 0.73, u < 0.08)
        declined = _DECLINES[g.integers(0, len(_DECLINES), n)]
        methods = _METHOD.indices(g, n)
        users = self._users(n)
        src = self.source
        rows = zip(
            times.tolist(),
            amounts.tolist(),
            gateway.tolist(),
            failed.tolist(),
            pending.tolist(),
            declined.tolist(),
            methods.tolist(),
            users,
        )
        for t, amount, gw, fail, pend, decline, method, user in rows:
            self.tx += 1
            status = "failed" if fail else ("pending" if pend else "completed")
            message = "Payment gateway timeout" if gw else (decline if fail else None)
            self.push(
                Act(
                    t,
                    EVENT,
                    {
                        "source": src,
                        "type": "payment",
                        "entity": METHODS[method],
                        "user": user,
                        "session_id": None,
                        "execution_id": None,
                        "status": status,
                        "value": amount,
                        "duration_ms": None,
                        "message": message,
                        "attrs": {"currency": "USD", "transaction_id": f"tx_{self.seed}_{self.tx:07d}"},
                        "uid": None,
                    },
                )
            )

    def _activity(self, times: FloatArray) -> None:
        n = times.size
        if n == 0:
            return
        g = self.np_rng
        actions = _ACTION.indices(g, n).tolist()
        users = self._users(n)
        octets = g.integers(0, 256, (n, 2)).tolist()
        src = self.source
        for t, a, user, (o3, o4) in zip(times.tolist(), actions, users, octets):
            self.push(
                Act(
                    t,
                    EVENT,
                    {
                        "source": src,
                        "type": "user_activity",
                        "entity": ACTIONS[a],
                        "user": user,
                        "session_id": None,
                        "execution_id": None,
                        "status": "ok",
                        "value": None,
                        "duration_ms": None,
                        "message": None,
                        "attrs": {"ip": f"10.0.{o3}.{o4}"},
                        "uid": None,
                    },
                )
            )

    def _host(self, t: float, incidents: Incidents) -> None:
        rng = self.rng
        load = profile_at(consumer, t)
        if incidents.active("payment_failures", t) or incidents.active("latency_spike", t):
            load = min(load + 0.35, 1.0)
        cpu = float(np.clip(12.0 + 62.0 * load + rng.gauss(0.0, 4.0), 1.0, 100.0))
        memory = float(np.clip(48.0 + 22.0 * load + rng.gauss(0.0, 1.5), 5.0, 100.0))
        self.disk = min(self.disk + rng.uniform(0.0, 0.004), 95.0)
        for type_, value in (("cpu_percent", cpu), ("memory_percent", memory), ("disk_percent", self.disk)):
            self.ev(t, type_, entity=HOST, value=round(value, 1))
