"""Query-string readers for the routes: ``core.params.Args`` over
``request.args``, bounded by ``settings.max_query_days``. Each bad parameter
is an ``InvalidInput`` naming it, which the error handler answers with 400."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, request

from core.durations import MAX_WINDOW
from core.filters import Filters
from core.params import MAX_LIMIT, Args

__all__ = [
    "MAX_LIMIT",
    "arg",
    "args",
    "bool_arg",
    "choice_arg",
    "days_arg",
    "duration_arg",
    "filters_arg",
    "float_arg",
    "int_arg",
    "max_window",
    "parse_duration",
    "time_arg",
    "time_range",
]


def max_window() -> timedelta:
    """The longest time range a request may cover: ``settings.max_query_days``."""
    services = current_app.extensions.get("pulseboard")
    return timedelta(days=services.settings.max_query_days) if services is not None else MAX_WINDOW


def args() -> Args:
    """This request's query string, with this server's limit."""
    return Args(request.args, longest=max_window())


def arg(name: str, default: str | None = None) -> str | None:
    return args().arg(name, default)


def int_arg(name: str, default: int, *, lo: int = 0, hi: int = MAX_LIMIT) -> int:
    return args().int_arg(name, default, lo=lo, hi=hi)


def float_arg(name: str, default: float, *, lo: float, hi: float) -> float:
    return args().float_arg(name, default, lo=lo, hi=hi)


def choice_arg(name: str, default: str, choices: tuple[str, ...]) -> str:
    return args().choice_arg(name, default, choices)


def bool_arg(name: str, default: bool = False) -> bool:
    return args().bool_arg(name, default)


def parse_duration(raw: str, name: str) -> timedelta:
    return args().duration(raw, name)


def days_arg(name: str, default: float) -> float:
    return args().days_arg(name, default)


def duration_arg(name: str, default: timedelta) -> timedelta:
    return args().duration_arg(name, default)


def time_arg(name: str) -> datetime | None:
    return args().time_arg(name)


def time_range(now: datetime, default_window: timedelta) -> tuple[datetime, datetime]:
    return args().time_range(now, default_window)


def filters_arg(*, rollups: bool = False) -> Filters:
    return args().filters_arg(rollups=rollups)
