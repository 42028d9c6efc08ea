"""The jobs that must run once run in one node of two, and the other takes
them over when that node is killed: an export schedule that is due runs
once; an alert pending when its node is killed (SIGKILL) is fired by the
other node within a minute, with one notification per target."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import update

from data.db import Database
from data.models import EXPORT_SCHEDULES
from tests.cluster import Cluster
from tests.conftest import wait_until
from tests.scale.checks import RULE, a_pending_alert_fires_once_after_its_node_is_killed, lease_holder


@pytest.fixture(scope="module")
def cluster(make_cluster: Any) -> Cluster:
    return make_cluster("--alert-interval", "1")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def db(cluster: Cluster) -> Any:
    database = Database(cluster.db_url)
    yield database
    database.dispose()


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


def test_a_pending_alert_fires_once_after_its_node_is_killed(cluster: Cluster, db: Any) -> None:
    _killed, survivor = a_pending_alert_fires_once_after_its_node_is_killed(cluster, db, RULE)
    # The survivor runs the exports now, once.
    schedule = make_due(cluster, db, "after the kill")
    wait_until(lambda: ran(cluster, schedule), timeout=45, message="the export on the survivor")
    files = export_files(cluster, schedule["slug"])
    assert len(files[cluster.nodes.index(survivor)]) == 1 and sum(map(len, files)) == 1, files
