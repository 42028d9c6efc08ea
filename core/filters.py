"""Equality filters on the event dimensions, shared by every query.

Rollups keep only ``ROLLUP_DIMENSIONS``; a filter on another dimension
makes a query read raw events.

The business views (Overview, Revenue, Entities) leave out Pulseboard's own
self-monitoring events (source :data:`SELF_SOURCE`) through
:meth:`Filters.business`; Explore, the System page and the API see every
source unless a query filters it.
"""

from __future__ import annotations

import dataclasses

DIMENSIONS = ("source", "type", "entity", "user", "status", "session_id", "execution_id")
ROLLUP_DIMENSIONS = ("source", "type", "entity", "status")
SELF_SOURCE = "pulseboard"  # the server's own request timings and gauges (jobs/maintenance.py)


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
    exclude_source: tuple[str, ...] = ()  # sources left out (applied beside the equality filters)

    def business(self, include_self: bool = False) -> Filters:
        """These filters for a business view: without Pulseboard's own events,
        unless ``include_self`` or the filters ask for its source.

        >>> Filters(type=("request",)).business().exclude_source
        ('pulseboard',)
        >>> Filters(type=("request",)).business(include_self=True).exclude_source
        ()
        >>> Filters(source=("pulseboard",)).business().exclude_source
        ()
        """
        if include_self or SELF_SOURCE in self.source or SELF_SOURCE in self.exclude_source:
            return self
        return dataclasses.replace(self, exclude_source=(*self.exclude_source, SELF_SOURCE))

    def items(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(name, getattr(self, name)) for name in DIMENSIONS if getattr(self, name)]

    @property
    def rollup_compatible(self) -> bool:
        """Rollups keep source/type/entity/status only."""
        return all(name in ROLLUP_DIMENSIONS for name, _ in self.items())
