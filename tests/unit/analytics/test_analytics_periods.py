"""Revenue-style period totals and the activity matrix (analytics.periods)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from pandas.testing import assert_frame_equal

from analytics.periods import WEEKDAYS, activity_matrix, period_totals


def T(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def utc(times: list[str]) -> pd.DatetimeIndex:
    return pd.to_datetime(times, utc=True).as_unit("us")


PAYMENTS = pd.DataFrame(
    {
        "ts": utc(["2024-05-01 10:00", "2024-05-01 11:00", "2024-05-03 09:00", "2024-05-03 09:30"]),
        "value": [10.0, 5.0, 30.0, 2.0],
        "status": ["success", "failed", "success", "completed"],
    }
)


def test_daily_totals_with_empty_days_average_and_peak() -> None:
    r = period_totals(PAYMENTS, freq="D")
    expected = pd.DataFrame(
        {
            "period": utc(["2024-05-01", "2024-05-02", "2024-05-03"]),
            "total": [15.0, 0.0, 32.0],
            "count": np.array([2, 0, 2], dtype="int64"),
        }
    )
    assert_frame_equal(r.periods, expected)
    assert (r.n_periods, r.total, r.average, r.peak_period, r.peak_amount) == (3, 47.0, 47.0 / 3, T("2024-05-03"), 32.0)


def test_success_only_drops_failed_payments() -> None:
    r = period_totals(PAYMENTS, freq="D", success_only=True)
    assert r.periods["total"].tolist() == [10.0, 0.0, 32.0]
    assert r.total == 42.0


def test_hourly_and_weekly_totals() -> None:
    hourly = period_totals(PAYMENTS, freq="h", start=T("2024-05-03 08:00"), end=T("2024-05-03 11:00"))
    assert hourly.periods["total"].tolist() == [0.0, 32.0, 0.0]
    assert hourly.peak_period == T("2024-05-03 09:00") and hourly.average == 32.0 / 3
    weekly = period_totals(PAYMENTS, freq="W")
    assert weekly.n_periods == 1 and weekly.periods["period"].tolist() == [T("2024-04-29")]


def test_days_in_a_local_zone() -> None:
    late = pd.DataFrame({"ts": utc(["2024-05-01 23:00", "2024-05-02 01:00"]), "value": [1.0, 2.0]})
    assert period_totals(late, freq="D").n_periods == 2
    tokyo = period_totals(late, freq="D", tz="Asia/Tokyo")
    assert tokyo.n_periods == 1 and tokyo.peak_period == T("2024-05-01 15:00")


def test_peak_ties_go_to_the_earliest_period() -> None:
    df = pd.DataFrame({"ts": utc(["2024-05-01", "2024-05-02"]), "value": [5.0, 5.0]})
    assert period_totals(df).peak_period == T("2024-05-01")


def test_totals_from_rollups() -> None:
    rollups = pd.DataFrame(
        {
            "minute": utc(["2024-05-01 10:00", "2024-05-01 10:01"]),
            "count": [3, 1],
            "value_sum": [30.0, 12.5],
            "status": ["200", "500"],
        }
    )
    r = period_totals(rollups, freq="D", ts_col="minute", value="value_sum", count_col="count")
    assert (r.total, r.periods["count"].tolist()) == (42.5, [4])
    assert period_totals(rollups, freq="D", ts_col="minute", value="value_sum", success_only=True).total == 30.0


def test_no_rows_no_periods() -> None:
    r = period_totals(PAYMENTS.iloc[0:0])
    assert (r.n_periods, r.total, r.average, r.peak_period, r.peak_amount) == (0, 0.0, None, None, None)
    json.dumps(r.as_dict())


def test_as_dict_lists_periods() -> None:
    d = period_totals(PAYMENTS, freq="D").as_dict()
    assert d["peak_period"] == "2024-05-03T00:00:00+00:00"
    assert d["periods"][1] == {"period": "2024-05-02T00:00:00+00:00", "total": 0.0, "count": 0}


def test_activity_matrix_counts_by_weekday_and_hour() -> None:
    df = pd.DataFrame({"ts": utc(["2024-05-06 09:15", "2024-05-06 09:45", "2024-05-12 23:30"])})
    m = activity_matrix(df)
    assert m.shape == (7, 24) and list(m.index) == list(WEEKDAYS) and list(m.columns) == list(range(24))
    assert m.to_numpy().dtype == np.int64
    assert (m.loc["Mon", 9], m.loc["Sun", 23], int(m.to_numpy().sum())) == (2, 1, 3)


def test_activity_matrix_in_local_time_and_with_values() -> None:
    df = pd.DataFrame({"ts": utc(["2024-05-12 23:30"]), "value": [2.5]})
    tokyo = activity_matrix(df, tz="Asia/Tokyo")
    assert tokyo.loc["Mon", 8] == 1 and tokyo.loc["Sun", 23] == 0
    assert activity_matrix(df, value="value").loc["Sun", 23] == 2.5


def test_activity_matrix_of_nothing_is_all_zero() -> None:
    m = activity_matrix(pd.DataFrame({"ts": utc([])}))
    assert m.shape == (7, 24) and int(m.to_numpy().sum()) == 0


def test_activity_matrix_over_a_window() -> None:
    df = pd.DataFrame({"ts": utc(["2024-05-06 09:15", "2024-05-06 12:00"])})
    m = activity_matrix(df, window="1h", now=T("2024-05-06 12:30"))
    assert int(m.to_numpy().sum()) == 1 and m.loc["Mon", 12] == 1
