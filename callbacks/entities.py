"""Entities: per-minute history of the chosen entity, from the server."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash
from dash import Input, Output, State, no_update

from callbacks import timebar
from data import queries
from layouts import figures, ids, selfmon
from layouts.timebar import fit_x
from reports import usage
from services import Services


def known_entities(services: Services, include_self: bool) -> list[str]:
    """The entity picker's values (Pulseboard's own routes and gauges only
    with the switch on): a GROUP BY over the rollups, so kept for a minute."""
    filters = queries.Filters().business(include_self)

    def compute() -> list[str]:
        with services.db.replica() as conn:
            return usage.entities(conn, filters=filters)

    return services.cache.get_or_compute(("known-entities", include_self), 0, compute, ttl=60.0)


def register(app: dash.Dash, services: Services) -> None:
    @app.callback(
        Output(ids.EN_ENTITY, "options"),
        Output(ids.EN_ENTITY, "value"),
        Output(ids.EN_CHART, "figure"),
        Output(ids.EN_USERS, "children"),
        Output(ids.page_search("entities"), "data"),
        Input(ids.EN_ENTITY, "value"),
        Input(ids.TIME_RANGE, "data"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.THEME_STORE, "data"),
        Input(ids.EN_SELF, "value"),
        State(ids.URL, "search"),
    )
    def update(
        entity: str | None,
        time_range: dict[str, Any] | None,
        _n: Any,
        theme: str | None,
        include_self: bool | None,
        search: str | None,
    ) -> tuple[Any, ...]:
        since, until = timebar.bounds(services, time_range, "/entities")
        with services.db.replica() as conn:
            entities = known_entities(services, bool(include_self))
            if entity is None and entities:
                entity = entities[0]
            history = (
                usage.entity_history(
                    conn,
                    window=until - since,
                    now=until,
                    filters=queries.Filters(entity=(entity,)).business(bool(include_self)),
                    flag_key="overage",
                )
                if entity
                else {}
            )
        points = history.get(entity or "", [])
        users = sorted({u for p in points for u in p["users"]})
        summary = (
            (
                f"{sum(p['count'] for p in points):,} events, {sum(p['overage_count'] for p in points):,} flagged, "
                f"{len(users)} users: {', '.join(users[:30])}{' …' if len(users) > 30 else ''}"
            )
            if points
            else "No events for this entity in this time range."
        )
        own = urlencode({k: v for k, v in (("entity", entity),) if v} | selfmon.params(include_self))
        wanted = timebar.page_search(f"?{own}" if own else "", search, "/entities")
        return (
            [{"label": e, "value": e} for e in entities],
            entity,
            fit_x(figures.usage_bars(points, dark=theme == "dark"), time_range, (since, until)),
            summary,
            no_update if wanted == (search or "") else wanted,
        )
