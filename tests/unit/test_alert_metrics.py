"""Each metric kind of an alert rule, computed against a real database
(rollups, histograms, raw events, executions)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from alerts.measure import compute
from alerts.metrics import Reader, Sample, labels_of, matches, uses_rollups
from alerts.rules import parse_rule
from analytics.histogram import RELATIVE_ERROR
from data import records
from data.db import Database
from data.ingest import event_row, ingest
from tests.conftest import migrated

NOW = datetime(2026, 3, 1, 12, 0, 30, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)


def ev(ago: timedelta, type_: str = "request", **fields: Any) -> dict[str, Any]:
    return event_row(NOW - ago, fields.pop("source", "app"), type_, **fields)


@pytest.fixture
def db(tmp_path: Any) -> Iterator[Database]:
    with migrated(f"sqlite:///{tmp_path / 'pulse.db'}") as database:
        yield database


@pytest.fixture
def any_db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    database.migrate()
    yield database
    database.dispose()


def metric(db: Database, spec: dict[str, Any], now: datetime = NOW) -> dict[tuple[str, ...], Sample]:
    with db.read() as conn:
        return compute(Reader(conn, now), parse_rule({"name": "r", **spec}))


def values(result: dict[tuple[str, ...], Sample]) -> dict[tuple[str, ...], float | None]:
    return {k: (None if s.value is None else round(s.value, 6)) for k, s in result.items()}


# Two endpoints over the last 5 minutes, one older event outside the window.
REQUESTS = [
    ev(1 * MIN, entity="/a", status="ok", value=10.0, duration_ms=100.0, user="ann"),
    ev(2 * MIN, entity="/a", status="ok", value=20.0, duration_ms=200.0, user="bob"),
    ev(3 * MIN, entity="/a", status="error", value=30.0, duration_ms=400.0, user="ann"),
    ev(1 * MIN, entity="/b", status="ok", value=5.0, duration_ms=50.0, user="cy"),
    ev(30 * MIN, entity="/b", status="error", value=1000.0, duration_ms=9000.0, user="dee"),  # outside 5m
    ev(1 * MIN, type_="other", entity="/a", value=99.0),
]


def test_rollup_metrics_per_group_over_the_window(any_db: Database) -> None:
    ingest(any_db, REQUESTS)
    base = {"filter": {"type": "request"}, "group_by": ["entity"]}
    assert values(metric(any_db, base | {"metric": "count"})) == {("/a",): 3, ("/b",): 1}
    assert values(metric(any_db, base | {"metric": "sum"})) == {("/a",): 60, ("/b",): 5}
    assert values(metric(any_db, base | {"metric": "avg"})) == {("/a",): 20, ("/b",): 5}
    assert values(metric(any_db, base | {"metric": "min", "field": "duration_ms"})) == {("/a",): 100, ("/b",): 50}
    assert values(metric(any_db, base | {"metric": "max", "field": "duration_ms"})) == {("/a",): 400, ("/b",): 50}
    assert values(metric(any_db, base | {"metric": "success_rate"})) == {("/a",): round(200 / 3, 6), ("/b",): 100}
    assert values(metric(any_db, base | {"metric": "failures"})) == {("/a",): 1, ("/b",): 0}
    # 5 minutes of rollups (12:00:30 - 5m = 11:55:30 -> from 11:55) hold 3 + 1 requests.
    rate = metric(any_db, {"filter": {"type": "request"}, "metric": "rate"})
    assert rate[()].value == pytest.approx(4 / 5.0, rel=1e-6) and rate[()].samples == 4
    assert values(metric(any_db, {"filter": {"type": "request"}, "window": "1h"})) == {(): 5}


def test_percentiles_of_durations_come_from_the_histograms(db: Database) -> None:
    ingest(db, [ev(MIN, duration_ms=float(ms)) for ms in range(1, 101)])
    result = metric(db, {"metric": "p95", "field": "duration_ms"})
    assert result[()].samples == 100
    assert result[()].value == pytest.approx(95.0, rel=RELATIVE_ERROR)
    p50 = metric(db, {"metric": "p50", "field": "duration_ms"})[()].value
    assert p50 == pytest.approx(50.0, rel=RELATIVE_ERROR)


def test_percentiles_of_values_are_exact_from_raw_events(db: Database) -> None:
    ingest(db, [ev(MIN, value=float(v)) for v in range(1, 101)])
    rule = parse_rule({"name": "r", "metric": "p90", "field": "value"})
    assert not uses_rollups(rule)
    assert metric(db, {"metric": "p90"})[()].value == pytest.approx(90.1)


def test_unique_users_and_attrs_filters_read_raw_events(db: Database) -> None:
    ingest(
        db,
        REQUESTS
        + [
            ev(MIN, entity="/a", user="ann", attrs={"plan": "pro"}),
            ev(MIN, entity="/b", user="eve", attrs={"plan": "free"}),
        ],
    )
    assert values(metric(db, {"metric": "unique_users", "filter": {"type": "request"}, "group_by": ["entity"]})) == {
        ("/a",): 2,
        ("/b",): 2,
    }
    assert values(metric(db, {"filter": {"attrs": {"plan": "pro"}}})) == {(): 1}
    assert values(metric(db, {"filter": {"type": "request"}, "group_by": ["user"]})) == {
        ("ann",): 3,
        ("bob",): 1,
        ("cy",): 1,
        ("eve",): 1,
    }


def test_latest_is_the_newest_gauge_value_per_group(any_db: Database) -> None:
    ingest(
        any_db,
        [
            ev(10 * MIN, "queue_size", source="door", value=70.0),
            ev(2 * MIN, "queue_size", source="door", value=12.0),
            ev(3 * MIN, "queue_size", source="gate", value=55.0),
            ev(1 * MIN, "queue_size", source="gate"),  # no value: skipped
            ev(2 * MIN, "other", source="gate", value=1.0),
        ],
    )
    assert values(metric(any_db, {"metric": "latest", "filter": {"type": "queue_size"}, "window": "1h"})) == {(): 12}
    grouped = metric(
        any_db, {"metric": "latest", "filter": {"type": "queue_size"}, "window": "1h", "group_by": ["source"]}
    )
    assert values(grouped) == {("door",): 12, ("gate",): 55}
    assert (
        values(metric(any_db, {"metric": "latest", "filter": {"type": "queue_size"}, "window": "90s"})) == {}
    )  # nothing that recent


def test_latest_at_an_earlier_time_ignores_later_values(any_db: Database) -> None:
    """As a backtest sees it: the gauge's value then, though newer hours hold values too."""
    ingest(any_db, [ev(5 * 60 * MIN, "queue_size", value=80.0), ev(2 * MIN, "queue_size", value=3.0)])
    then = NOW - 4 * 60 * MIN
    assert values(metric(any_db, {"metric": "latest", "filter": {"type": "queue_size"}, "window": "1d"}, now=then)) == {
        (): 80
    }
    assert values(metric(any_db, {"metric": "latest", "filter": {"type": "queue_size"}, "window": "1d"})) == {(): 3}


def test_min_samples_and_a_samples_filter_gate_the_condition(db: Database) -> None:
    ingest(db, [ev(MIN, "sync", status="failed")] * 3 + [ev(MIN, "scan", status="ok")] * 12)
    rule = parse_rule(
        {
            "name": "r",
            "metric": "success_rate",
            "filter": {"type": "sync"},
            "op": "<",
            "threshold": 80,
            "min_samples": 11,
        }
    )
    with db.read() as conn:
        few = compute(Reader(conn, NOW), rule)[()]
        assert few.value == 0.0 and few.samples == 3 and not matches(rule, few)
        with_scans = rule.model_copy(
            update={"samples_filter": parse_rule({"name": "s", "filter": {"type": "scan"}}).filter}
        )
        counted = compute(Reader(conn, NOW), with_scans)[()]
    assert counted.samples == 12 and matches(with_scans, counted)


def test_absence_is_zero_for_a_silent_source_and_each_known_group(db: Database) -> None:
    ingest(db, [ev(2 * MIN, "heartbeat", source="a"), ev(3 * 60 * MIN, "heartbeat", source="b")])
    rule = {"kind": "absence", "filter": {"type": "heartbeat"}, "window": "10m"}
    assert values(metric(db, rule)) == {(): 1}
    assert values(metric(db, rule | {"filter": {"type": "nothing"}})) == {(): 0}
    grouped = metric(db, rule | {"group_by": ["source"], "history": "1d"})
    assert values(grouped) == {("a",): 1, ("b",): 0}  # b was seen in the last day, not in the last 10 minutes
    spec = parse_rule({"name": "r", **rule})
    assert matches(spec, grouped[("b",)]) and not matches(spec, grouped[("a",)])


def test_anomaly_flags_a_spike_in_the_newest_complete_bucket(db: Database) -> None:
    steady = [ev(m * MIN + 10 * timedelta(seconds=1), "order") for m in range(2, 60) for _ in range(5 + m % 2)]
    spike = [ev(MIN - timedelta(seconds=20), "order")] * 60  # 11:59:50: the newest complete minute (now is 12:00:30)
    ingest(db, steady + spike)
    spec = {"kind": "anomaly", "filter": {"type": "order"}, "bucket": "1m", "history": "1h", "op": ">"}
    result = metric(db, spec)
    assert result[()].value == 60 and result[()].flag is True and "above" in result[()].detail
    assert metric(db, spec | {"op": "<"})[()].flag is False  # only drops count with "<"
    calm = metric(db, spec, now=NOW - 2 * MIN)
    assert calm[()].flag is False


def test_duration_judges_the_newest_run_against_its_scripts_band(db: Database) -> None:
    start = NOW - timedelta(hours=2)
    with db.write() as conn:
        for i in range(20):
            t = start + i * 5 * MIN
            records.record_execution(
                conn,
                {
                    "id": f"etl-{i}",
                    "script": "etl.py",
                    "started_at": t,
                    "duration_ms": 1000.0 + 10 * (i % 3),
                    "status": "success",
                },
                NOW,
            )
        records.record_execution(
            conn,
            {
                "id": "etl-slow",
                "script": "etl.py",
                "started_at": NOW - 2 * MIN,
                "duration_ms": 5000.0,
                "status": "success",
            },
            NOW,
        )
        records.record_execution(
            conn,
            {
                "id": "other-1",
                "script": "other.py",
                "started_at": NOW - 3 * 60 * MIN,
                "duration_ms": 10.0,
                "status": "success",
            },
            NOW,
        )
    result = metric(db, {"kind": "duration", "window": "10m", "op": "!="})
    assert set(result) == {("etl.py",)}  # other.py did not finish in the window
    sample = result[("etl.py",)]
    assert (sample.value, sample.flag, sample.execution_id, sample.samples) == (5000.0, True, "etl-slow", 20)
    assert "band of 20 previous runs" in sample.detail
    assert (
        metric(db, {"kind": "duration", "window": "10m", "op": "<"})[("etl.py",)].flag is False
    )  # not faster than its band
    rule = parse_rule({"name": "r", "kind": "duration"})
    assert labels_of(rule, ("etl.py",)) == {"entity": "etl.py"}


def test_a_missing_entity_is_an_empty_label_and_rule_labels_are_added(db: Database) -> None:
    ingest(db, [ev(MIN), ev(MIN, entity="/x")])
    result = metric(db, {"group_by": ["entity"]})
    assert values(result) == {("",): 1, ("/x",): 1}
    rule = parse_rule({"name": "r", "group_by": ["entity"], "labels": {"team": "web"}})
    assert labels_of(rule, ("/x",)) == {"entity": "/x", "team": "web"}


def test_rules_with_the_same_window_share_one_rollup_read(db: Database) -> None:
    ingest(db, REQUESTS)
    with db.read() as conn:
        reader = Reader(conn, NOW)
        for spec in (
            {"metric": "count"},
            {"metric": "avg", "group_by": ["entity"]},
            {"metric": "success_rate", "filter": {"source": "app"}},
        ):
            compute(reader, parse_rule({"name": "r", **spec}))
        assert len(reader._cache) == 1
        compute(reader, parse_rule({"name": "r", "window": "1h"}))
        assert len(reader._cache) == 2


def test_vectorised_histogram_percentiles_equal_the_analytics_ones() -> None:
    import numpy as np
    import pandas as pd

    from analytics.histogram import hist_percentiles, percentiles_from_hist

    rng = np.random.default_rng(3)
    ids = rng.integers(0, 4, 300)
    buckets = rng.integers(-40, 101, 300)
    counts = rng.integers(1, 50, 300).astype(float)
    for q in (50.0, 90.0, 99.0):
        got, totals = hist_percentiles(ids, buckets, counts, 4, q)
        for g in range(4):
            part = pd.DataFrame({"bucket": buckets[ids == g], "count": counts[ids == g]})
            assert got[g] == pytest.approx(percentiles_from_hist(part, [q])[q])
            assert totals[g] == counts[ids == g].sum()


def test_anomaly_detectors_carry_over_and_agree_with_a_fresh_start(db: Database) -> None:
    ingest(db, [ev(m * MIN + 10 * timedelta(seconds=1), "order") for m in range(1, 60) for _ in range(5 + m % 2)])
    rule = parse_rule(
        {"name": "r", "kind": "anomaly", "filter": {"type": "order"}, "bucket": "1m", "history": "1h", "op": ">"}
    )
    memory: dict[Any, Any] = {}
    with db.read() as conn:
        calm = compute(Reader(conn, NOW, memory=memory), rule)[()]
    assert calm.flag is False and calm.samples == 60
    ingest(
        db, [event_row(NOW + timedelta(seconds=10), "app", "order")] * 80
    )  # the minute 12:00 is complete at 12:01:30
    later = NOW + MIN
    with db.read() as conn:
        carried = compute(Reader(conn, later, memory=memory), rule)[()]
        fresh = compute(Reader(conn, later), rule)[()]
    assert carried.value == fresh.value == 80 and carried.flag is True and fresh.flag is True
    assert carried.samples == 61  # one new bucket scored on top of the 60 learned
    assert memory[("anomaly", "r")]["fed"] == int((later.timestamp()) // 60 * 60)
