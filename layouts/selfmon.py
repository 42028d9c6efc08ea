"""The "Include Pulseboard's own events" switch of the business views
(Overview, Revenue, Entities): off by default, ``self=1`` in the URL when on.
The exclusion itself is :meth:`core.filters.Filters.business`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

PARAM = "self"
LABEL = "Include Pulseboard's own events"
HELP = (
    "Pulseboard's self-monitoring (source 'pulseboard': its request timings and gauges) is left out unless this is on"
)


def included(query: Mapping[str, Any]) -> bool:
    """Whether the page's query string asks for Pulseboard's own events.

    >>> included({"self": "1"}), included({}), included({"self": "0"})
    (True, False, False)
    """
    return str(query.get(PARAM, "")) in ("1", "true", "on", "yes")


def switch(component_id: str, query: Mapping[str, Any]) -> html.Div:
    return html.Div(
        dbc.Switch(id=component_id, label=LABEL, value=included(query), class_name="mb-0"),
        title=HELP,
        className="small text-body-secondary pb-self-switch",
    )


def params(on: bool | None) -> dict[str, str]:
    """The switch's part of a page's query string.

    >>> params(True), params(False)
    ({'self': '1'}, {})
    """
    return {PARAM: "1"} if on else {}
