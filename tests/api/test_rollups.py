"""The per-minute rollups written beside the raw events equal a GROUP BY over
those events, and the duration histogram holds each raw duration in its
bucket, whatever the batching, duplicates or rejected batches.

The module ingests once into its own database (``shared_server``); the tests
read it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import text

from analytics.histogram import MAX_BUCKET, MIN_BUCKET, bucket_index
from tests.factories import event, varied_events

KEY = ("minute", "source", "type", "entity", "status")
RAW_GROUP_BY = text(
    """
    SELECT ts / 60000000 * 60 AS minute, source, type, COALESCE(entity, '') AS entity,
           COALESCE(status, '') AS status, COUNT(*) AS count,
           COUNT(value) AS value_count, COALESCE(SUM(value), 0) AS value_sum,
           MIN(value) AS value_min, MAX(value) AS value_max,
           COUNT(duration_ms) AS dur_count, COALESCE(SUM(duration_ms), 0) AS dur_sum,
           MIN(duration_ms) AS dur_min, MAX(duration_ms) AS dur_max
    FROM events
    GROUP BY ts / 60000000 * 60, source, type, COALESCE(entity, ''), COALESCE(status, '')
    """
)
ROLLUPS = text(
    "SELECT minute, source, type, entity, status, count, value_count, value_sum, value_min, value_max, "
    "dur_count, dur_sum, dur_min, dur_max FROM rollups"
)


@pytest.fixture(scope="module")
def ingested(shared_server: Any) -> Any:
    """Varied events in batches of several sizes, a retried batch (same
    uids), and a rejected batch in between."""
    events = varied_events(400)
    for start, size in ((0, 1), (1, 7), (8, 92), (100, 300)):
        r = shared_server.post("/api/events", json=events[start : start + size])
        assert r.status_code == 201, r.text
    retried = shared_server.post("/api/events", json=events[100:400])
    assert retried.json()["stored"] == sum(1 for e in events[100:400] if not e["uid"])
    rejected = shared_server.post("/api/events", json=[event("lost", duration_ms=5.0), event("lost", value="x")])
    assert rejected.status_code == 422
    return shared_server


def _by_key(rows: Any) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(r[k] for k in KEY): dict(r) for r in rows}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-12, abs=1e-9)
    return bool(a == b)


def test_rollups_equal_a_group_by_over_the_raw_events(ingested: Any) -> None:
    with ingested.services.db.read() as conn:
        expected = _by_key(conn.execute(RAW_GROUP_BY).mappings())
        actual = _by_key(conn.execute(ROLLUPS).mappings())
    assert len(expected) > 50  # the set really is varied
    assert actual.keys() == expected.keys()
    diffs = [
        (key, col, actual[key][col], want)
        for key, row in expected.items()
        for col, want in row.items()
        if not _same(actual[key][col], want)
    ]
    assert diffs == []


def test_hourly_rollups_equal_a_group_by_per_hour_over_the_raw_events(ingested: Any) -> None:
    per_hour = text(str(RAW_GROUP_BY).replace("ts / 60000000 * 60", "ts / 3600000000 * 3600"))
    hourly = text(str(ROLLUPS).replace("FROM rollups", "FROM rollups_hourly"))
    with ingested.services.db.read() as conn:
        expected = _by_key(conn.execute(per_hour).mappings())
        actual = _by_key(conn.execute(hourly).mappings())
        raw_hist = conn.execute(
            text(
                "SELECT ts / 3600000000 * 3600, source, type, COALESCE(entity, ''), COALESCE(status, ''), duration_ms "
                "FROM events WHERE duration_ms IS NOT NULL"
            )
        ).all()
        hist = conn.execute(
            text("SELECT minute, source, type, entity, status, bucket, count FROM rollup_hist_hourly")
        ).all()
    assert actual.keys() == expected.keys()
    assert [(k, c) for k, row in expected.items() for c, want in row.items() if not _same(actual[k][c], want)] == []
    assert {tuple(r[:6]): r[6] for r in hist} == dict(Counter((*r[:5], bucket_index(r[5])) for r in raw_hist))


def test_the_histogram_counts_each_raw_duration_in_its_bucket(ingested: Any) -> None:
    with ingested.services.db.read() as conn:
        raw = conn.execute(
            text(
                "SELECT ts / 60000000 * 60, source, type, COALESCE(entity, ''), COALESCE(status, ''), duration_ms "
                "FROM events WHERE duration_ms IS NOT NULL"
            )
        ).all()
        hist = conn.execute(text("SELECT minute, source, type, entity, status, bucket, count FROM rollup_hist")).all()
    expected = Counter((*r[:5], bucket_index(r[5])) for r in raw)
    actual = {tuple(r[:6]): r[6] for r in hist}
    assert actual == dict(expected)
    buckets = {k[5] for k in expected}
    assert MIN_BUCKET in buckets and MAX_BUCKET in buckets  # zero, tiny and huge durations were included


def test_empty_entity_and_status_share_the_rollup_row_of_missing_ones(ingested: Any) -> None:
    with ingested.services.db.read() as conn:
        nulls = conn.execute(text("SELECT COUNT(*) FROM rollups WHERE entity IS NULL OR status IS NULL")).scalar()
        blank = conn.execute(text("SELECT COUNT(*) FROM rollups WHERE entity = '' AND status = ''")).scalar()
    assert nulls == 0 and blank > 0
