"""The route table behind ``GET /api/openapi.json``: read routes declare
their summary and query parameters where they are defined."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    type: str = "string"  # string | integer | number | boolean
    description: str = ""
    enum: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.enum:
            out["enum"] = list(self.enum)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


@dataclasses.dataclass(frozen=True)
class RouteDoc:
    method: str
    path: str  # Flask syntax, e.g. /api/execution/<execution_id>
    summary: str
    params: tuple[Param, ...] = ()
    body: type | None = None  # a pydantic model
    tag: str = "read"
    responses: tuple[int, ...] = (200,)
    produces: tuple[str, ...] = ("application/json",)


ROUTES: list[RouteDoc] = []


def doc(
    method: str,
    path: str,
    summary: str,
    *params: Param,
    body: type | None = None,
    tag: str = "read",
    responses: tuple[int, ...] = (200,),
    produces: tuple[str, ...] = ("application/json",),
) -> Callable[[F], F]:
    """Record a route for the OpenAPI document (the Flask route is declared separately)."""
    ROUTES.append(RouteDoc(method, path, summary, tuple(params), body, tag, responses, produces))

    def wrap(view: F) -> F:
        return view

    return wrap


# Parameters several routes share.
WINDOW = Param("window", description="Trailing window ending now: 90, 30s, 10min, 6h, 7d")
SINCE = Param("since", description="Start, ISO 8601 or epoch seconds (overrides window)")
UNTIL = Param("until", description="End, ISO 8601 or epoch seconds (default now)")
LIMIT = Param("limit", "integer", "Most rows returned", minimum=0, maximum=5000)
FILTERS = tuple(
    Param(name, description=f"Only events whose {name} is one of these comma-separated values")
    for name in ("source", "type", "entity", "user", "status", "session_id", "execution_id")
)
# Routes answered from the per-minute rollups, which keep these dimensions only.
ROLLUP_FILTERS = tuple(f for f in FILTERS if f.name in ("source", "type", "entity", "status"))
