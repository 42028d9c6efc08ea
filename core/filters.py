"""Equality filters on the event dimensions, shared by every query.

Rollups keep only ``ROLLUP_DIMENSIONS``; a filter on another dimension
makes a query read raw events.
"""

from __future__ import annotations

import dataclasses

DIMENSIONS = ("source", "type", "entity", "user", "status", "session_id", "execution_id")
ROLLUP_DIMENSIONS = ("source", "type", "entity", "status")


@dataclasses.dataclass(frozen=True)
class Filters:
    """Equality filters; each dimension holds one or more accepted values."""

    source: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    entity: tuple[str, ...] = ()
    user: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    session_id: tuple[str, ...] = ()
    execution_id: tuple[str, ...] = ()

    def items(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(name, getattr(self, name)) for name in DIMENSIONS if getattr(self, name)]

    @property
    def rollup_compatible(self) -> bool:
        """Rollups keep source/type/entity/status only."""
        return all(name in ROLLUP_DIMENSIONS for name, _ in self.items())
