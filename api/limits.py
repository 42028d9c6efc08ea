"""Rate limits: a token bucket per API key, or per client address when no
valid key is sent.

Each bucket holds up to ``burst`` tokens (twice the rate) and refills at
``rate`` tokens a second; a request takes one. An empty bucket answers 429
JSON with ``Retry-After`` (whole seconds until a token is back). Buckets live
in the serving process: with ``--workers N`` a client may get up to N times
the rate. The client address is ``request.remote_addr``; behind a reverse
proxy it is the proxy's unless ``--trusted-proxies`` says how many proxies'
``X-Forwarded-For`` to believe.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import Flask, Response, request

from api.http import API_PREFIXES, error_response, presented_key

# The HTTP API, ingest and read; pages, Dash internals and static assets are not counted.
LIMITED_PREFIXES = (*API_PREFIXES, "/metrics")


class TokenBucket:
    """Token buckets by key: ``rate`` tokens a second, at most ``burst``.

    >>> now = [0.0]
    >>> bucket = TokenBucket(1.0, 2.0, clock=lambda: now[0])
    >>> [bucket.take("a"), bucket.take("a"), bucket.take("a"), bucket.take("b")]
    [0.0, 0.0, 1.0, 0.0]
    >>> now[0] = 1.0
    >>> bucket.take("a")
    0.0
    """

    def __init__(
        self, rate: float, burst: float, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst)
        self.clock = clock
        self.max_keys = max_keys  # the least recently seen key is forgotten beyond this (a full bucket again)
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()  # key -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, key: Hashable) -> float:
        """Take a token: 0.0 when granted, else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            tokens, when = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + max(0.0, now - when) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait

    def refund(self, key: Hashable) -> None:
        """Give back a token taken for ``key`` (e.g. a sign-in that did not fail)."""
        with self._lock:
            if key in self._buckets:
                tokens, when = self._buckets[key]
                self._buckets[key] = (min(self.burst, tokens + 1.0), when)


def too_many(wait: float, message: str) -> Response:
    response = error_response(429, message)
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def register_limits(server: Flask, rate: float) -> TokenBucket | None:
    """Limit API requests to ``rate`` a second per key or address (0: no limit).
    The bucket is kept in ``server.extensions["pulseboard_limits"]``."""
    if rate <= 0:
        return None
    bucket = TokenBucket(rate, 2 * rate)
    server.extensions["pulseboard_limits"] = bucket
    message = f"too many requests: at most {rate:g} a second (bursts of {bucket.burst:g}) per API key or client address"

    @server.before_request
    def _rate_limit() -> Response | None:
        if not request.path.startswith(LIMITED_PREFIXES):
            return None
        key = presented_key()
        wait = bucket.take(("key", key) if key is not None else ("addr", request.remote_addr))
        if wait:
            return too_many(wait, f"{message}; retry in {max(1, math.ceil(wait))} s")
        return None

    return bucket
