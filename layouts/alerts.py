"""The Alerts page: firing and pending alerts (acknowledge, links to the
events behind them), the history of alert instances, the rules (enable,
create, edit), silences and backtests. Every filter is in the URL:
``/alerts?tab=history&rule=3&state=firing&range=24h`` (the history
covers the time bar's range), ``/alerts?alert=12``,
``/alerts?tab=backtest&backtest=3&bt_range=7d`` (a backtest has a range of
its own; an older link's ``range=`` on the backtest tab is read as it),
``/alerts?tab=outbox`` (the e-mail outbox, read-only).

This module lays the page out; each tab's components are built in
``layouts.alerts_active`` (firing and pending), ``layouts.alerts_rules``
(the table and the form) and ``layouts.alerts_history`` (history, silences,
backtests). The form's values map to a rule in ``alerts.form``.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from alerts.form import id_of
from layouts import ids, timebar
from layouts.alerts_active import active_tab, loading
from layouts.alerts_history import RANGES, STATES, backtest_tab, history_tab, outbox_tab, silences_tab
from layouts.alerts_rules import rules_tab

TABS = (
    ("active", "Firing & pending"),
    ("history", "History"),
    ("rules", "Rules"),
    ("silences", "Silences"),
    ("backtest", "Backtest"),
    ("outbox", "Outbox"),
)


def _tab(tab_id: str, children: Any) -> dbc.Tab:
    return dbc.Tab(html.Div(children, className="pt-3"), tab_id=tab_id, label=dict(TABS)[tab_id], id=ids.al_tab(tab_id))


def page(_pathname: str, query: dict[str, str]) -> html.Div:
    """The page for ``/alerts?<query>``; a filter the URL gets wrong is left at its default."""
    tab = query.get("tab", "active")
    tab = tab if tab in dict(TABS) else "active"
    alert_id = query.get("alert", "")[:40]
    h_state = query.get("state", "") if query.get("state", "") in STATES else ""
    h_rule = query.get("rule", "") if id_of(query.get("rule")) else ""
    bt_rule = query.get("backtest", "") if id_of(query.get("backtest")) else ""
    bt_range = query.get("bt_range") or (query.get("range", "") if tab == "backtest" else "")
    bt_range = bt_range if bt_range in dict(RANGES) else "24h"
    return html.Div(
        [
            timebar.page_location("alerts"),
            dcc.Store(id=ids.AL_CHANGED, data=0),
            dcc.Store(id=ids.AL_ACTIVE_DATA),
            dcc.Store(id=ids.AL_ALERT_ID, data=alert_id or None),
            dcc.Store(id=ids.AL_EDITING),
            dcc.Store(id=ids.AL_BT_SPEC),
            html.Div(
                [
                    html.Div(id=ids.AL_COUNTS, className="d-flex align-items-center flex-wrap"),
                    dbc.Button("Evaluate now", id=ids.AL_EVALUATE, color="primary", size="sm", className="ms-auto"),
                ],
                className="d-flex align-items-center gap-2 mb-2",
            ),
            loading(html.Div(id=ids.AL_MESSAGE)),
            dbc.Tabs(
                [
                    _tab("active", active_tab()),
                    _tab("history", history_tab(h_rule, h_state)),
                    _tab("rules", rules_tab()),
                    _tab(
                        "silences",
                        silences_tab(query.get("silence_rule", "")[:200], query.get("silence_labels", "")[:500]),
                    ),
                    _tab("backtest", backtest_tab(bt_rule, bt_range)),
                    _tab("outbox", outbox_tab()),
                ],
                id=ids.AL_TABS,
                active_tab=tab,
            ),
        ]
    )
