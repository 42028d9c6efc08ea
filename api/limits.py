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

from flask import Flask, Response, request

from core.limits import TokenBucket
from web.http import API_PREFIXES, error_response, presented_key

# The HTTP API, ingest and read; pages, Dash internals and static assets are not counted.
LIMITED_PREFIXES = (*API_PREFIXES, "/metrics")
# Set in the WSGI environ by a path that took the request's token already (api/fast_ingest.py).
COUNTED = "pulseboard.rate_counted"


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
        if not request.path.startswith(LIMITED_PREFIXES) or request.environ.get(COUNTED):
            return None
        key = presented_key()
        wait = bucket.take(("key", key) if key is not None else ("addr", request.remote_addr))
        if wait:
            return too_many(wait, f"{message}; retry in {max(1, math.ceil(wait))} s")
        return None

    return bucket
