"""The page shell: navigation, theme switch, the time bar (range and refresh) and the page container."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import has_request_context

from auth import csrf_token, current_user
from layouts import ids, timebar
from layouts.pages import PAGES


def build_layout() -> html.Div:
    return html.Div(
        className="pb-shell",
        children=[
            dcc.Location(id=ids.URL, refresh="callback-nav"),
            dcc.Store(id=ids.THEME_STORE, storage_type="local"),
            *timebar.stores(),  # the time range every page reads, and the refresh timer
            html.Div(id=ids.THEME, hidden=True),
            dbc.Navbar(
                dbc.Container(navbar_items(), fluid=True),
                expand="lg",
                color="body-tertiary",
                dark=False,
                className="pb-navbar mb-3 border-bottom",
            ),
            timebar.bar(),
            dbc.Container(html.Main(id=ids.PAGE), fluid=True, className="pb-page"),
        ],
    )


def navbar_items() -> list[object]:
    """The brand, then a toggler that shows the links, the theme button and the
    user menu below ``lg`` (992 px), where they would not fit on one line."""
    links = dbc.Nav(
        [
            dbc.NavLink(p.title, href=p.path, active="exact" if p.path == "/" else "partial", id=ids.nav_link(p.path))
            for p in PAGES
            if p.nav
        ],
        navbar=True,
        className="me-auto",
    )
    actions: list[Any] = [
        *user_menu(),
        dbc.Button("◐ Theme", id=ids.THEME_TOGGLE, color="secondary", outline=True, size="sm"),
    ]
    return [
        dbc.NavbarBrand([html.Span("●", className="pb-logo me-2"), "Pulseboard"], href="/"),
        dbc.NavbarToggler(id=ids.NAV_TOGGLER, n_clicks=0),
        dbc.Collapse(
            [links, html.Div(actions, className="d-flex align-items-center flex-wrap gap-2 py-2 py-lg-0")],
            id=ids.NAV_COLLAPSE,
            is_open=False,
            navbar=True,
        ),
    ]


def user_menu() -> list[object]:
    """The signed-in user's name and a sign-out button (nothing with sign-in off)."""
    name = current_user() if has_request_context() else None
    if name is None:
        return []
    return [
        html.Span(name, className="navbar-text small pb-user"),
        html.Form(
            [
                dcc.Input(type="hidden", name="csrf_token", value=csrf_token()),
                html.Button("Sign out", type="submit", className="btn btn-outline-secondary btn-sm"),
            ],
            method="POST",
            action="/logout",
            className="mb-0",
        ),
    ]


def not_found(path: str) -> html.Div:
    return html.Div(
        [
            html.H2("Page not found"),
            html.P(["There is no page at ", html.Code(path), ". "]),
            dcc.Link("Go to the overview", href="/"),
        ],
        className="pb-empty",
    )
