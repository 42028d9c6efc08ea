"""Summary statistics and histograms, exact and from rollups (analytics.distributions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from analytics.distributions import (
    Summary,
    duration_histogram,
    rollup_histogram,
    rollup_summary,
    rollup_summary_by,
    summary_stats,
    summary_stats_by,
)
from analytics.histogram import RELATIVE_ERROR, bucket_index


def test_exact_summary_interpolates_percentiles() -> None:
    s = summary_stats(pd.DataFrame({"duration_ms": [10.0, 20.0, 30.0, 40.0, None]}))
    assert s == Summary(
        count=4,
        min=10.0,
        max=40.0,
        mean=25.0,
        median=25.0,
        p50=25.0,
        p90=pytest.approx(37.0),
        p95=pytest.approx(38.5),
        p99=pytest.approx(39.7),
    )
    assert s.relative_error == 0.0


def test_summary_of_empty_and_all_missing_columns() -> None:
    assert summary_stats(pd.DataFrame({"duration_ms": pd.Series([], dtype="float64")})) == Summary(count=0)
    assert summary_stats(pd.DataFrame({"duration_ms": [np.nan, None]})).as_dict()["p95"] is None


def test_summary_of_a_single_row() -> None:
    s = summary_stats(pd.DataFrame({"value": [7.5]}), column="value")
    assert (s.count, s.min, s.max, s.mean, s.p99) == (1, 7.5, 7.5, 7.5, 7.5)


def test_summary_per_group() -> None:
    df = pd.DataFrame({"entity": ["/a", "/b", "/a", None], "duration_ms": [1.0, 5.0, 3.0, 100.0]})
    out = summary_stats_by(df, by="entity")
    expected = pd.DataFrame(
        {
            "entity": ["/a", "/b"],
            "count": np.array([2, 1], dtype="int64"),
            "min": [1.0, 5.0],
            "max": [3.0, 5.0],
            "mean": [2.0, 5.0],
            "median": [2.0, 5.0],
            "p50": [2.0, 5.0],
            "p90": [2.8, 5.0],
            "p95": [2.9, 5.0],
            "p99": [2.98, 5.0],
            "relative_error": [0.0, 0.0],
        }
    )
    assert_frame_equal(out, expected, check_dtype=False, atol=1e-12)
    assert summary_stats_by(df.iloc[0:0], by="entity").empty


def make_rollups(values: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two minute buckets of rollups and their histogram, as ingest would build them."""
    halves = np.array_split(values, 2)
    rollups = pd.DataFrame(
        {
            "dur_count": [h.size for h in halves],
            "dur_sum": [h.sum() for h in halves],
            "dur_min": [h.min() for h in halves],
            "dur_max": [h.max() for h in halves],
        }
    )
    buckets = pd.Series([bucket_index(float(v)) for v in values])
    hist = buckets.value_counts().rename_axis("bucket").reset_index(name="count")
    return rollups, hist


def test_rollup_summary_is_exact_on_min_max_mean_and_close_on_percentiles() -> None:
    values = np.random.default_rng(7).lognormal(mean=4.0, sigma=0.8, size=2000)
    rollups, hist = make_rollups(values)
    exact = summary_stats(pd.DataFrame({"duration_ms": values}))
    est = rollup_summary(rollups, hist)
    assert est.count == 2000
    assert est.min == exact.min and est.max == exact.max
    assert est.mean == pytest.approx(exact.mean)
    assert est.relative_error == RELATIVE_ERROR
    for q in ("p50", "p90", "p95", "p99"):
        true, approx = getattr(exact, q), getattr(est, q)
        assert abs(approx - true) / true <= RELATIVE_ERROR + 0.01, q


def test_rollup_summary_without_histogram_has_no_percentiles() -> None:
    rollups, _ = make_rollups(np.array([1.0, 2.0, 3.0, 4.0]))
    s = rollup_summary(rollups)
    assert (s.count, s.min, s.max, s.mean, s.p95, s.relative_error) == (4, 1.0, 4.0, 2.5, None, 0.0)


def test_rollup_summary_of_value_columns_and_of_nothing() -> None:
    r = pd.DataFrame({"value_count": [2], "value_sum": [9.0], "value_min": [4.0], "value_max": [5.0]})
    assert rollup_summary(r, prefix="value").mean == 4.5
    empty = pd.DataFrame({c: pd.Series([], dtype="float64") for c in ["dur_count", "dur_sum", "dur_min", "dur_max"]})
    assert rollup_summary(empty) == Summary(count=0)


def test_equal_width_histogram() -> None:
    out = duration_histogram(pd.DataFrame({"duration_ms": [1.0, 2.0, 2.5, 4.0, np.nan]}), bins=3)
    expected = pd.DataFrame(
        {"left": [1.0, 2.0, 3.0], "right": [2.0, 3.0, 4.0], "count": np.array([1, 2, 1], dtype="int64")}
    )
    assert_frame_equal(out, expected)


def test_histogram_with_edges_and_log_bins() -> None:
    df = pd.DataFrame({"duration_ms": [1.0, 10.0, 100.0, 0.0]})
    assert duration_histogram(df, bins=[0.0, 5.0, 200.0])["count"].tolist() == [2, 2]
    log = duration_histogram(df, bins=2, log=True)
    assert log["left"].tolist() == pytest.approx([1.0, 10.0]) and log["count"].tolist() == [1, 2]


def test_histogram_of_one_value_and_of_nothing() -> None:
    one = duration_histogram(pd.DataFrame({"duration_ms": [5.0, 5.0]}), bins=1)
    assert one.to_dict("list") == {"left": [4.5], "right": [5.5], "count": [2]}
    empty = duration_histogram(pd.DataFrame({"duration_ms": pd.Series([], dtype="float64")}))
    assert empty.empty and list(empty.columns) == ["left", "right", "count"]


def test_histogram_refuses_bad_bins() -> None:
    with pytest.raises(ValueError):
        duration_histogram(pd.DataFrame({"duration_ms": [1.0]}), bins=0)
    with pytest.raises(ValueError):
        duration_histogram(pd.DataFrame({"duration_ms": [1.0]}), bins=[3.0, 1.0])


def test_rollup_histogram_edges_are_the_log_buckets() -> None:
    out = rollup_histogram(pd.DataFrame({"bucket": [4, 0, 4], "count": [1, 2, 3]}))
    assert out["left"].tolist() == [1.0, 2.0]
    assert out["right"].tolist() == pytest.approx([2**0.25, 2**1.25])
    assert out["count"].tolist() == [2, 4]


def test_rollup_percentiles_stay_within_the_exact_range() -> None:
    r = pd.DataFrame({"dur_count": [2], "dur_sum": [2.1], "dur_min": [1.0], "dur_max": [1.1]})
    h = pd.DataFrame({"bucket": [0], "count": [2]})  # midpoint 1.09, inside; push it out:
    s = rollup_summary(r.assign(dur_max=[1.05]), h)
    assert s.p50 == 1.05 and s.p99 == 1.05
    assert rollup_summary(r, h).p50 == pytest.approx(2**0.125)


def test_rollup_summary_per_endpoint() -> None:
    r = pd.DataFrame(
        {
            "entity": ["/a", "/b", "/a"],
            "dur_count": [2, 1, 2],
            "dur_sum": [3.0, 8.0, 5.0],
            "dur_min": [1.0, 8.0, 2.0],
            "dur_max": [2.0, 8.0, 3.0],
        }
    )
    h = pd.DataFrame({"entity": ["/a", "/a", "/a", "/b"], "bucket": [0, 4, 6, 12], "count": [1, 2, 1, 1]})
    out = rollup_summary_by(r, h)
    assert out[["entity", "count", "min", "max", "mean"]].to_dict("list") == {
        "entity": ["/a", "/b"],
        "count": [4, 1],
        "min": [1.0, 8.0],
        "max": [3.0, 8.0],
        "mean": [2.0, 8.0],
    }
    assert out["p50"].tolist() == pytest.approx([2**1.125, 8.0])
    assert (out["relative_error"] == RELATIVE_ERROR).all()
    without = rollup_summary_by(r, None)
    assert without["p95"].isna().all()
    assert rollup_summary_by(r.iloc[0:0], h).empty
