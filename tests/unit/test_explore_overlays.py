"""Explore's baseline band (callbacks/explore.py ``overlays``): within the
metric's domain, and over every bucket of a count."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from callbacks.explore import _filled, overlays
from reports import explore

T = datetime(2026, 11, 19, tzinfo=timezone.utc)
# A count that jumps between 0 and 40: a robust band around it reaches below zero unless clamped.
ROWS = [{"bucket": (T + timedelta(hours=i)).isoformat(), "value": 40 if i % 2 else 0} for i in range(30)]


def query(**kw: object) -> explore.Query:
    return explore.Query(since=T, until=T + timedelta(hours=30), bucket="1h", **kw)  # type: ignore[arg-type]


def test_a_count_band_never_goes_below_zero() -> None:
    band, _ = overlays(ROWS, ["baseline"], query(metric="count"))
    assert band and min(b["lower"] for b in band) == 0.0
    unclamped, _ = overlays(ROWS, ["baseline"])
    assert min(b["lower"] for b in unclamped) < 0  # what the clamp prevents


def test_a_mean_of_value_may_go_below_zero() -> None:
    band, _ = overlays(ROWS, ["baseline"], query(metric="avg"))
    assert min(b["lower"] for b in band) < 0


def test_a_success_rate_band_stays_within_100_percent() -> None:
    rows = [{**r, "value": 100.0 if r["value"] else 60.0} for r in ROWS]
    band, _ = overlays(rows, ["baseline"], query(metric="success_rate"))
    assert max(b["upper"] for b in band) <= 100.0


def test_missing_buckets_of_a_count_are_filled_for_the_overlays() -> None:
    q = query(metric="count")
    grid = explore.bucket_starts(q)
    filled = _filled([ROWS[1], ROWS[5]], grid, 0)
    assert len(filled) == 30 and [r["value"] for r in filled[:6]] == [0, 40, 0, 0, 0, 40]
    assert _filled([ROWS[1]], grid, None)[0]["value"] is None
