"""Trailing windows, counts and rates (analytics.windows)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from analytics.windows import current_rate, filter_window, window_bounds, window_summary


def T(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def events(times: list[str], values: list[float] | None = None) -> pd.DataFrame:
    ts = pd.to_datetime(times, utc=True).as_unit("us")
    return pd.DataFrame({"ts": ts, "value": values if values is not None else [1.0] * len(times)})


NOW = T("2024-05-01 10:30")


def test_named_and_free_durations_end_at_now() -> None:
    assert window_bounds("10min", now=NOW) == (T("2024-05-01 10:20"), NOW)
    assert window_bounds("last_hour", now=NOW)[0] == T("2024-05-01 09:30")
    assert window_bounds("7d", now=NOW)[0] == T("2024-04-24 10:30")
    assert window_bounds(dt.timedelta(seconds=90), now=NOW)[0] == T("2024-05-01 10:28:30")
    assert window_bounds("2w", now=NOW)[0] == T("2024-04-17 10:30")


def test_today_starts_at_local_midnight_of_now() -> None:
    # 02:00 UTC is still 30 April in New York (EDT, UTC-4).
    start, end = window_bounds("today", now=T("2024-05-01 02:00"), tz="America/New_York")
    assert start == T("2024-04-30 04:00")
    assert end == T("2024-05-01 02:00")
    assert window_bounds("today", now=T("2024-05-01 02:00"))[0] == T("2024-05-01 00:00")


def test_now_in_another_zone_is_converted_to_utc() -> None:
    start, end = window_bounds("1h", now=pd.Timestamp("2024-05-01 12:30", tz="Europe/Berlin"))
    assert end == T("2024-05-01 10:30") and str(end.tz) == "UTC"
    assert start == T("2024-05-01 09:30")


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        window_bounds("1h", now=pd.Timestamp("2024-05-01 10:30"))


@pytest.mark.parametrize("bad", ["soon", "-5min", "0s"])
def test_bad_windows_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        window_bounds(bad, now=NOW)


def test_filter_window_keeps_closed_interval_and_defaults_now_to_latest() -> None:
    df = events(["2024-05-01 10:00", "2024-05-01 10:20", "2024-05-01 10:25", "2024-05-01 10:30"])
    assert filter_window(df, window="10min")["ts"].tolist() == [
        T("2024-05-01 10:20"),
        T("2024-05-01 10:25"),
        T("2024-05-01 10:30"),
    ]
    later = filter_window(df, window="10min", now=T("2024-05-01 10:35"))
    assert later["ts"].tolist() == [T("2024-05-01 10:25"), T("2024-05-01 10:30")]


def test_filter_window_on_empty_frame_and_input_untouched() -> None:
    empty = events([])
    assert filter_window(empty, window="1h").empty
    df = events(["2024-05-01 10:00", "2024-05-01 10:25"])
    before = df.copy()
    filter_window(df, window="10min")
    assert_frame_equal(df, before)


def test_timestamps_in_another_zone_are_compared_in_utc() -> None:
    df = pd.DataFrame({"ts": pd.to_datetime(["2024-05-01 12:25"]).tz_localize("Europe/Berlin"), "value": [1.0]})
    assert len(filter_window(df, window="10min", now=NOW)) == 1


def test_naive_timestamp_column_is_refused() -> None:
    df = pd.DataFrame({"ts": pd.to_datetime(["2024-05-01 10:25"]), "value": [1.0]})
    with pytest.raises(ValueError, match="timezone-aware"):
        filter_window(df, window="10min", now=NOW)


def test_window_summary_counts_sums_and_rates() -> None:
    df = events(["2024-05-01 10:00", "2024-05-01 10:25", "2024-05-01 10:29", "2024-05-01 10:30"], [1.0, 2.0, 4.0, 8.0])
    out = window_summary(df, windows=["1min", "10min", "today"], now=NOW, value="value")
    expected = pd.DataFrame(
        {
            "window": ["1min", "10min", "today"],
            "start": pd.to_datetime(["2024-05-01 10:29", "2024-05-01 10:20", "2024-05-01 00:00"], utc=True).as_unit(
                "us"
            ),
            "end": pd.to_datetime([NOW] * 3, utc=True).as_unit("us"),
            "seconds": [60.0, 600.0, 37800.0],
            "count": np.array([2, 3, 4], dtype="int64"),
            "value_sum": [12.0, 14.0, 15.0],
            "count_per_second": [2 / 60, 3 / 600, 4 / 37800],
            "count_per_minute": [2.0, 0.3, 4 * 60 / 37800],
            "value_per_second": [12 / 60, 14 / 600, 15 / 37800],
        }
    )
    assert_frame_equal(out, expected)


def test_window_summary_on_rollups_sums_the_count_column() -> None:
    rollups = pd.DataFrame(
        {
            "minute": pd.to_datetime(["2024-05-01 10:19", "2024-05-01 10:20", "2024-05-01 10:29"], utc=True),
            "count": [5, 3, 2],
            "value_sum": [50.0, 30.0, 20.0],
        }
    )
    out = window_summary(rollups, windows=["10min"], now=NOW, ts_col="minute", count_col="count", value="value_sum")
    assert out["count"].tolist() == [5]
    assert out["value_sum"].tolist() == [50.0]


def test_window_summary_without_value_has_nan_sums() -> None:
    out = window_summary(events(["2024-05-01 10:25"]), windows=["10min"], now=NOW)
    assert out["count"].tolist() == [1]
    assert np.isnan(out["value_sum"].iloc[0])


def test_window_summary_empty_frame() -> None:
    out = window_summary(events([]), windows=["10min"])
    assert out.empty and list(out.columns)[:5] == ["window", "start", "end", "seconds", "count"]
    zero = window_summary(events([]), windows=["10min"], now=NOW)
    assert zero["count"].tolist() == [0] and zero["count_per_second"].tolist() == [0.0]


def test_current_rate_is_value_per_second_over_the_window() -> None:
    df = events(["2024-05-01 10:15", "2024-05-01 10:21", "2024-05-01 10:29"], [999.0, 300.0, 300.0])
    assert current_rate(df, value="value", now=NOW) == 1.0
    assert current_rate(df, now=NOW) == 2 / 600
    assert current_rate(df, window="1h", now=NOW) == 3 / 3600


def test_current_rate_clamps_to_since_and_ignores_nan() -> None:
    df = events(["2024-05-01 10:28", "2024-05-01 10:29"], [60.0, np.nan])
    assert current_rate(df, value="value", now=NOW, since=T("2024-05-01 10:28")) == 0.5


def test_current_rate_empty_or_zero_length_is_zero() -> None:
    assert current_rate(events([]), value="value") == 0.0
    assert current_rate(events([]), value="value", now=NOW) == 0.0
    assert current_rate(events(["2024-05-01 10:30"]), now=NOW, since=NOW) == 0.0


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match="boxes"):
        current_rate(events(["2024-05-01 10:30"]), value="boxes")
