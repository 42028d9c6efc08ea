"""Callbacks, registered per app with ``register(app, services)`` (never the
global ``dash.callback``: a fresh app per test must get its own)."""

from __future__ import annotations

import dash

from callbacks import (
    alerts,
    board_edit,
    board_settings,
    boards,
    entities,
    executions,
    explore,
    exports,
    overview,
    revenue,
    sessions,
    shell,
    system,
    tables,
    timebar,
)
from services import Services


def register_all(app: dash.Dash, services: Services) -> None:
    shell.register(app, services)
    timebar.register(app, services)
    overview.register(app, services)
    explore.register(app, services)
    executions.register(app, services)
    sessions.register(app, services)
    entities.register(app, services)
    revenue.register(app, services)
    system.register(app, services)
    exports.register(app, services)
    alerts.register(app, services)
    boards.register(app, services)
    board_edit.register(app, services)
    board_settings.register(app, services)
    tables.register(app)
