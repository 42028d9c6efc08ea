"""The page shell: header, navigation and the page container."""
from __future__ import annotations

from dash import dcc, html

from layouts import ids


def build_layout() -> html.Div:
    return html.Div(
        className="pb-shell",
        children=[
            dcc.Location(id=ids.URL),
            html.Header(
                className="pb-header",
                children=[html.Span("Pulseboard", className="pb-brand"), html.Span("real-time event analytics", className="pb-tagline")],
            ),
            html.Main(id=ids.PAGE, className="pb-page"),
        ],
    )


def home(event_count: int) -> html.Div:
    if event_count == 0:
        body = html.Div(
            className="pb-empty",
            children=[
                html.H2("No events yet"),
                html.P("Send one with:"),
                html.Pre(
                    "curl -X POST http://127.0.0.1:8050/api/events \\\n"
                    "  -H 'Content-Type: application/json' \\\n"
                    '  -d \'{"type": "scan", "source": "scanner", "status": "ok"}\''
                ),
            ],
        )
    else:
        body = html.Div(className="pb-card", children=[html.Div("Events stored", className="pb-card-label"), html.Div(f"{event_count:,}", id=ids.EVENT_COUNT, className="pb-card-value")])
    return html.Div(children=[body])
