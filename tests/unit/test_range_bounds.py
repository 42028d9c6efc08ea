"""What the pages read for the time bar's range, over a real database (SQLite
and PostgreSQL): sessions and alerts started in it, runs' statistics that end
where the range ends."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from alerts import manage
from data import alerts as store
from data import queries, records
from data.db import Database
from reports import scripts

DAY = timedelta(days=1)
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


@pytest.fixture
def db(migrated_db: Database) -> Database:
    return migrated_db


def test_sessions_are_listed_by_when_they_started(db: Database) -> None:
    with db.write() as conn:
        for i in range(4):
            records.start_session(
                conn, session_id=f"s{i}", source="tool", user=None, started_at=T0 + i * DAY, attrs=None
            )
    with db.read() as conn:
        shown = queries.list_sessions(conn, since=T0 + DAY, until=T0 + 3 * DAY)
        everything = queries.list_sessions(conn)
    assert [s["id"] for s in shown] == ["s2", "s1"]
    assert len(everything) == 4


def test_the_alert_history_holds_the_alerts_started_in_the_range(db: Database) -> None:
    with db.write() as conn:
        rule = store.insert_rule(conn, name="r", enabled=True, origin="user", spec={}, now=T0)
        for i in range(4):
            store.insert_alert(
                conn,
                {
                    "rule_id": rule,
                    "fingerprint": f"f{i}",
                    "severity": "warning",
                    "state": "resolved",
                    "started_at": T0 + i * DAY,
                },
            )
    with db.read() as conn:
        page = manage.alert_history(conn, since=T0 + DAY, until=T0 + 3 * DAY)
    assert page["total"] == 2
    assert [a["started_at"][:10] for a in page["alerts"]] == ["2026-11-03", "2026-11-02"]


def test_a_runs_statistics_stop_at_the_end_of_the_range(db: Database) -> None:
    with db.write() as conn:
        for i in range(6):
            body = {"id": f"r{i}", "script": "etl.py", "started_at": T0 + i * DAY, "duration_ms": 1000.0 * (i + 1)}
            records.record_execution(conn, body | {"exit_code": 0, "metrics": {"rows": float(i)}}, T0 + 10 * DAY)
    end = T0 + 3 * DAY  # runs r0, r1, r2 started before it
    with db.read() as conn:
        bounded = scripts.aggregated(conn, script="etl.py", days=30, now=end, bounded=True)
        unbounded = scripts.aggregated(conn, script="etl.py", days=30, now=end)
        points = scripts.history(conn, script="etl.py", name="rows", days=30, now=end, bounded=True)
    assert bounded[scripts.DURATION]["count"] == 3 and bounded["rows"]["max"] == 2.0
    assert unbounded[scripts.DURATION]["count"] == 6  # the API's reading: everything since
    assert [p["value"] for p in points] == [0.0, 1.0, 2.0]
