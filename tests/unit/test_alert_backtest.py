"""A backtest over a small real SQLite database: the metric series it returns
per group is the rule's metric evaluated step by step (one ``Reader`` per
step, as an evaluation reads), its transitions are those of the step-by-step
way, and a group that matched is listed first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from alerts.engine import AlertEngine
from alerts.measure import compute
from alerts.metrics import HistoryReader, Reader, labels_of
from alerts.rules import Rule, parse_rule
from data.db import Database
from data.ingest import event_row, ingest
from tests.conftest import ClockedServices

NOW = datetime(2026, 3, 1, 12, 0, 30, tzinfo=timezone.utc)
MIN = timedelta(minutes=1)
SINCE = NOW - timedelta(hours=3)


def events() -> list[dict[str, Any]]:
    """Three hours of payments on two endpoints: a steady trickle of
    successes, a failure burst on /checkout at 10:30-10:40 and one on /refund
    at 11:20, values and durations on each, and unrelated scans."""
    rows = []
    for m in range(180):
        at = SINCE + m * MIN + timedelta(seconds=7)
        for entity in ("/checkout", "/refund"):
            rows.append(
                event_row(
                    at,
                    "payments",
                    "payment",
                    entity=entity,
                    status="success",
                    value=10.0 + m % 7,
                    duration_ms=100.0 + 13 * (m % 11),
                )
            )
        if 30 <= m < 40:
            rows += [
                event_row(
                    at + timedelta(seconds=s), "payments", "payment", entity="/checkout", status="failed", value=3.5
                )
                for s in (1, 2)
            ]
        if 80 <= m < 83:
            rows.append(event_row(at, "payments", "payment", entity="/refund", status="error", duration_ms=2500.0))
        rows.append(event_row(at, "scanner", "scan", entity="s1", status="ok"))
    return rows


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('bt') / 'pulse.db'}")
    database.migrate()
    ingest(database, events())
    yield database
    database.dispose()


def stepwise_values(db: Database, rule: Rule, step: timedelta) -> dict[str, dict[str, float | None]]:
    """The rule's metric per group at every step, each step read on its own."""
    out: dict[str, dict[str, float | None]] = {}
    with db.read() as conn:
        t = SINCE
        while t <= NOW:
            for key, sample in compute(Reader(conn, t), rule).items():
                labels = ",".join(f"{k}={v}" for k, v in labels_of(rule, key).items())
                out.setdefault(labels, {})[t.isoformat()] = sample.value
            t += step
    return out


def series_values(result: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    return {
        ",".join(f"{k}={v}" for k, v in s["labels"].items()): dict(zip(s["ts"], s["values"])) for s in result["series"]
    }


def assert_same(got: dict[str, dict[str, float | None]], expected: dict[str, dict[str, float | None]]) -> None:
    """The same groups, steps and values (sums may differ in the last bits)."""
    assert set(got) == set(expected)
    for labels, by_ts in expected.items():
        assert set(got[labels]) == set(by_ts), labels
        for ts, value in by_ts.items():
            assert got[labels][ts] == (None if value is None else pytest.approx(value, rel=1e-9)), (labels, ts)


RULES = [
    {"metric": "failures", "filter": {"type": "payment"}, "group_by": ["entity"], "window": "10m", "threshold": 3},
    {"metric": "success_rate", "filter": {"type": "payment"}, "window": "15m", "op": "<", "threshold": 95, "min_samples": 5},
    {"metric": "avg", "filter": {"type": "payment"}, "group_by": ["entity"], "window": "1h", "threshold": 12},
    {"metric": "max", "field": "duration_ms", "filter": {"source": "payments"}, "window": "5m", "threshold": 2000},
    {"metric": "p95", "field": "duration_ms", "filter": {"type": "payment"}, "group_by": ["entity"], "window": "10m", "threshold": 1000},
    {"metric": "rate", "group_by": ["source"], "window": "2h", "threshold": 3.5},
    {"kind": "absence", "filter": {"status": "failed"}, "window": "5m", "history": "1d"},
    {"metric": "count", "filter": {"type": "payment", "status": "error"}, "window": "10m", "threshold": 0, "min_samples": 1,
     "samples_filter": {"type": "scan"}, "keep_firing_for": "5m"},
]  # fmt: skip


@pytest.mark.parametrize("spec", RULES, ids=lambda s: f"{s.get('kind', 'threshold')}-{s.get('metric', 'count')}")
def test_the_backtest_series_is_the_metric_step_by_step(db: Database, spec: dict[str, Any]) -> None:
    rule = parse_rule({"name": "r", **spec})
    engine = AlertEngine(ClockedServices(db, NOW))
    step = timedelta(seconds=150)  # not a whole minute: windows start mid-minute
    result = engine.backtest(rule, SINCE, NOW, step)
    expected = stepwise_values(db, rule, step)
    assert expected
    assert_same(series_values(result), expected)
    baseline = engine.backtest(rule, SINCE, NOW, step, stepwise=True)
    assert result["transitions"] == baseline["transitions"]
    assert_same(series_values(baseline), expected)
    assert result["series_total"] == len(expected) and result["steps"] == baseline["steps"] == 73


def test_the_failure_burst_fires_and_the_burst_group_comes_first(db: Database) -> None:
    rule = parse_rule({"name": "r", **RULES[0]})
    result = AlertEngine(ClockedServices(db, NOW)).backtest(rule, SINCE, NOW, MIN)
    # /checkout matched, so it comes first; /refund's three errors never exceed 3.
    assert [s["labels"] for s in result["series"]] == [{"entity": "/checkout"}, {"entity": "/refund"}]
    assert max(result["series"][1]["values"]) == 3.0
    checkout = dict(zip(result["series"][0]["ts"], result["series"][0]["values"]))
    assert max(v for v in checkout.values() if v is not None) == 20.0  # ten minutes of two failures
    fired = [t for t in result["transitions"] if t["to"] == "firing"]
    assert [(t["labels"], t["ts"]) for t in fired] == [({"entity": "/checkout"}, (SINCE + 31 * MIN).isoformat())]


def test_a_window_the_read_range_does_not_cover_is_read_on_its_own(db: Database) -> None:
    rule = parse_rule({"name": "r", "filter": {"type": "payment"}, "window": "1h"})
    with db.read() as conn:
        history = HistoryReader(conn, SINCE, NOW)
        inside = compute(history.at(SINCE + timedelta(hours=2)), rule)
        outside = compute(history.at(SINCE + timedelta(minutes=20)), rule)  # its window starts before SINCE
        assert inside == compute(Reader(conn, SINCE + timedelta(hours=2)), rule)
        assert outside == compute(Reader(conn, SINCE + timedelta(minutes=20)), rule)
    # Rollup windows are whole minutes, the minute in progress included: 61 and 21 minutes of two payments.
    assert inside[()].value == 2 * 61 + 3 and outside[()].value == 2 * 21


def test_a_stored_summary_says_when_the_condition_no_longer_holds() -> None:
    """What notifications and the history show for an alert kept firing by ``keep_firing_for``."""
    from alerts.engine import summary
    from alerts.metrics import Sample

    rule = parse_rule(
        {"name": "payments failing", "metric": "failures", "window": "10m", "threshold": 3, "keep_firing_for": "2m"}
    )
    assert summary(rule, {}, Sample(5.0, 9), "firing") == "payments failing: failures is 5 (> 3 over 10m)"
    assert (
        summary(rule, {}, Sample(3.0, 9), "firing", holds=False)
        == "payments failing: failures is 3, no longer > 3 over 10m; keeps firing for 2m after it cleared"
    )
    assert summary(rule, {"entity": "/pay"}, None, "firing", holds=False).startswith(
        "payments failing [entity=/pay]: failures has no matching events in the last 10m, no longer > 3"
    )
