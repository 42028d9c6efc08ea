"""The jobs that must run once run in one node of two, and the other takes
them over when that node is killed: an export schedule that is due runs
once; an alert pending when its node is killed (SIGKILL) is fired by the
other node within a minute, with one notification per target."""

from __future__ import annotations

import signal
import socket
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, update

from data.db import Database
from data.models import ALERT_NOTIFICATIONS, ALERTS, EXPORT_SCHEDULES
from tests.cluster import Cluster
from tests.conftest import ProcessServer, wait_until

RULE = {
    "name": "cluster-orders",
    "filter": {"type": "order"},
    "group_by": [],
    "window": "10m",
    "threshold": 3,
    "for": "10s",
    "severity": "error",
}


@pytest.fixture(scope="module")
def cluster(make_cluster: Any) -> Cluster:
    return make_cluster("--alert-interval", "1")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def db(cluster: Cluster) -> Any:
    database = Database(cluster.db_url)
    yield database
    database.dispose()


def holds_lease(node: ProcessServer) -> bool:
    text = requests.get(node.url + "/metrics", timeout=10).text
    return any(
        s.name == "pulseboard_job_lease" and s.value == 1
        for family in text_string_to_metric_families(text)
        for s in family.samples
    )


def lease_holder(cluster: Cluster) -> ProcessServer:
    alive = [n for n in cluster.nodes if n.proc is not None and n.proc.poll() is None]
    holders = wait_until(lambda: [n for n in alive if holds_lease(n)], timeout=30, message="a lease holder")
    assert len(holders) == 1, "more than one node runs the jobs"
    return holders[0]  # type: ignore[no-any-return]


def export_files(cluster: Cluster, slug: str) -> list[list[str]]:
    """The CSV files of a schedule in each node's data directory."""
    folders = [cluster.data_root / f"node{i}" / "exports" / slug for i in range(len(cluster.nodes))]
    return [sorted(p.name for p in folder.glob("*.csv")) if folder.is_dir() else [] for folder in folders]


def make_due(cluster: Cluster, db: Any, name: str) -> dict[str, Any]:
    """A schedule that is due now (made through nginx, then moved back in the database)."""
    r = cluster.post(
        "/api/exports/schedules", json={"name": name, "query": "window=1h&type=order", "interval_seconds": 3600}
    )
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    with db.write() as conn:
        past = datetime.now(timezone.utc) - timedelta(seconds=1)
        conn.execute(update(EXPORT_SCHEDULES).where(EXPORT_SCHEDULES.c.id == made["id"]).values(next_run_at=past))
    return made


def ran(cluster: Cluster, schedule: dict[str, Any]) -> bool:
    body = cluster.get(f"/api/exports/schedules/{schedule['id']}").json()
    return body["last_run_at"] is not None and body["last_error"] is None


def test_a_due_export_schedule_runs_once_in_the_lease_holder(cluster: Cluster, db: Any) -> None:
    holder = lease_holder(cluster)
    schedule = make_due(cluster, db, "cluster export")
    wait_until(lambda: ran(cluster, schedule), timeout=45, message="the scheduled export")
    files = export_files(cluster, schedule["slug"])
    index = cluster.nodes.index(holder)
    assert len(files[index]) == 1 and files[1 - index] == [], files
    # Its next run is an interval away, and the lease stayed where it was.
    body = cluster.get(f"/api/exports/schedules/{schedule['id']}").json()
    assert datetime.fromisoformat(body["next_run_at"]) > datetime.now(timezone.utc) + timedelta(minutes=55)
    assert holder is lease_holder(cluster)


def notifications(db: Any, rule_id: int, kind: str) -> dict[str, int]:
    """How many notifications of ``kind`` the rule's alerts have had, per target."""
    with db.read() as conn:
        rows = conn.execute(
            select(ALERT_NOTIFICATIONS.c.target, func.count())
            .join(ALERTS, ALERTS.c.id == ALERT_NOTIFICATIONS.c.alert_id)
            .where(ALERTS.c.rule_id == rule_id, ALERT_NOTIFICATIONS.c.kind == kind)
            .group_by(ALERT_NOTIFICATIONS.c.target)
        ).all()
    return {target: int(n) for target, n in rows}


def alert_rows(db: Any, rule_id: int) -> list[dict[str, Any]]:
    """The rule's alerts as stored."""
    columns = (ALERTS.c.state, ALERTS.c.fired_at, ALERTS.c.last_eval_at)
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(*columns).where(ALERTS.c.rule_id == rule_id))]


def states(db: Any, rule_id: int) -> list[str]:
    return [a["state"] for a in alert_rows(db, rule_id)]


def refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_a_pending_alert_fires_once_after_its_node_is_killed(cluster: Cluster, db: Any) -> None:
    r = cluster.post("/api/rules", json=RULE)
    assert r.status_code == 201, r.text
    rule = r.json()
    assert cluster.post("/api/events", json=[{"type": "order", "source": "shop"}] * 5).status_code == 201
    wait_until(lambda: states(db, rule["id"]) == ["pending"], timeout=30, message="a pending alert")
    holder = lease_holder(cluster)
    holder.stop(signal.SIGKILL)
    assert holder.proc is not None and holder.proc.returncode == -signal.SIGKILL
    # Killed while pending: nothing fired yet.
    assert states(db, rule["id"]) == ["pending"] and notifications(db, rule["id"], "firing") == {}
    (survivor,) = (n for n in cluster.nodes if n is not holder)
    assert lease_holder(cluster) is survivor
    # Through nginx: once the killed node's worker is gone too, nginx skips it (connection refused).
    wait_until(lambda: refuses(holder.port), message="the killed node's port closed")
    schedule = make_due(cluster, db, "after the kill")
    wait_until(lambda: states(db, rule["id"]) == ["firing"], timeout=60, message="the alert firing")
    # A few more evaluations by the survivor, then: one alert, one firing notice per target.
    fired_at = alert_rows(db, rule["id"])[0]["fired_at"]
    wait_until(
        lambda: alert_rows(db, rule["id"])[0]["last_eval_at"] >= fired_at + timedelta(seconds=3),
        message="more evaluations",
    )
    assert states(db, rule["id"]) == ["firing"]
    sent = notifications(db, rule["id"], "firing")
    assert [t["type"] for t in rule["spec"]["targets"]] == ["live", "log"]  # the default targets
    assert sent == {"live": 1, "log": 1}
    active = cluster.get("/api/alerts/active").json()["alerts"]
    assert [a["state"] for a in active if a["rule"] == RULE["name"]] == ["firing"], active
    # The survivor runs the exports now, once.
    wait_until(lambda: ran(cluster, schedule), timeout=45, message="the export on the survivor")
    files = export_files(cluster, schedule["slug"])
    assert len(files[cluster.nodes.index(survivor)]) == 1 and sum(map(len, files)) == 1, files
