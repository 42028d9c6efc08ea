"""Alert routes: rules CRUD and backtests, alert instances (active,
history, one with its notifications, acknowledge, evaluate now), silences.

Every write is under ``/api/rules``, ``/api/silences`` or ``/api/alerts/...``
and takes an API key when keys are configured. A bad rule or silence is a
400 naming the field (``{"error": "invalid field 'threshold': ...",
"errors": [{"field": "threshold", "message": "..."}]}``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Blueprint, Response, request

from alerts import manage
from alerts.manage import SilenceIn
from alerts.rules import Rule
from api.ingest import services
from web import params as p
from web.docs import LIMIT, SINCE, UNTIL, WINDOW, Param, doc
from web.http import ApiError, json_response, read_json, require_key

bp = Blueprint("alerts", __name__)
T = TypeVar("T")
STEP = Param("step", description="Backtest step (default: the range / 300, at least 1 minute): 60, 5min, 1h")


def _write(work: Callable[[Any], T]) -> T:
    # A RuleError (400) or NotFound (404) is answered by the domain error handler.
    with services().db.write() as conn:
        return work(conn)


def _body() -> Any:
    return (
        read_json()
        if request.content_length or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        else {}
    )


# ------------------------------------------------------------------ rules


@doc("GET", "/api/rules", "Alert rules", tag="alerts")
@bp.get("/api/rules")
def get_rules() -> Response:
    with services().db.read() as conn:
        rules = manage.list_rules(conn)
    return json_response({"rules": rules, "count": len(rules)})


@doc(
    "POST",
    "/api/rules",
    "Create an alert rule (400 names the bad field)",
    body=Rule,
    tag="alerts",
    responses=(201, 400, 401),
)
@bp.post("/api/rules")
@require_key
def post_rule() -> Response:
    body, now = read_json(), services().now()
    return json_response(_write(lambda conn: manage.save_rule(conn, body, now=now)), 201)


def _rule_or_404(rule_id: int) -> dict[str, Any]:
    with services().db.read() as conn:
        rule = manage.get_rule(conn, rule_id)
    if rule is None:
        raise ApiError(404, f"rule {rule_id} not found")
    return rule


@doc("GET", "/api/rules/<id:rule_id>", "One alert rule", tag="alerts", responses=(200, 404))
@bp.get("/api/rules/<id:rule_id>")
def get_rule(rule_id: int) -> Response:
    return json_response(_rule_or_404(rule_id))


@doc("PUT", "/api/rules/<id:rule_id>", "Replace an alert rule", body=Rule, tag="alerts", responses=(200, 400, 401, 404))
@bp.put("/api/rules/<id:rule_id>")
@require_key
def put_rule(rule_id: int) -> Response:
    body, now = read_json(), services().now()
    return json_response(_write(lambda conn: manage.save_rule(conn, body, now=now, rule_id=rule_id)))


@doc(
    "PATCH",
    "/api/rules/<id:rule_id>",
    'Enable or disable a rule: {"enabled": true|false}',
    tag="alerts",
    responses=(200, 400, 401, 404),
)
@bp.patch("/api/rules/<id:rule_id>")
@require_key
def patch_rule(rule_id: int) -> Response:
    body = read_json()
    if not isinstance(body, dict) or set(body) != {"enabled"} or not isinstance(body["enabled"], bool):
        raise ApiError(
            400,
            'invalid field \'enabled\': send {"enabled": true} or {"enabled": false}',
            [{"field": "enabled", "message": "expected true or false"}],
        )
    now = services().now()
    rule = _write(lambda conn: manage.set_enabled(conn, rule_id, body["enabled"], now=now))
    if rule is None:
        raise ApiError(404, f"rule {rule_id} not found")
    return json_response(rule)


@doc("DELETE", "/api/rules/<id:rule_id>", "Delete a rule with its alerts", tag="alerts", responses=(200, 401, 404))
@bp.delete("/api/rules/<id:rule_id>")
@require_key
def delete_rule(rule_id: int) -> Response:
    if not _write(lambda conn: manage.delete_rule(conn, rule_id)):
        raise ApiError(404, f"rule {rule_id} not found")
    return json_response({"deleted": rule_id})


def _backtest(spec: Any) -> Response:
    svc = services()
    since, until = p.time_range(svc.now(), timedelta(days=1))
    raw_step = p.arg("step")
    step = p.parse_duration(raw_step, "step") if raw_step else None
    return json_response(manage.backtest(svc.alerts, spec, since, until, step))


@doc(
    "POST",
    "/api/rules/<id:rule_id>/backtest",
    "Run a saved rule over stored history: when it would have fired and resolved, and its metric per group at every step (series)",
    WINDOW,
    SINCE,
    UNTIL,
    STEP,
    tag="alerts",
    responses=(200, 400, 401, 404),
)
@bp.post("/api/rules/<id:rule_id>/backtest")
@require_key
def post_backtest(rule_id: int) -> Response:
    return _backtest(_rule_or_404(rule_id)["spec"])


@doc(
    "POST",
    "/api/rules/backtest",
    'Backtest an unsaved rule (the body, or {"rule": {...}}): transitions and series, as for a saved rule',
    WINDOW,
    SINCE,
    UNTIL,
    STEP,
    body=Rule,
    tag="alerts",
    responses=(200, 400, 401),
)
@bp.post("/api/rules/backtest")
@require_key
def post_backtest_unsaved() -> Response:
    body = read_json()
    if isinstance(body, dict) and set(body) == {"rule"}:
        body = body["rule"]
    return _backtest(body)


# ----------------------------------------------------------------- alerts


@doc(
    "POST",
    "/api/alerts/evaluate",
    "Evaluate every enabled rule now; a summary of transitions and notifications",
    tag="alerts",
    responses=(200, 401),
)
@bp.post("/api/alerts/evaluate")
@require_key
def post_evaluate() -> Response:
    return json_response(services().alerts.evaluate())


@doc(
    "GET",
    "/api/alerts/active",
    "Pending and firing alerts with rule, labels, value, since and acknowledgement",
    tag="alerts",
)
@bp.get("/api/alerts/active")
def get_active() -> Response:
    with services().db.read() as conn:
        rows = manage.active_alerts(conn)
    return json_response({"alerts": rows, "count": len(rows)})


@doc(
    "GET",
    "/api/alerts/history",
    "Alert instances, newest first (paged)",
    Param("rule_id", "integer", "Only this rule's alerts"),
    Param("state", enum=manage.STATES),
    SINCE,
    LIMIT,
    Param("offset", "integer", minimum=0),
    tag="alerts",
)
@bp.get("/api/alerts/history")
def get_history() -> Response:
    rule_id = p.int_arg("rule_id", -1, lo=1, hi=2**31) if p.arg("rule_id") else None
    state = p.choice_arg("state", "", ("", *manage.STATES)) or None
    since = p.time_arg("since")
    limit, offset = p.int_arg("limit", 100, lo=1), p.int_arg("offset", 0, lo=0, hi=10**9)
    with services().db.read() as conn:
        return json_response(
            manage.alert_history(conn, rule_id=rule_id, state=state, since=since, limit=limit, offset=offset)
        )


@doc("GET", "/api/alerts/<id:alert_id>", "One alert with its notifications", tag="alerts", responses=(200, 404))
@bp.get("/api/alerts/<id:alert_id>")
def get_alert(alert_id: int) -> Response:
    with services().db.read() as conn:
        alert = manage.get_alert(conn, alert_id)
    if alert is None:
        raise ApiError(404, f"alert {alert_id} not found")
    return json_response(alert)


@doc(
    "POST",
    "/api/alerts/<id:alert_id>/ack",
    'Acknowledge an alert (no more repeat notifications): {"by"?: name}',
    tag="alerts",
    responses=(200, 400, 401, 404),
)
@bp.post("/api/alerts/<id:alert_id>/ack")
@require_key
def post_ack(alert_id: int) -> Response:
    body = _body()
    by = body.get("by") if isinstance(body, dict) else None
    if by is not None and (not isinstance(by, str) or len(by) > 200):
        raise ApiError(
            400,
            "invalid field 'by': a name of at most 200 characters",
            [{"field": "by", "message": "expected a string"}],
        )
    now = services().now()
    alert = _write(lambda conn: manage.acknowledge(conn, alert_id, by, now=now))
    if alert is None:
        raise ApiError(404, f"alert {alert_id} not found")
    return json_response(alert)


# --------------------------------------------------------------- silences


@doc(
    "GET",
    "/api/silences",
    "Silences and maintenance windows",
    Param("active", "boolean", "Only those in force now"),
    tag="alerts",
)
@bp.get("/api/silences")
def get_silences() -> Response:
    svc = services()
    with svc.db.read() as conn:
        rows = manage.list_silences(conn, now=svc.now(), active_only=p.bool_arg("active"))
    return json_response({"silences": rows, "count": len(rows)})


@doc(
    "POST",
    "/api/silences",
    "Silence matching alerts between two instants (matchers: rule and/or labels)",
    body=SilenceIn,
    tag="alerts",
    responses=(201, 400, 401),
)
@bp.post("/api/silences")
@require_key
def post_silence() -> Response:
    body, now = read_json(), services().now()
    return json_response(_write(lambda conn: manage.add_silence(conn, body, now=now)), 201)


@doc("DELETE", "/api/silences/<id:silence_id>", "End a silence (delete it)", tag="alerts", responses=(200, 401, 404))
@bp.delete("/api/silences/<id:silence_id>")
@require_key
def delete_silence(silence_id: int) -> Response:
    if not _write(lambda conn: manage.delete_silence(conn, silence_id)):
        raise ApiError(404, f"silence {silence_id} not found")
    return json_response({"deleted": silence_id})
