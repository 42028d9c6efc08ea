"""Rules, alerts and silences as the API and the Alerts page handle them:
plain functions over a Connection (reads: ``db.read()``, writes:
``db.write()``), returning JSON-ready dicts (ISO timestamps)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection

from alerts.rules import Rule, RuleError, duration, parse_rule
from core.errors import NotFound
from core.schemas import field_errors
from data import alerts as store
from data import outbox

STATES = ("pending", "firing", "resolved", "normal")


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _iso(v) for k, v in row.items()}


# ------------------------------------------------------------------ rules


def rule_json(row: dict[str, Any]) -> dict[str, Any]:
    return _json({k: row[k] for k in ("id", "name", "enabled", "origin", "created_at", "updated_at")}) | {
        "spec": row["spec"]
    }


def list_rules(conn: Connection) -> list[dict[str, Any]]:
    return [rule_json(r) for r in store.list_rules(conn)]


def get_rule(conn: Connection, rule_id: int) -> dict[str, Any] | None:
    row = store.get_rule(conn, rule_id)
    return rule_json(row) if row else None


def save_rule(
    conn: Connection, spec: dict[str, Any] | Rule, *, now: datetime, rule_id: int | None = None, origin: str = "api"
) -> dict[str, Any]:
    """Create (``rule_id`` None) or replace a rule. Raises RuleError naming
    the bad field (``name`` when another rule has the name), NotFound for an
    unknown ``rule_id``."""
    rule = parse_rule(spec)
    other = store.get_rule_by_name(conn, rule.name)
    if other is not None and other["id"] != rule_id:
        raise RuleError("name", f"a rule named {rule.name!r} exists (id {other['id']})")
    if rule_id is None:
        rule_id = store.insert_rule(
            conn, name=rule.name, enabled=rule.enabled, origin=origin, spec=rule.spec(), now=now
        )
    elif not store.update_rule(
        conn, rule_id, now=now, name=rule.name, enabled=rule.enabled, origin=origin, spec=rule.spec()
    ):
        raise NotFound(f"rule {rule_id} not found")
    if not rule.enabled:
        store.close_open_alerts(conn, rule_id, now=now)
    row = store.get_rule(conn, rule_id)
    assert row is not None
    return rule_json(row)


def set_enabled(conn: Connection, rule_id: int, enabled: bool, *, now: datetime) -> dict[str, Any] | None:
    """Enable or disable a rule (disabling resolves its open alerts); None if unknown."""
    row = store.get_rule(conn, rule_id)
    if row is None:
        return None
    store.update_rule(conn, rule_id, now=now, enabled=enabled, spec=dict(row["spec"]) | {"enabled": enabled})
    if not enabled:  # a disabled rule's alerts end (without a notification): nothing evaluates them any more
        store.close_open_alerts(conn, rule_id, now=now)
    return get_rule(conn, rule_id)


def delete_rule(conn: Connection, rule_id: int) -> bool:
    return store.delete_rule(conn, rule_id)


# ----------------------------------------------------------------- alerts


def alert_json(row: dict[str, Any]) -> dict[str, Any]:
    out = _json(row)
    out["acknowledged"] = row.get("acknowledged_at") is not None
    return out


def active_alerts(conn: Connection) -> list[dict[str, Any]]:
    """Pending and firing alerts, newest first: rule, labels, value, since, ack."""
    return [alert_json(r) for r in store.active_alerts(conn)]


def alert_history(
    conn: Connection,
    *,
    rule_id: int | None = None,
    state: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    rows, total = store.alert_history(
        conn, rule_id=rule_id, state=state, since=since, until=until, limit=limit, offset=offset
    )
    return {"alerts": [alert_json(r) for r in rows], "total": total, "limit": limit, "offset": offset}


def get_alert(conn: Connection, alert_id: int) -> dict[str, Any] | None:
    """One alert with every notification sent (or tried) for it."""
    row = store.get_alert(conn, alert_id)
    if row is None:
        return None
    return alert_json(row) | {"notifications": [_json(n) for n in store.notifications(conn, alert_id)]}


def acknowledge(conn: Connection, alert_id: int, by: str | None, *, now: datetime) -> dict[str, Any] | None:
    """Acknowledge an alert (stops its repeat notifications); None if unknown."""
    if not store.acknowledge(conn, alert_id, by=by, now=now):
        return None
    return get_alert(conn, alert_id)


def monitor_shape(conn: Connection) -> list[dict[str, Any]]:
    """Firing alerts as the device monitor lists them: ``id`` (the
    rule name, with the group's labels when grouped), ``level``, ``title``,
    ``message``, ``timestamp`` (when it fired)."""
    out = []
    specs = {r["id"]: r["spec"] for r in store.list_rules(conn)}
    for row in store.active_alerts(conn, states=("firing",)):
        rule = row["rule"]
        spec = specs.get(row["rule_id"], {})
        labels = row["labels"] or {}
        group = ",".join(f"{k}={v}" for k, v in labels.items() if k not in spec.get("labels", {}))
        title = spec.get("description") or rule
        out.append(
            {
                "id": f"{rule}:{group}" if group else rule,
                "level": row["severity"],
                "title": title,
                "message": row["summary"] or "",
                "timestamp": _iso(row["fired_at"] or row["started_at"]),
                "alert_id": row["id"],
            }
        )
    return out


# --------------------------------------------------------------- silences


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    matchers: Annotated[
        dict[Annotated[str, Field(min_length=1, max_length=100)], Annotated[str, Field(max_length=200)]],
        Field(min_length=1, max_length=20),
    ]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    duration: str | None = None  # instead of ends_at: "2h"
    comment: Annotated[str, Field(max_length=2000)] | None = None
    created_by: Annotated[str, Field(max_length=200)] | None = None


def silence_json(row: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    out = _json(row)
    if now is not None:
        out["active"] = row["starts_at"] <= now < row["ends_at"]
    return out


def list_silences(conn: Connection, *, now: datetime, active_only: bool = False) -> list[dict[str, Any]]:
    rows = store.list_silences(conn, active_at=now if active_only else None)
    return [silence_json(r, now) for r in rows]


def add_silence(conn: Connection, spec: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """A silence (or maintenance window): ``{matchers: {rule?: name, <label>:
    value...}, starts_at?, ends_at | duration, comment?, created_by?}``.
    Raises RuleError naming the bad field."""
    if not isinstance(spec, dict):
        raise RuleError("(body)", "a silence is an object")
    try:
        data = SilenceIn.model_validate(spec)
    except ValidationError as exc:
        first = field_errors(exc)[0]
        raise RuleError(first["field"], first["message"]) from None
    starts = _utc(data.starts_at) if data.starts_at else now
    if data.ends_at is not None and data.duration is not None:
        raise RuleError("duration", "give ends_at or duration, not both")
    if data.ends_at is not None:
        ends = _utc(data.ends_at)
    elif data.duration is not None:
        try:
            ends = starts + duration(data.duration)
        except ValueError as exc:
            raise RuleError("duration", str(exc)) from None
    else:
        raise RuleError("ends_at", "give ends_at or duration")
    if ends <= starts:
        raise RuleError("ends_at", "must be after starts_at")
    if ends - starts > timedelta(days=400):
        raise RuleError("ends_at", "a silence lasts at most 400 days")
    silence_id = store.insert_silence(
        conn,
        matchers=data.matchers,
        starts_at=starts,
        ends_at=ends,
        comment=data.comment,
        created_by=data.created_by,
        now=now,
    )
    row = store.get_silence(conn, silence_id)
    assert row is not None
    return silence_json(row, now)


def delete_silence(conn: Connection, silence_id: int) -> bool:
    return store.delete_silence(conn, silence_id)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


# --------------------------------------------------------------- backtest


def backtest(
    engine: Any,
    spec: dict[str, Any] | Rule,
    since: datetime,
    until: datetime,
    step: timedelta | None = None,
    *,
    stepwise: bool = False,
) -> dict[str, Any]:
    """Run a rule (saved or not) over history; see AlertEngine.backtest. The
    answer holds the transitions and, in ``series``, the rule's metric per
    group at every step (``[{labels, ts: [...], values: [...]}]``, the groups
    that matched first, at most 50 of ``series_total``)."""
    return engine.backtest(parse_rule(spec), since, until, step, stepwise=stepwise)  # type: ignore[no-any-return]


def mail_outbox(conn: Connection, *, limit: int = 100, key_prefix: str | None = None) -> dict[str, Any]:
    """The newest e-mail of the outbox (without bodies; times as ISO strings;
    those whose dedupe key starts with ``key_prefix`` if given) and how many
    are in each state."""
    messages = [
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in m.items()}
        for m in outbox.recent(conn, limit=limit, key_prefix=key_prefix)
    ]
    return {"messages": messages, "counts": outbox.counts(conn)}
