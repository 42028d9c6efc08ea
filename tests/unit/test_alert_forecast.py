"""Forecast rules over a small real SQLite database: a steadily growing disk
gauge is forecast to cross its threshold before the data does, the reason
says when and with which model, a fit is reused until a new bucket closed,
groups are forecast one by one, and a backtest fires before the crossing."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from alerts.engine import AlertEngine, summary
from alerts.measure import compute
from alerts.metrics import MetricError, Reader, matches
from alerts.rules import RuleError, parse_rule
from data.db import Database
from data.ingest import event_row, ingest
from tests.conftest import ClockedServices

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
HOURS = 6 * 24  # six days of hourly gauges
CROSSED = START + timedelta(hours=120)  # the data first exceeds 90 here: 50 + 40 * 120 / 120 = 90
NOW = START + timedelta(hours=96, minutes=20)


NOISE = np.random.default_rng(7).normal(0.0, 0.2, HOURS)


def disk(at_hour: int) -> float:
    """Disk use climbing from 50 % by 1/3 point an hour, with a little noise."""
    return 50.0 + 40.0 * at_hour / 120 + float(NOISE[at_hour])


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('fc') / 'pulse.db'}")
    database.migrate()
    rows = []
    for h in range(HOURS):
        for minute in (5, 35):
            at = START + timedelta(hours=h, minutes=minute)
            rows.append(event_row(at, "pulseboard", "disk_percent", entity="data", value=disk(h)))
            rows.append(event_row(at, "pulseboard", "disk_percent", entity="flat", value=40.0 + (h % 2)))
    ingest(database, rows)
    yield database
    database.dispose()


def rule(**extra: Any) -> Any:
    spec = {
        "name": "disk filling",
        "kind": "forecast",
        "metric": "max",
        "filter": {"source": "pulseboard", "type": "disk_percent", "entity": "data"},
        "bucket": "1h",
        "history": "3d",
        "horizon": "3d",
        "op": ">",
        "threshold": 90,
    }
    return parse_rule(spec | extra)


def test_a_growing_gauge_is_forecast_to_cross_and_the_reason_says_when(db: Database) -> None:
    with db.read() as conn:
        got = compute(Reader(conn, NOW), rule(bound="upper"))
    sample = got[()]
    assert matches(rule(bound="upper"), sample)
    assert sample.value is not None and sample.value > 90
    assert sample.detail.startswith(f"forecast upper 95 % bound reaches {sample.value:.4g} > 90 in about ")
    assert "(model ets(A,Ad,N))" in sample.detail
    # The data crosses 90 at hour 120, about 23 h 40 min after NOW; the upper bound says so sooner.
    wait = sample.detail.split("in about ")[1].split(" (")[0]
    assert wait.endswith(" h") or " h " in wait or wait.endswith("min")
    line = summary(rule(bound="upper"), {}, sample, "firing")
    assert line == f"disk filling: {sample.detail}"


def test_a_flat_gauge_does_not_fire_and_says_where_it_stays(db: Database) -> None:
    flat = rule(filter={"type": "disk_percent", "entity": "flat"}, bound="upper")
    with db.read() as conn:
        sample = compute(Reader(conn, NOW), flat)[()]
    assert not matches(flat, sample)
    assert sample.value is not None and sample.value < 90
    assert "stays at" in sample.detail and "not > 90, within 3 d" in sample.detail


def test_the_central_forecast_crosses_later_than_the_upper_bound(db: Database) -> None:
    early = NOW - timedelta(hours=12)
    with db.read() as conn:
        upper = compute(Reader(conn, early), rule(bound="upper", horizon="2d"))[()]
        central = compute(Reader(conn, early), rule(horizon="2d"))[()]
    assert upper.flag and not central.flag
    assert central.detail.startswith("forecast (")


def test_groups_are_forecast_one_by_one(db: Database) -> None:
    grouped = rule(filter={"type": "disk_percent"}, group_by=["entity"], bound="upper")
    with db.read() as conn:
        got = compute(Reader(conn, NOW), grouped)
    assert set(got) == {("data",), ("flat",)}
    assert got[("data",)].flag and not got[("flat",)].flag


def test_a_fit_is_reused_until_a_new_bucket_closed(db: Database) -> None:
    memory: dict[Any, Any] = {}
    r = rule(bound="upper")
    with db.read() as conn:
        first = compute(Reader(conn, NOW, memory=memory), r)
        kept = memory[("forecast", r.name)]
        kept["out"] = {(): dataclasses.replace(first[()], detail="from the cache")}
        same_bucket = compute(Reader(conn, NOW + timedelta(minutes=30), memory=memory), r)
        next_bucket = compute(Reader(conn, NOW + timedelta(minutes=45), memory=memory), r)
    assert same_bucket[()].detail == "from the cache"
    assert next_bucket[()].detail != "from the cache" and next_bucket[()].flag
    assert kept["until"] == int((NOW + timedelta(minutes=45)).timestamp()) // 3600 * 3600


def test_a_backtest_fires_before_the_data_crosses_the_threshold(db: Database) -> None:
    r = rule(bound="upper", horizon="1d")
    engine = AlertEngine(ClockedServices(db, NOW))
    since, until = START + timedelta(days=3), START + timedelta(hours=HOURS - 1)
    result = engine.backtest(r, since, until, timedelta(minutes=30))
    fired = [t for t in result["transitions"] if t["to"] == "firing"]
    assert fired, result["transitions"]
    first = datetime.fromisoformat(fired[0]["ts"])
    assert first < CROSSED - timedelta(hours=6)  # hours before any stored value is above 90
    assert all(disk(h) <= 90.0 for h in range(int((first - START).total_seconds() // 3600) + 1))
    assert result["fired"] >= 1 and result["series"][0]["values"]


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"horizon": None}, "horizon", "needs a horizon"),
        ({"horizon": "30m"}, "horizon", "longer than the bucket (1h)"),
        ({"horizon": "1h"}, "horizon", "longer than the bucket (1h)"),
        ({"horizon": "4d"}, "horizon", "at most the history (3d)"),
        ({"horizon": "soon"}, "horizon", "expected a duration"),
        ({"bucket": "1m", "history": "30d", "horizon": "10d"}, "horizon", "at most 500 buckets of 1m"),
        ({"bound": "middle"}, "bound", "'value', 'upper' or 'lower'"),
        ({"metric": "latest"}, "metric", "a forecast rule needs a metric per bucket"),
        ({"kind": "threshold"}, "horizon", "only a forecast rule takes a horizon"),
    ],
)
def test_a_bad_forecast_rule_names_the_field(extra: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        rule(**extra)
    assert caught.value.field == field and message in caught.value.message


def test_too_many_groups_are_refused_naming_group_by(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("alerts.forecast_rules.MAX_GROUPS", 1)
    grouped = rule(filter={"type": "disk_percent"}, group_by=["entity"])
    with db.read() as conn, pytest.raises(MetricError, match=r"^group_by: 2 groups to forecast, at most 1"):
        compute(Reader(conn, NOW), grouped)
