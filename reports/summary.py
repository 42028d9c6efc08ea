"""What changed over a period, in sentences, each linked to the page it came
from: the opening of a scheduled report (and of its e-mail).

* totals: the events of the period against the period before it, and the
  largest sources with their change;
* alerts: how many fired and resolved, and the first few by name;
* script runs: how many, how many failed, the scripts that failed;
* regressions: steps in a script's duration that start in the period
  (:func:`reports.scripts.regressions`);
* anomalies: the firings of anomaly rules.

Pulseboard's own self-monitoring events are left out unless asked for, as
on the business pages.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection

from core.compute import LOCAL, Compute
from core.filters import Filters
from data import alerts as alert_store
from data import queries
from reports import scripts
from reports.overview import count

TOP_SOURCES = 5
LISTED = 5  # alerts and failing scripts named one by one
REGRESSION_HISTORY_DAYS = 30  # runs before the period that tell a step from noise


@dataclasses.dataclass(frozen=True)
class Sentence:
    """One line of a summary and the dashboard path it came from."""

    text: str
    link: str
    kind: str  # totals | source | alerts | runs | regression | anomalies


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(since: datetime, until: datetime, **params: str) -> str:
    return urlencode({"from": _iso(since), "to": _iso(until), **params}, safe=":,")


def change_text(now: float, before: float) -> str:
    """How ``now`` compares with ``before``, in words.

    >>> change_text(110, 100), change_text(90, 100), change_text(100, 100), change_text(5, 0), change_text(0, 0)
    ('10 % more than', '10 % fewer than', 'the same as', 'up from none in', 'as in')
    """
    if before == 0:
        return "up from none in" if now else "as in"
    pct = round(100.0 * (now - before) / before)
    if pct == 0:
        return "the same as"
    return f"{abs(pct)} % {'more' if pct > 0 else 'fewer'} than"


def _signed(now: float, before: float) -> str:
    if before == 0:
        return "new" if now else "±0 %"
    pct = round(100.0 * (now - before) / before)
    return f"{pct:+d} %" if pct else "±0 %"


def period_summary(
    conn: Connection, *, since: datetime, until: datetime, include_self: bool = False, executor: Compute = LOCAL
) -> list[Sentence]:
    """The summary of ``[since, until)`` against the period of the same length before it.
    ``executor`` runs the regression scan over every script (here, or on a Dask cluster)."""
    filters = Filters().business(include_self=include_self)
    before = since - (until - since)
    out = [_totals(conn, since, until, before, filters)]
    out += _sources(conn, since, until, before, filters)
    out += _alerts(conn, since, until)
    out += _runs(conn, since, until)
    out += _regressions(conn, since, until, executor)
    return out


def _totals(conn: Connection, since: datetime, until: datetime, before: datetime, filters: Filters) -> Sentence:
    total, previous = count(conn, since, until, filters), count(conn, before, since, filters)
    text = f"{total:,} events, {change_text(total, previous)} the period before ({previous:,})."
    return Sentence(text, f"/explore?{_span(since, until, group_by='source', bucket='none')}", "totals")


def _by_source(conn: Connection, since: datetime, until: datetime, filters: Filters) -> dict[str, int]:
    df = queries.rollup_totals(
        conn, since=since, until=until, filters=filters, group_by=("source",), columns=("count",)
    )
    return {str(r.source): int(r.count) for r in df.itertuples(index=False)} if len(df) else {}


def _sources(conn: Connection, since: datetime, until: datetime, before: datetime, filters: Filters) -> list[Sentence]:
    now, previous = _by_source(conn, since, until, filters), _by_source(conn, before, since, filters)
    largest = sorted(now, key=lambda s: (-now[s], s))[:TOP_SOURCES]
    return [
        Sentence(
            f"{source or '(none)'}: {now[source]:,} events ({_signed(now[source], previous.get(source, 0))}).",
            f"/explore?{_span(since, until, source=source)}",
            "source",
        )
        for source in largest
    ]


def _rule_names(conn: Connection) -> dict[int, dict[str, Any]]:
    return {int(r["id"]): r for r in alert_store.list_rules(conn)}


def _alerts(conn: Connection, since: datetime, until: datetime) -> list[Sentence]:
    started, _ = alert_store.alert_history(conn, since=since - timedelta(days=30), until=until, limit=10_000)
    rules = _rule_names(conn)
    fired = [a for a in started if a["fired_at"] is not None and since <= a["fired_at"] < until]
    resolved = [a for a in started if a["resolved_at"] is not None and since <= a["resolved_at"] < until]
    link = f"/alerts?{_span(since, until, tab='history')}"
    if not fired and not resolved:
        return [Sentence("No alert fired or resolved.", link, "alerts")]
    names = sorted({_name(rules, a) for a in fired})
    listed = ", ".join(names[:LISTED]) + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")
    text = f"{len(fired)} alert{'s' if len(fired) != 1 else ''} fired and {len(resolved)} resolved"
    out = [Sentence(text + (f": {listed}." if listed else "."), link, "alerts")]
    anomalies = [a for a in fired if _kind(rules, a) == "anomaly"]
    if anomalies:
        series = sorted({_name(rules, a) + _labels(a) for a in anomalies})
        out.append(
            Sentence(
                f"{len(anomalies)} anomal{'ies' if len(anomalies) != 1 else 'y'} flagged: {', '.join(series[:LISTED])}.",
                link,
                "anomalies",
            )
        )
    return out


def _name(rules: dict[int, dict[str, Any]], alert: dict[str, Any]) -> str:
    return str(alert.get("rule") or f"rule {alert['rule_id']}")


def _kind(rules: dict[int, dict[str, Any]], alert: dict[str, Any]) -> str:
    rule = rules.get(int(alert["rule_id"]))
    return str((rule or {}).get("spec", {}).get("kind", "")) if rule else ""


def _labels(alert: dict[str, Any]) -> str:
    labels = alert.get("labels") or {}
    return f" ({', '.join(f'{k}={v}' for k, v in sorted(labels.items()))})" if labels else ""


def _runs(conn: Connection, since: datetime, until: datetime) -> list[Sentence]:
    runs = queries.executions_frame(conn, since=since, until=until)
    link = f"/executions?{_span(since, until)}"
    if not len(runs):
        return [Sentence("No script ran.", link, "runs")]
    failed = runs[~runs["status"].isin(("success", "running"))]
    share = 100.0 * len(failed) / len(runs)
    text = f"{len(runs):,} script runs, {len(failed):,} failed ({share:.1f} %)."
    out = [Sentence(text, link, "runs")]
    if len(failed):
        per = failed.groupby("script").size().sort_values(ascending=False, kind="stable")
        totals = runs.groupby("script").size()
        for script, n in list(per.items())[:LISTED]:
            out.append(
                Sentence(
                    f"{script} failed {n} of {int(totals[script])} runs.",
                    f"/executions?{_span(since, until, script=str(script))}",
                    "runs",
                )
            )
    return out


def _regressions(conn: Connection, since: datetime, until: datetime, executor: Compute) -> list[Sentence]:
    days = (until - since).total_seconds() / 86400 + REGRESSION_HISTORY_DAYS
    ran = sorted(str(s) for s in queries.executions_frame(conn, since=since, until=until)["script"].unique())
    scan = scripts.regression_scan(
        conn, ran, name=scripts.DURATION, days=days, now=until, bounded=True, executor=executor
    )
    out = []
    for script, steps in scan.items():
        for step in steps:
            at = datetime.fromisoformat(str(step["start_ts"]))
            if step["kind"] != "regression" or not since <= at < until:
                continue
            pct = step["size_pct"]
            change = f"rose {pct:.0f} %" if pct is not None else "rose"
            out.append(
                Sentence(
                    f"{script}'s duration {change} ({_seconds(step['before'])} → {_seconds(step['after'])}).",
                    f"/executions/{step['execution_id']}",
                    "regression",
                )
            )
    return out


def _seconds(ms: float) -> str:
    """A duration for a sentence (ms below a second, else seconds or minutes).

    >>> _seconds(850), _seconds(41_000), _seconds(1_574_000)
    ('850 ms', '41 s', '26 min')
    """
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 120_000:
        return f"{ms / 1000:.0f} s"
    return f"{ms / 60_000:.0f} min"
