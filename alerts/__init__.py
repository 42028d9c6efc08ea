"""Alerts: rules evaluated every few seconds, alert instances with states,
notifications (live toast, log, webhook, Slack, Teams, e-mail, SMS),
silences and backtests.

Modules: ``rules`` (the Rule model, YAML), ``metrics`` (a rule's metric per
group, from rollups where possible; ``coded`` makes the shared rollup frame
cheap to slice per rule), ``baseline_rules`` (anomaly and duration rules, judged against what was learned), ``measure`` (any rule's value), ``state``
(the pure state machine), ``notify`` (targets), ``chat`` (Slack, Teams and
SMS messages), ``mail`` (grouped e-mail into the outbox), ``engine`` (AlertEngine:
evaluate, backtest), ``defaults`` (the device-monitor rules), ``manage``
(what the API and the Alerts page call). SQL lives in ``data.alerts``.

Interface for the Alerts page (all in ``alerts.manage``, re-exported here).
Reads take a Connection from ``services.db.read()``, writes one from
``services.db.write()``; every result is JSON-ready (ISO timestamps):

    list_rules(conn) -> list[RuleJSON]
    get_rule(conn, rule_id) -> RuleJSON | None
    save_rule(conn, spec, *, now, rule_id=None, origin="api") -> RuleJSON
        spec: dict (or Rule); creates when rule_id is None, else replaces.
        Raises RuleError (a ValueError; .field e.g. "threshold", "filter.type",
        .message) for a bad spec or a taken name; NotFound (LookupError) for
        an unknown rule_id (both domain errors of core.errors).
    set_enabled(conn, rule_id, enabled, *, now) -> RuleJSON | None
    delete_rule(conn, rule_id) -> bool
    active_alerts(conn) -> list[AlertJSON]            pending + firing, newest first
    alert_history(conn, *, rule_id=None, state=None, since=None, limit=100, offset=0)
        -> {"alerts": [AlertJSON], "total", "limit", "offset"}
    get_alert(conn, alert_id) -> AlertJSON + {"notifications": [...]} | None
    acknowledge(conn, alert_id, by, *, now) -> AlertJSON | None
    list_silences(conn, *, now, active_only=False) -> list[SilenceJSON]
    add_silence(conn, spec, *, now) -> SilenceJSON     raises RuleError (.field)
        spec: {matchers: {rule?: name, <label>: value}, starts_at?, ends_at | duration, comment?, created_by?}
    delete_silence(conn, silence_id) -> bool
    backtest(services.alerts, spec, since, until, step=None) -> BacktestJSON
        raises RuleError (.field: a spec field, "since" or "step")
    services.alerts.evaluate(now=None) -> summary dict (run every rule now)

RuleJSON: {id, name, enabled, origin (api|file|default), created_at, updated_at,
spec (the rule's fields, see alerts.rules.Rule; "for" under that name)}.
AlertJSON: {id, rule_id, rule, fingerprint, labels, severity, state
(pending|firing|resolved|normal), value, summary, started_at, fired_at,
resolved_at, last_match_at, last_eval_at, last_notified_at, notifications,
acknowledged, acknowledged_at, acknowledged_by}.
SilenceJSON: {id, matchers, starts_at, ends_at, comment, created_by, created_at, active}.
BacktestJSON: {rule, since, until, step_seconds, steps, transitions: [{ts, labels,
from, to, value, notification}], fired, resolved, notifications, by_kind, deliveries}.
"""

from __future__ import annotations

from alerts.manage import (
    acknowledge,
    active_alerts,
    add_silence,
    alert_history,
    backtest,
    delete_rule,
    delete_silence,
    get_alert,
    get_rule,
    list_rules,
    list_silences,
    save_rule,
    set_enabled,
)
from alerts.rules import RuleError
from core.errors import NotFound

__all__ = [
    "NotFound",
    "RuleError",
    "acknowledge",
    "active_alerts",
    "add_silence",
    "alert_history",
    "backtest",
    "delete_rule",
    "delete_silence",
    "get_alert",
    "get_rule",
    "list_rules",
    "list_silences",
    "save_rule",
    "set_enabled",
]
