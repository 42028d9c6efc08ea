"""The job lease: one holder among the processes on a database (SQLite and
PostgreSQL), taken over when the holder lets go or its connection is gone;
the jobs that run once run only in the holder; processes starting together
on one database install the default rules once."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from app import create_app
from data.db import Database
from data.leases import JobLease
from jobs.scheduler import Jobs
from settings import load_settings


def test_one_holder_at_a_time_and_another_takes_over(migrated_db: Any) -> None:
    other = Database(migrated_db.url)  # another process's connections to the same database
    first, second = JobLease(migrated_db), JobLease(other)
    try:
        assert first.renew() is True
        assert second.renew() is False
        assert first.renew() is True and second.renew() is False  # renewals keep it where it is
        first.release()
        assert second.renew() is True and first.renew() is False
    finally:
        first.release()
        second.release()
        other.dispose()


def test_a_holder_whose_connection_dies_lets_the_lease_go(postgres: Any) -> None:
    db = Database(postgres.new_database())
    other = Database(db.url)
    first, second = JobLease(db), JobLease(other)
    try:
        assert first.renew() and not second.renew()
        # The server ends the holder's session (as when its process is killed or its host is cut off).
        pid = first._conn.info.backend_pid
        postgres.admin(f"SELECT pg_terminate_backend({pid}, 10000)")  # returns once the session has ended
        assert first.renew() is False  # it notices at its next renewal
        assert second.renew() is True
        assert first.renew() is False  # and does not take it back while the other holds it
    finally:
        first.release()
        second.release()
        db.dispose()
        other.dispose()


def test_only_the_holder_runs_the_jobs_that_run_once(tmp_path: Path) -> None:
    settings = load_settings({"db": str(tmp_path / "p.db"), "data_dir": str(tmp_path)}, environ={})
    apps = [create_app(settings), create_app(settings)]
    services = [app.server.extensions["pulseboard"] for app in apps]
    runs: list[str] = []
    try:
        jobs = [Jobs(svc) for svc in services]
        assert [j.lease.renew() for j in jobs] == [True, False]
        for name, j in zip("ab", jobs):
            j._once(lambda name=name: runs.append(name))()
        assert runs == ["a"]
        jobs[0].lease.release()
        assert jobs[1].lease.renew() is True
        for name, j in zip("ab", jobs):
            j._once(lambda name=name: runs.append(name))()
        assert runs == ["a", "b"]
    finally:
        for j in jobs:
            j.lease.release()
        for svc in services:
            svc.close()


def test_processes_starting_together_install_the_default_rules_once(postgres: Any) -> None:
    from threading import Barrier, Thread

    from alerts.engine import AlertEngine
    from data.alerts import list_rules
    from tests.conftest import ClockedServices

    url = postgres.new_database()  # migrated, no rules yet
    dbs = [Database(url) for _ in range(4)]
    engines = [AlertEngine(ClockedServices(db=db, at=datetime.now(timezone.utc))) for db in dbs]
    start, results, errors = Barrier(4), [], []

    def prepare(engine: Any) -> None:
        start.wait()
        try:
            results.append(engine.prepare()["defaults"])
        except Exception as exc:
            errors.append(exc)

    threads = [Thread(target=prepare, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == [] and sorted(results) == [0, 0, 0, 3]
        with dbs[0].read() as conn:
            assert sorted(r["origin"] for r in list_rules(conn)) == ["default"] * 3
    finally:
        for engine, db in zip(engines, dbs):
            engine.stop()
            db.dispose()
