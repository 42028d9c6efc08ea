"""Cross-origin API calls (``--cors-origins``), through Flask-CORS.

A page served from another origin (a team's own status page, the script
runner's old front end) may call the HTTP API and ``/health`` with an API
key. Credentials (the sign-in cookie) are never shared cross-origin: such a
page authenticates with ``Authorization: Bearer <key>``, which the preflight
allows. The dashboard's own pages and sockets stay same-origin only.

Flask-CORS is used rather than hand-written headers: it answers
preflights and matches origins exactly.
"""

from __future__ import annotations

import re

from flask import Flask, request
from flask_cors import CORS

from settings import Settings
from web.http import API_PREFIXES

EXPOSED = ["Retry-After", "Content-Disposition"]


def cors_paths() -> str:
    """The paths a cross-origin page may call: the API prefixes and the health check."""
    return "^(" + "|".join(re.escape(p) for p in (*API_PREFIXES, "/health")) + ")"


def install_cors(server: Flask, settings: Settings) -> None:
    origins = settings.origins()
    if not origins:
        return
    CORS(
        server,
        resources={cors_paths(): {"origins": "*" if origins == ("*",) else list(origins)}},
        supports_credentials=False,
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=EXPOSED,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        max_age=600,
    )


def is_preflight() -> bool:
    """A CORS preflight: an ``OPTIONS`` asking which method and headers it may send."""
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


def cors_allowed(origin: str, settings: Settings) -> bool:
    """Whether ``origin`` is one ``--cors-origins`` lets call the API.

    >>> s = Settings(cors_origins="https://a.example")
    >>> cors_allowed("https://a.example", s), cors_allowed("https://b.example", s)
    (True, False)
    """
    origins = settings.origins()
    return "*" in origins or origin.rstrip("/").lower() in origins
