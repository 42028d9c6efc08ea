"""The summary that opens a report, over a real database (SQLite and
PostgreSQL): totals against the period before, sources, alerts, runs and a
duration regression, each sentence linked to where it came from."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from data import alerts as store
from data import records
from data.db import Database
from data.ingest import event_row, ingest
from data.models import EVENTS, to_micros
from reports.summary import period_summary

T0 = datetime(2026, 11, 10, tzinfo=timezone.utc)  # the period: T0 .. T0 + 7 days
WEEK = timedelta(days=7)


@pytest.fixture
def db(migrated_db: Database) -> Database:
    rows = []
    for day in range(14):  # the week before the period, then the period
        at = T0 - WEEK + timedelta(days=day, hours=12)
        before = day < 7
        rows += [event_row(at, "payments", "payment") for _ in range(10 if before else 12)]
        rows += [event_row(at, "scanner", "scan") for _ in range(5 if before else 4)]
        rows += [event_row(at, "pulseboard", "request") for _ in range(50)]  # self-monitoring: left out
    ingest(migrated_db, rows)
    with migrated_db.write() as conn:
        for i in range(30):  # etl.py: 40 s a run for 20 runs, then 60 s from the 21st (inside the period)
            at = T0 - timedelta(days=10) + timedelta(hours=12 * i)
            body = {"id": f"etl-{i}", "script": "etl.py", "started_at": at, "duration_ms": 40_000.0 + 100 * (i % 3)}
            if i >= 20:
                body["duration_ms"] = 60_000.0 + 100 * (i % 3)
            records.record_execution(conn, body | {"exit_code": 1 if i == 25 else 0}, at + timedelta(minutes=2))
        rule = store.insert_rule(
            conn, name="errors high", enabled=True, origin="user", spec={"kind": "threshold"}, now=T0
        )
        odd = store.insert_rule(conn, name="odd traffic", enabled=True, origin="user", spec={"kind": "anomaly"}, now=T0)
        for rule_id, fp, fired, resolved in (
            (rule, "a", T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1)),
            (rule, "b", T0 - timedelta(days=2), None),  # fired before the period: not counted
            (odd, "c", T0 + timedelta(days=3), None),
        ):
            store.insert_alert(
                conn,
                {
                    "rule_id": rule_id,
                    "fingerprint": fp,
                    "severity": "warning",
                    "state": "resolved" if resolved else "firing",
                    "started_at": fired - timedelta(minutes=5),
                    "fired_at": fired,
                    "resolved_at": resolved,
                    "labels": {"source": "payments"} if rule_id == odd else {},
                },
            )
    return migrated_db


def test_the_summary_says_what_changed_and_links_each_line(db: Database) -> None:
    with db.read() as conn:
        summary = period_summary(conn, since=T0, until=T0 + WEEK)
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for s in summary:
        by_kind.setdefault(s.kind, []).append((s.text, s.link))
    span = "from=2026-11-10T00:00:00Z&to=2026-11-17T00:00:00Z"
    # Counted here straight from the events table, self-monitoring left out.
    now, before = raw_counts(db, T0, T0 + WEEK), raw_counts(db, T0 - WEEK, T0)
    assert now["payments"] == 84 and before["payments"] == 70 and "pulseboard" not in now
    total, previous = sum(now.values()), sum(before.values())
    pct = round(100 * (total - previous) / previous)
    assert by_kind["totals"] == [
        (
            f"{total} events, {abs(pct)} % {'more' if pct > 0 else 'fewer'} than the period before ({previous}).",
            f"/explore?{span}&group_by=source&bucket=none",
        )
    ]
    assert by_kind["source"][:2] == [
        ("payments: 84 events (+20 %).", f"/explore?{span}&source=payments"),
        ("scanner: 28 events (-20 %).", f"/explore?{span}&source=scanner"),
    ]
    assert len(by_kind["source"]) == len(now)
    assert by_kind["alerts"] == [
        ("2 alerts fired and 1 resolved: errors high, odd traffic.", f"/alerts?{span}&tab=history")
    ]
    assert by_kind["anomalies"] == [
        ("1 anomaly flagged: odd traffic (source=payments).", f"/alerts?{span}&tab=history")
    ]
    runs = [t for t, _ in by_kind["runs"]]
    assert runs == ["10 script runs, 1 failed (10.0 %).", "etl.py failed 1 of 10 runs."]
    ((text, link),) = by_kind["regression"]
    assert text == "etl.py's duration rose 50 % (40 s → 60 s)."
    assert link == "/executions/etl-20"


def raw_counts(db: Database, since: datetime, until: datetime) -> dict[str, int]:
    with db.read() as conn:
        rows = conn.execute(
            select(EVENTS.c.source, func.count())
            .where(EVENTS.c.ts >= to_micros(since), EVENTS.c.ts < to_micros(until), EVENTS.c.source != "pulseboard")
            .group_by(EVENTS.c.source)
        ).all()
    return {str(source): int(n) for source, n in rows}


def test_a_quiet_period_says_so(migrated_db: Database) -> None:
    with migrated_db.read() as conn:
        summary = period_summary(conn, since=T0, until=T0 + WEEK)
    assert [s.text for s in summary] == [
        "0 events, as in the period before (0).",
        "No alert fired or resolved.",
        "No script ran.",
    ]
