"""Heavy analytics on a real two-process Dask cluster (loopback only) give
exactly what they give in-process: an anomaly scan over 200 series, an
anomaly rule grouped by 200 series (its evaluation and its backtest), the
regression scan over every script of a period's summary."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import distributed
import numpy as np
import pandas as pd
import pytest

from alerts.engine import AlertEngine
from alerts.measure import compute
from alerts.metrics import Reader
from alerts.rules import parse_rule
from analytics.anomalies import detect_anomalies, detect_many
from core.compute import LOCAL, Cluster, chunked, executor
from data import records
from data.db import Database
from data.ingest import event_row, ingest
from reports import scripts
from reports.summary import period_summary
from settings import SettingsError, load_settings
from tests.conftest import ClockedServices

T = TypeVar("T")
NOW = datetime(2026, 3, 1, 12, 0, 30, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
SERIES = 200
SPIKED = {f"ep{i:03d}" for i in range(0, SERIES, 17)}  # a spike in the newest complete minute
RULE = {
    "name": "spike",
    "kind": "anomaly",
    "metric": "avg",
    "filter": {"type": "order"},
    "group_by": ["entity"],
    "bucket": "1m",
    "history": "1h",
    "op": ">",
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        remote = Cluster(local.scheduler_address)
        yield remote
        remote.close()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """An hour and a half of orders from 200 endpoints, one a minute each, with
    a level and noise of its own; some spike at 11:59 and some at 11:50."""
    rng = np.random.default_rng(7)
    rows = []
    for i in range(SERIES):
        entity = f"ep{i:03d}"
        level, noise = 50.0 + i, 1.0 + i % 7
        for m in range(90):
            at = NOW - timedelta(minutes=90) + m * MIN
            value = level + noise * float(rng.normal())
            if (m == 89 and entity in SPIKED) or (m == 80 and i % 23 == 0):
                value += 40 * noise
            rows.append(event_row(at, "shop", "order", entity=entity, value=round(value, 3)))
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('dask') / 'pulse.db'}")
    database.migrate()
    ingest(database, rows)
    yield database
    database.dispose()


def on_workers(cluster: Cluster, name: str, work: Callable[[], T]) -> tuple[T, int]:
    """What ``work()`` returns, and how many tasks of the function ``name`` the workers ran meanwhile."""
    with distributed.get_task_stream(client=cluster.client()) as stream:
        result = work()
    return result, sum(1 for task in stream.data if str(task["key"]).startswith(name + "-"))


def test_the_cluster_maps_in_input_order_and_raises_what_the_function_raises(cluster: Cluster) -> None:
    assert cluster.map(math.sqrt, [16.0, 1.0, 9.0]) == [4.0, 1.0, 3.0]
    assert cluster.map(math.sqrt, []) == []
    with pytest.raises(ValueError, match="math domain error"):
        cluster.map(math.sqrt, [4.0, -1.0])


def test_an_unreachable_scheduler_computes_in_process() -> None:
    nowhere = Cluster("tcp://127.0.0.1:9", timeout=0.5)  # the discard port: nothing listens
    assert nowhere.map(abs, [-1, 2]) == [1, 2]
    assert nowhere.client() is None  # not tried again before the retry delay


def test_an_anomaly_scan_over_200_series_is_the_same_on_the_cluster(cluster: Cluster) -> None:
    rng = np.random.default_rng(3)
    ts = pd.date_range("2026-03-01", periods=60, freq="min", tz="UTC")
    frames = []
    for i in range(SERIES):
        values = 100.0 + i + rng.normal(0, 1 + i % 5, ts.size)
        values[40 + i % 15] += 30.0 * (1 + i % 5)
        frames.append(pd.DataFrame({"ts": ts, "value": values}))
    remote, tasks = on_workers(
        cluster, "_detect_chunk", lambda: detect_many(frames, executor=cluster, min_history=20, season=None)
    )
    assert tasks == len(chunked(frames, 5_000 // 60)) == 3  # whole series, about 5,000 points a task
    local = detect_many(frames, min_history=20, season=None)
    assert len(remote) == len(local) == SERIES
    for got, expected in zip(remote, local, strict=True):
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
    for expected, frame in zip(local[:10], frames[:10], strict=True):  # each is detect_anomalies' own answer
        pd.testing.assert_frame_equal(expected, detect_anomalies(frame, min_history=20, season=None), check_exact=True)
    assert sum(int(out["is_anomaly"].sum()) for out in local) >= SERIES // 2  # the spikes are found


def samples(db: Database, executor: Any) -> dict[Any, Any]:
    with db.read() as conn:
        return compute(Reader(conn, NOW, executor=executor), parse_rule(RULE))


def test_an_anomaly_rule_over_200_series_judges_the_same_on_the_cluster(db: Database, cluster: Cluster) -> None:
    remote, tasks = on_workers(cluster, "_feed_chunk", lambda: samples(db, cluster))
    assert tasks == 3  # 12,000 points to learn, in tasks of 5,000 (whole series)
    local = samples(db, LOCAL)
    assert remote == local
    assert len(local) == SERIES
    assert {key[0] for key, s in local.items() if s.flag} == SPIKED
    assert all(s.samples == 60 for s in local.values())


def test_a_routine_evaluation_scores_its_few_new_points_in_process(db: Database, cluster: Cluster) -> None:
    rule = parse_rule(RULE)
    memory: dict[Any, Any] = {}
    with db.read() as conn:
        _learned, tasks = on_workers(
            cluster, "_feed_chunk", lambda: compute(Reader(conn, NOW - MIN, memory=memory, executor=cluster), rule)
        )
        assert tasks == 3
        carried, tasks = on_workers(
            cluster, "_feed_chunk", lambda: compute(Reader(conn, NOW, memory=memory, executor=cluster), rule)
        )
    assert tasks == 0  # one new point per series: not worth a round trip
    fresh = samples(db, LOCAL)
    assert {k: (s.value, s.flag) for k, s in carried.items()} == {k: (s.value, s.flag) for k, s in fresh.items()}


def test_a_backtest_of_the_rule_is_the_same_on_the_cluster(db: Database, cluster: Cluster) -> None:
    rule = parse_rule(RULE)
    since = NOW - timedelta(minutes=20)
    remote, tasks = on_workers(
        cluster,
        "_feed_chunk",
        lambda: AlertEngine(ClockedServices(db, NOW), executor=cluster).backtest(rule, since, NOW, MIN),
    )
    assert tasks == 3  # the first step learns the hour; the next ones score a point per series here
    local = AlertEngine(ClockedServices(db, NOW)).backtest(rule, since, NOW, MIN)
    remote.pop("duration_ms"), local.pop("duration_ms")
    assert remote == local
    assert local["steps"] == 21 and local["series_total"] == SERIES
    fired = {t["labels"]["entity"] for t in local["transitions"] if t["to"] == "firing"}
    assert fired >= SPIKED


def test_the_setting_picks_the_executor() -> None:
    assert executor(load_settings({}, environ={}).dask_scheduler) is LOCAL
    settings = load_settings({}, environ={"PULSE_DASK_SCHEDULER": "tcp://10.0.0.5:8786"})
    assert settings.dask_scheduler == "tcp://10.0.0.5:8786"
    chosen = executor(settings.dask_scheduler)
    assert isinstance(chosen, Cluster) and chosen.address == "tcp://10.0.0.5:8786"
    assert chosen._client is None  # nothing connects before the first heavy computation


@pytest.mark.parametrize("raw", ["10.0.0.5", "tcp://10.0.0.5", "http://10.0.0.5:8786", "tcp://a b:8786"])
def test_a_bad_scheduler_address_is_refused_naming_the_flag(raw: str) -> None:
    with pytest.raises(SettingsError, match="^--dask-scheduler: .* is not a Dask scheduler address"):
        load_settings({"dask_scheduler": raw}, environ={})


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """40 runs of each of 30 scripts, one every 6 hours; every third script's
    duration steps up by 50 % from its 30th run, every fifth's down by 30 %."""
    rng = np.random.default_rng(5)
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('runs') / 'pulse.db'}")
    database.migrate()
    with database.write() as conn:
        for i in range(30):
            for r in range(40):
                at = NOW - timedelta(hours=6 * (40 - r))
                ms = 1000.0 * (1 + i % 4) * (1 + 0.03 * float(rng.normal()))
                if r >= 30 and i % 3 == 0:
                    ms *= 1.5
                elif r >= 30 and i % 5 == 0:
                    ms *= 0.7
                body = {"id": f"s{i}-{r}", "script": f"job{i:02d}.py", "started_at": at, "duration_ms": round(ms, 1)}
                records.record_execution(conn, body | {"exit_code": 0}, at + timedelta(seconds=ms / 1000))
    yield database
    database.dispose()


def test_the_regression_scan_is_the_same_on_the_cluster(runs: Database, cluster: Cluster) -> None:
    names = [f"job{i:02d}.py" for i in range(30)] + ["never-ran.py"]
    options: dict[str, Any] = {"name": scripts.DURATION, "days": 30, "now": NOW}
    with runs.read() as conn:
        remote, tasks = on_workers(
            cluster, "_fit_steps", lambda: scripts.regression_scan(conn, names, executor=cluster, **options)
        )
        local = scripts.regression_scan(conn, names, **options)
        one_by_one = {name: scripts.regressions(conn, script=name, **options) for name in names}
    assert tasks == 30  # one fit per script that ran
    assert remote == local == one_by_one
    kinds = {name: [step["kind"] for step in steps] for name, steps in local.items() if steps}
    assert kinds == {
        f"job{i:02d}.py": ["regression" if i % 3 == 0 else "improvement"] for i in range(30) if i % 3 == 0 or i % 5 == 0
    }


def test_a_periods_summary_is_the_same_on_the_cluster(runs: Database, cluster: Cluster) -> None:
    since = NOW - timedelta(days=3)
    with runs.read() as conn:
        remote = period_summary(conn, since=since, until=NOW, executor=cluster)
        local = period_summary(conn, since=since, until=NOW)
    assert remote == local
    assert sum(1 for s in local if s.kind == "regression") == 10  # every third script's step, all in the period


def test_a_pulseboard_with_the_setting_evaluates_on_the_cluster(db: Database, cluster: Cluster) -> None:
    from services import Services

    settings = load_settings({"dask_scheduler": cluster.address}, environ={})
    services = Services(settings, db, clock=lambda: NOW)
    try:
        assert isinstance(services.compute, Cluster) and services.alerts.executor is services.compute
        remote, tasks = on_workers(
            cluster, "_feed_chunk", lambda: services.alerts.evaluate(rules=[parse_rule(RULE)], dry_run=True)
        )
        local = AlertEngine(ClockedServices(db, NOW)).evaluate(rules=[parse_rule(RULE)], dry_run=True)
    finally:
        services.compute.close()
    assert tasks == 3
    for summary in (remote, local):
        summary.pop("compute_ms"), summary.pop("duration_ms")
    assert remote == local
    assert {t["labels"]["entity"] for t in local["transitions"]} == SPIKED
