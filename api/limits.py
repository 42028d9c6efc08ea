"""Rate limits per API key, or per client address when no valid key is sent.

``--rate-limit-storage memory`` (the default on SQLite): a token bucket per
key in the serving process (``core.limits``). It holds up to ``burst`` tokens
(twice the rate) and refills at ``rate`` tokens a second; a request takes one.
With ``--workers N`` a client may get up to N times the rate.

``database`` (the default on PostgreSQL) or a ``redis://`` URL: the
``limits`` library's fixed windows in a store every node shares
(``data.rate_limits`` for the database): ``burst`` requests a window of
``burst / rate`` seconds per key, whichever node answers.

Either way a refused request answers 429 JSON with ``Retry-After`` (whole
seconds until a request is let in again). Failed sign-ins are limited per
address in the same store (``auth/views.py``, ``make_limit``). The client address is
``request.remote_addr``; behind a reverse proxy it is the proxy's unless
``--trusted-proxies`` says how many proxies' ``X-Forwarded-For`` to believe.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Hashable
from typing import Protocol

from flask import Flask, Response, request
from limits import RateLimitItemPerSecond
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from core.errors import SettingsError
from core.limits import TokenBucket
from data.rate_limits import DatabaseStorage
from services import Services
from web.http import API_PREFIXES, error_response, presented_key

log = logging.getLogger(__name__)

# The HTTP API, ingest and read; pages, Dash internals and static assets are not counted.
LIMITED_PREFIXES = (*API_PREFIXES, "/metrics")
# Set in the WSGI environ by a path that took the request's token already (api/fast_ingest.py).
COUNTED = "pulseboard.rate_counted"


def too_many(wait: float, message: str) -> Response:
    response = error_response(429, message)
    response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


class Limit(Protocol):
    """What the hook and the fast ingest path ask of a limit."""

    @property
    def burst(self) -> float: ...

    def take(self, key: Hashable) -> float:
        """0.0 when the request may go on, else the seconds until one may."""
        ...

    def refund(self, key: Hashable) -> None:
        """Give back what a granted ``take`` took (a sign-in that did not fail)."""
        ...


class SharedLimit:
    """``burst`` requests (default: twice the rate) per window of ``burst /
    rate`` seconds per key, in a ``limits`` storage that every node shares;
    ``name`` keeps the keys of one limit apart from another's. When the store
    cannot be reached requests go on (logged, at most once a minute): a broken
    limiter must not stop ingest."""

    def __init__(
        self,
        rate: float,
        storage: Storage,
        *,
        burst: float | None = None,
        name: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rate = rate
        self.burst = max(1, math.floor(2 * rate if burst is None else burst))
        self.window = max(1, math.ceil(self.burst / rate))
        self.item = RateLimitItemPerSecond(self.burst, self.window)
        self.limiter = FixedWindowRateLimiter(storage)
        self.name = name
        self.clock = clock
        self._complained = -math.inf

    def _ident(self, key: Hashable) -> str:
        ident = ":".join(str(part) for part in key) if isinstance(key, tuple) else str(key)
        return f"{self.name}:{ident}" if self.name else ident

    def take(self, key: Hashable) -> float:
        ident = self._ident(key)
        try:
            if self.limiter.hit(self.item, ident):
                return 0.0
            reset = self.limiter.get_window_stats(self.item, ident).reset_time
        except Exception as exc:
            self._unavailable(exc)
            return 0.0
        return max(0.001, reset - self.clock())

    def refund(self, key: Hashable) -> None:
        """One hit less in the key's window (should it have ended meanwhile, the next starts one lower)."""
        try:
            self.limiter.storage.incr(self.item.key_for(self._ident(key)), self.item.get_expiry(), amount=-1)
        except Exception as exc:
            self._unavailable(exc)

    def _unavailable(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._complained >= 60:
            self._complained = now
            log.warning("rate-limit store unavailable, requests are not limited meanwhile: %s", exc)


def shared_storage(services: Services) -> Storage | None:
    """The store that ``--rate-limit-storage`` names, or None for this process's memory."""
    where = services.settings.rate_limit_store
    if where == "memory":
        return None
    if where == "database":
        return DatabaseStorage(services.db)
    try:
        storage = storage_from_string(where)
    except Exception as exc:  # e.g. the redis package is not installed
        raise SettingsError(f"rate_limit_storage: {exc}") from None
    if not isinstance(storage, Storage):
        raise SettingsError(f"rate_limit_storage: {where} is not a synchronous storage")
    return storage


def make_limit(services: Services, rate: float, burst: float, name: str = "") -> Limit:
    """A limit of ``rate`` a second in bursts of ``burst`` per key, kept where
    ``--rate-limit-storage`` says: this process's token bucket, or windows that
    every node shares (``name`` tells its keys from other limits' there)."""
    storage = shared_storage(services)
    if storage is None:
        return TokenBucket(rate, burst)
    return SharedLimit(rate, storage, burst=burst, name=name)


def register_limits(server: Flask, services: Services) -> Limit | None:
    """Limit API requests to ``--rate-limit`` a second per key or address (0:
    no limit), in the store ``--rate-limit-storage`` names. The limit is kept
    in ``server.extensions["pulseboard_limits"]``."""
    rate = services.settings.rate_limit
    if rate <= 0:
        return None
    bucket = make_limit(services, rate, 2 * rate)
    server.extensions["pulseboard_limits"] = bucket
    message = f"too many requests: at most {rate:g} a second (bursts of {bucket.burst:g}) per API key or client address"

    @server.before_request
    def _rate_limit() -> Response | None:
        if not request.path.startswith(LIMITED_PREFIXES) or request.environ.get(COUNTED):
            return None
        key = presented_key()
        wait = bucket.take(("key", key) if key is not None else ("addr", request.remote_addr))
        if wait:
            return too_many(wait, f"{message}; retry in {max(1, math.ceil(wait))} s")
        return None

    return bucket
