"""Callbacks, registered per app with ``register(app, services)`` (never the
global ``dash.callback``: a fresh app per test must get its own)."""
from __future__ import annotations

import dash

from callbacks import executions, explore, overview, shell
from services import Services


def register_all(app: dash.Dash, services: Services) -> None:
    shell.register(app, services)
    overview.register(app, services)
    explore.register(app, services)
    executions.register(app, services)
