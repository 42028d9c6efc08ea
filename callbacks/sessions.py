"""Sessions: the list and one session's speed, distribution, categories and interactions."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, html

from callbacks import timebar
from data import queries
from layouts import figures, ids
from layouts import sessions as layout
from reports import sessions
from services import Services


def session_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "session": f"[{r['id']}](/sessions/{r['id']})",
            "user": r["user"],
            "source": r["source"],
            "started (UTC)": r["started_at"].isoformat()[:19].replace("T", " "),
            "ended (UTC)": r["ended_at"].isoformat()[:19].replace("T", " ") if r["ended_at"] else "",
            "state": "ended" if r["ended_at"] else "active",
        }
        for r in rows
    ]


def interaction_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "time": (e["ts"] or "")[11:19],
            "type": e["type"],
            "button": e["entity"],
            "boxes": e["value"],
            "execution ms": e["duration_ms"],
            "categories": ", ".join(
                f"{k}={v:g}" for k, v in ((e.get("attrs") or {}).get("degradation_counts") or {}).items()
            ),
        }
        for e in events
    ]


def register(app: dash.Dash, services: Services) -> None:
    @app.callback(
        Output(ids.SS_TABLE, "rowData"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.TIME_RANGE, "data"),
        Input(ids.URL, "pathname"),
    )
    def table(_n: Any, time_range: Any, _path: Any) -> list[dict[str, Any]]:
        since, until = timebar.bounds(services, time_range, "/sessions")
        with services.db.replica() as conn:
            return session_rows(queries.list_sessions(conn, limit=500, since=since, until=until))

    @app.callback(Output(ids.S_DETAIL, "children"), Input(ids.S_ID, "data"))
    def detail(session_id: str) -> Any:
        with services.db.replica() as conn:
            m = sessions.session_metrics(conn, session_id, services.now())
        if m is None:
            return html.Div(
                [html.H3("Session not found"), html.P(["No session has the id ", html.Code(session_id), "."])],
                className="pb-empty",
            )
        return layout.detail(m)

    @app.callback(
        Output(ids.S_SPEED, "figure"),
        Output(ids.S_CATEGORIES, "figure"),
        Output(ids.S_DIST, "figure"),
        Output(ids.S_INTERACTIONS, "rowData"),
        Input(ids.S_SPEED, "id"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.THEME_STORE, "data"),
        State(ids.S_ID, "data"),
    )
    def charts(_id: Any, _n: Any, theme: str | None, session_id: str) -> tuple[Any, ...]:
        dark = theme == "dark"
        with services.db.replica() as conn:
            m = sessions.session_metrics(conn, session_id, services.now()) or {}
            events = sessions.interactions(conn, session_id, layout.INTERACTIONS_SHOWN)
        categories = m.get("categories", [])
        return (
            figures.line(m.get("speed_over_time", []), dark=dark),
            figures.donut([c["category"] for c in categories], [c["count"] for c in categories], dark=dark),
            figures.histogram(m.get("execution_time_histogram", []), dark=dark),
            interaction_rows([e for e in events if e["type"] not in ("session_start", "session_end")]),
        )
