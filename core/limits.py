"""A token bucket per key: the rate limit of the API and of sign-in attempts.

Each bucket holds up to ``burst`` tokens and refills at ``rate`` tokens a
second; a request takes one. The clock is an argument, so a test can move
time by hand.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


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
