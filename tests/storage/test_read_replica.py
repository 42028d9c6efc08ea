"""The read replica: with ``--db-read`` the heavy reads (Explore) are
answered by the PostgreSQL standby, reads that must be current by the
primary; a standby that is down sends them to the primary, and they come
back to it after the back-off (``tests/replica.py`` tells the two apart)."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from sqlalchemy import text

from data.db import Database, DatabaseError
from settings import SettingsError, load_settings
from tests.conftest import LiveServer, Replicated, wait_until
from tests.replica import explore_count, on_standby, post, replay_paused, system_cards

BACKOFF = 1.0  # seconds; the default (30 s) is too long for a test


@pytest.fixture(scope="module")
def served(replicated_postgres: Replicated, make_shared_server: Any) -> LiveServer:
    server: LiveServer = make_shared_server(replicated_postgres.primary_url, db_read=replicated_postgres.standby_url)
    server.services.db.replica_backoff = BACKOFF
    return server


def on_primary(server: LiveServer, source: str) -> int:
    with server.services.db.read() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events WHERE source = :s"), {"s": source}).scalar_one())


def test_the_fixture_streams_the_primary_to_a_standby_in_recovery(replicated_postgres: Replicated) -> None:
    assert replicated_postgres.standby.query("postgres", "SELECT pg_is_in_recovery()") is True
    assert replicated_postgres.standby.query(replicated_postgres.name, "SELECT count(*) FROM alembic_version") == 1


def test_explore_reads_come_from_the_standby(served: LiveServer, replicated_postgres: Replicated) -> None:
    post(served, "replica-a", 3)
    wait_until(lambda: on_standby(replicated_postgres, "replica-a") == 3, message="events on the standby")
    assert explore_count(served, "replica-a") == 3
    with replay_paused(replicated_postgres):
        post(served, "replica-a", 2)
        assert on_primary(served, "replica-a") == 5
        assert explore_count(served, "replica-a") == 3  # the standby has not replayed the last two
    wait_until(lambda: explore_count(served, "replica-a") == 5, message="the standby caught up")


def test_the_system_page_and_health_show_the_standby_and_its_lag(
    served: LiveServer, replicated_postgres: Replicated
) -> None:
    wait_until(lambda: served.services.db.replica_status().up, message="standby up")
    card = system_cards(served)["read replica"]
    assert re.fullmatch(r"lag \d+\.\d s", card), card
    health = served.get("/api/health").json()
    assert health["status"] == "healthy"
    assert health["read_replica"]["up"] is True
    assert health["read_replica"]["lag_seconds"] >= 0
    metrics = served.get("/metrics").text
    assert "pulseboard_read_replica_up 1.0" in metrics
    assert re.search(r"^pulseboard_read_replica_lag_seconds \d", metrics, re.M), metrics


def test_reads_go_to_the_primary_while_the_standby_is_down_and_back_after_the_backoff(
    served: LiveServer, replicated_postgres: Replicated
) -> None:
    post(served, "replica-b", 2)
    wait_until(lambda: on_standby(replicated_postgres, "replica-b") == 2, message="events on the standby")
    assert explore_count(served, "replica-b") == 2
    replicated_postgres.standby.stop()
    try:
        post(served, "replica-b", 1)
        assert explore_count(served, "replica-b") == 3  # answered by the primary
        assert system_cards(served)["read replica"] == "down: reads go to the primary"
        r = served.get("/api/health")
        assert r.status_code == 200 and r.json()["status"] == "healthy"
        assert r.json()["read_replica"]["up"] is False
        metrics = served.get("/metrics").text
        assert "pulseboard_read_replica_up 0.0" in metrics
        assert "pulseboard_read_replica_lag_seconds" not in metrics
    finally:
        replicated_postgres.standby.start()
    wait_until(lambda: on_standby(replicated_postgres, "replica-b") == 3, message="the standby caught up")
    wait_until(lambda: served.services.db.replica_status().up, message="the replica retried after the back-off")
    with replay_paused(replicated_postgres):
        post(served, "replica-b", 1)
        assert explore_count(served, "replica-b") == 3  # from the standby again: the fourth is not replayed
    wait_until(lambda: explore_count(served, "replica-b") == 4, message="the standby caught up")


def test_a_read_the_standby_loses_midway_runs_again_on_the_primary(
    served: LiveServer, replicated_postgres: Replicated
) -> None:
    db = served.services.db
    wait_until(lambda: db.replica_status().up, message="standby up")
    # Slow on the standby only; the primary answers at once.
    sql = text("SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN pg_sleep(30) END")
    answers: list[Any] = []
    reader = threading.Thread(target=lambda: answers.append(db.on_replica(lambda c: c.execute(sql).one()[0])))
    reader.start()
    standby = replicated_postgres.standby
    sleeping = "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()"
    pid = wait_until(lambda: standby.query(replicated_postgres.name, sleeping), message="the read on the standby")
    assert standby.query("postgres", f"SELECT pg_terminate_backend({pid})") is True
    reader.join(timeout=20)
    assert answers == [False]  # answered by the primary, not in recovery
    assert db.replica_status().up is False  # skipped until the back-off ends
    wait_until(lambda: db.replica_status().up, message="the replica retried after the back-off")


def test_without_a_replica_the_heavy_reads_use_the_primary(tmp_path: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        db.migrate()
        with db.replica() as conn:
            assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 0
        assert db.replica_status().configured is False
    finally:
        db.dispose()


def test_a_replica_needs_postgresql_on_both_sides(tmp_path: Any) -> None:
    with pytest.raises(SettingsError, match="db_read: a read replica needs a PostgreSQL --db"):
        load_settings({"db": str(tmp_path / "p.db"), "db_read": "postgresql+psycopg://h/pulse"}, environ={})
    with pytest.raises(SettingsError, match=r"db_read: 'sqlite:///x.db' is not a PostgreSQL URL"):
        load_settings({"db": "postgresql+psycopg://h/pulse", "db_read": "sqlite:///x.db"}, environ={})
    settings = load_settings({"db": "postgresql+psycopg://h/pulse"}, environ={"PULSE_DB_READ": "postgresql://s/p"})
    assert settings.db_read == "postgresql://s/p"
    with pytest.raises(DatabaseError, match="read replica needs a PostgreSQL primary"):
        Database(f"sqlite:///{tmp_path / 'p.db'}", read_url="postgresql+psycopg://h/pulse")
