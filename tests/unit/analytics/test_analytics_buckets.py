"""Time buckets over a complete index (analytics.buckets)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from analytics.buckets import (
    auto_bucket,
    bucket_counts,
    bucket_index,
    bucket_seconds,
    rollup_buckets,
)


def T(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def utc(times: list[str]) -> pd.DatetimeIndex:
    return pd.to_datetime(times, utc=True, format="ISO8601").as_unit("us")


def events(times: list[str], values: list[float] | None = None) -> pd.DataFrame:
    return pd.DataFrame({"ts": utc(times), "value": values if values is not None else [1.0] * len(times)})


def test_minute_buckets_are_complete_and_zero_filled() -> None:
    df = events(["2024-05-01 10:00:10", "2024-05-01 10:00:50", "2024-05-01 10:03:00"], [1.0, 2.0, 5.0])
    out = bucket_counts(df, freq="min", value="value")
    expected = pd.DataFrame(
        {
            "ts": utc(["2024-05-01 10:00", "2024-05-01 10:01", "2024-05-01 10:02", "2024-05-01 10:03"]),
            "count": np.array([2, 0, 0, 1], dtype="int64"),
            "value": [3.0, 0.0, 0.0, 5.0],
        }
    )
    assert_frame_equal(out, expected)


def test_explicit_span_is_half_open_and_drops_outside_rows() -> None:
    df = events(["2024-05-01 10:00:10", "2024-05-01 10:01:30", "2024-05-01 10:02:59", "2024-05-01 10:03:00"])
    out = bucket_counts(df, freq="1min", start=T("2024-05-01 10:01"), end=T("2024-05-01 10:03"))
    expected = pd.DataFrame(
        {"ts": utc(["2024-05-01 10:01", "2024-05-01 10:02"]), "count": np.array([1, 1], dtype="int64")}
    )
    assert_frame_equal(out, expected)


@pytest.mark.parametrize(
    "agg, expected",
    [
        ("mean", [2.0, np.nan, 5.0]),
        ("min", [1.0, np.nan, 5.0]),
        ("max", [3.0, np.nan, 5.0]),
        ("median", [2.0, np.nan, 5.0]),
    ],
)
def test_other_aggregations_leave_empty_buckets_nan(agg: str, expected: list[float]) -> None:
    df = events(["2024-05-01 10:00:10", "2024-05-01 10:00:50", "2024-05-01 10:02:00"], [1.0, 3.0, 5.0])
    out = bucket_counts(df, freq="min", value="value", agg=agg)  # type: ignore[arg-type]
    np.testing.assert_array_equal(out["value"].to_numpy(), np.array(expected))


def test_second_and_multi_minute_buckets_align_to_the_epoch() -> None:
    df = events(["2024-05-01 10:07:30", "2024-05-01 10:07:30.5", "2024-05-01 10:07:32"])
    assert bucket_counts(df, freq="s")["count"].tolist() == [2, 0, 1]
    out = bucket_counts(events(["2024-05-01 10:07", "2024-05-01 10:16"]), freq="5min")
    assert out["ts"].tolist() == [T("2024-05-01 10:05"), T("2024-05-01 10:10"), T("2024-05-01 10:15")]
    assert out["count"].tolist() == [1, 0, 1]


def test_day_buckets_follow_local_days() -> None:
    # 23:30 UTC on 1 May and 01:00 UTC on 2 May are both 2 May in Berlin (UTC+2).
    df = events(["2024-05-01 23:30", "2024-05-02 01:00"])
    local = bucket_counts(df, freq="D", tz="Europe/Berlin")
    assert local["ts"].tolist() == [T("2024-05-01 22:00")]
    assert local["count"].tolist() == [2]
    assert bucket_counts(df, freq="day")["count"].tolist() == [1, 1]


def test_day_buckets_across_a_dst_change_are_local_midnights() -> None:
    idx = bucket_index(T("2024-03-29 23:00"), T("2024-04-01 00:00"), "D", tz="Europe/Berlin")
    assert list(idx) == [T("2024-03-29 23:00"), T("2024-03-30 23:00"), T("2024-03-31 22:00")]


def test_week_buckets_start_on_monday() -> None:
    df = events(["2024-05-01 12:00", "2024-05-05 23:59", "2024-05-06 00:00"])  # Wed, Sun, Mon
    out = bucket_counts(df, freq="W")
    assert out["ts"].tolist() == [T("2024-04-29"), T("2024-05-06")]
    assert out["count"].tolist() == [2, 1]


def test_empty_frame_without_span_gives_empty_typed_result() -> None:
    out = bucket_counts(events([]), freq="min", value="value")
    assert out.empty
    assert str(out["ts"].dtype) == "datetime64[us, UTC]"
    assert out["count"].dtype == np.int64 and out["value"].dtype == np.float64


def test_empty_frame_with_span_gives_zero_buckets() -> None:
    out = bucket_counts(events([]), freq="h", start=T("2024-05-01 10:00"), end=T("2024-05-01 13:00"), value="value")
    assert out["count"].tolist() == [0, 0, 0]
    assert out["value"].tolist() == [0.0, 0.0, 0.0]


def test_single_row_gives_one_bucket() -> None:
    out = bucket_counts(events(["2024-05-01 10:07:30"]), freq="h")
    assert out["ts"].tolist() == [T("2024-05-01 10:00")] and out["count"].tolist() == [1]


def test_rows_with_missing_timestamps_are_ignored() -> None:
    df = pd.DataFrame({"ts": pd.to_datetime(["2024-05-01 10:00", None], utc=True), "value": [1.0, 2.0]})
    assert bucket_counts(df, freq="h", value="value")["value"].tolist() == [1.0]


def test_counts_from_rollups_sum_the_count_column() -> None:
    rollups = pd.DataFrame(
        {
            "minute": utc(["2024-05-01 10:00", "2024-05-01 10:01", "2024-05-01 11:59"]),
            "count": [3, 4, 5],
            "value_sum": [1.5, 2.5, 3.0],
        }
    )
    out = bucket_counts(rollups, freq="h", ts_col="minute", count_col="count", value="value_sum")
    assert out["count"].tolist() == [7, 5]
    assert out["value"].tolist() == [4.0, 3.0]


def test_rollup_buckets_are_exact_on_counts_sums_min_max() -> None:
    rollups = pd.DataFrame(
        {
            "minute": utc(["2024-05-01 10:00", "2024-05-01 10:30", "2024-05-01 12:10"]),
            "count": [2, 3, 1],
            "value_count": [2, 3, 0],
            "value_sum": [4.0, 6.0, 0.0],
            "value_min": [1.0, 0.5, np.nan],
            "value_max": [3.0, 4.0, np.nan],
            "dur_count": [2, 0, 1],
            "dur_sum": [30.0, 0.0, 7.0],
            "dur_min": [10.0, np.nan, 7.0],
            "dur_max": [20.0, np.nan, 7.0],
        }
    )
    out = rollup_buckets(rollups, freq="h")
    expected = pd.DataFrame(
        {
            "ts": utc(["2024-05-01 10:00", "2024-05-01 11:00", "2024-05-01 12:00"]),
            "count": np.array([5, 0, 1], dtype="int64"),
            "value_count": np.array([5, 0, 0], dtype="int64"),
            "value_sum": [10.0, 0.0, 0.0],
            "value_min": [0.5, np.nan, np.nan],
            "value_max": [4.0, np.nan, np.nan],
            "value_mean": [2.0, np.nan, np.nan],
            "dur_count": np.array([2, 0, 1], dtype="int64"),
            "dur_sum": [30.0, 0.0, 7.0],
            "dur_min": [10.0, np.nan, 7.0],
            "dur_max": [20.0, np.nan, 7.0],
            "dur_mean": [15.0, np.nan, 7.0],
        }
    )
    assert_frame_equal(out, expected)


def test_rollup_buckets_on_empty_rollups() -> None:
    cols = ["count", "value_count", "value_sum", "value_min", "value_max", "dur_count", "dur_sum", "dur_min", "dur_max"]
    empty = pd.DataFrame({"minute": utc([]), **{c: pd.Series([], dtype="float64") for c in cols}})
    assert rollup_buckets(empty, freq="h").empty
    spanned = rollup_buckets(empty, freq="h", start=T("2024-05-01 10:00"), end=T("2024-05-01 12:00"))
    assert spanned["count"].tolist() == [0, 0] and spanned["dur_mean"].isna().all()


@pytest.mark.parametrize(
    "span, expected",
    [
        (pd.Timedelta(seconds=30), "1s"),
        (pd.Timedelta(hours=1), "30s"),
        (pd.Timedelta(days=1), "5min"),
        (pd.Timedelta(days=7), "1h"),
        (pd.Timedelta(days=90), "12h"),
        (pd.Timedelta(days=200), "D"),
        (pd.Timedelta(days=3650), "W"),
    ],
)
def test_auto_bucket_keeps_charts_under_300_points(span: pd.Timedelta, expected: str) -> None:
    start = T("2024-05-01")
    assert auto_bucket(start, start + span) == expected
    assert (span.total_seconds() / bucket_seconds(expected) <= 300) or expected == "W"


def test_bad_sizes_and_spans_are_refused() -> None:
    with pytest.raises(ValueError, match="bucket size"):
        bucket_counts(events(["2024-05-01 10:00"]), freq="fortnightly")
    with pytest.raises(ValueError, match="buckets"):
        bucket_counts(events(["2024-05-01 10:00"]), freq="s", start=T("2000-01-01"), end=T("2024-01-01"))
    with pytest.raises(ValueError, match="before"):
        bucket_index(T("2024-05-02"), T("2024-05-01"), "h")


def test_input_frame_is_not_mutated() -> None:
    df = events(["2024-05-01 10:00:10", "2024-05-01 10:02:00"], [1.0, 2.0])
    before = df.copy()
    bucket_counts(df, freq="min", value="value")
    assert_frame_equal(df, before)


def test_an_end_before_all_the_data_gives_nothing() -> None:
    out = bucket_counts(events(["2024-05-01 10:00"]), freq="h", end=T("2024-04-01"))
    assert out.empty
