"""The forecast of a bucketed series: a trend is extrapolated, a daily cycle
is kept, short history falls back and says so, intervals widen with the
horizon, and empty input is defined."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.forecast import COLUMNS, first_crossing, forecast, seasons_for

START = pd.Timestamp("2026-03-02", tz="UTC")  # a Monday


def hourly(values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"bucket": pd.date_range(START, periods=len(values), freq="h"), "value": values})


def daily_cycle(days: int, seed: int = 1) -> np.ndarray:
    t = np.arange(days * 24)
    rng = np.random.default_rng(seed)
    return 100.0 + 40.0 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 3, len(t))


def test_a_pure_trend_is_extrapolated() -> None:
    t = np.arange(120, dtype="float64")
    noise = np.random.default_rng(5).normal(0, 0.3, len(t))
    fc = forecast(hourly(50.0 + 2.0 * t + noise), horizon=12)
    assert fc["model"].iloc[0] == "ets(A,Ad,N)"
    assert fc["season_length"].iloc[0] == 0
    # The next value is where the line goes, and the forecast keeps rising.
    assert fc["value"].iloc[0] == pytest.approx(50.0 + 2.0 * 120, abs=2.0)
    assert fc["value"].is_monotonic_increasing
    assert fc["value"].iloc[-1] > 50.0 + 2.0 * 119 + 12.0  # well above the last value
    assert list(fc["bucket"]) == list(pd.date_range(START + pd.Timedelta(hours=120), periods=12, freq="h"))


def test_a_daily_cycle_is_kept() -> None:
    y = daily_cycle(10)
    fc = forecast(hourly(y), horizon=24)
    assert fc["season_length"].iloc[0] == 24
    assert "daily cycle of 24 buckets" in fc["reason"].iloc[0]
    truth = 100.0 + 40.0 * np.sin(2 * np.pi * np.arange(240, 264) / 24)
    assert np.max(np.abs(fc["value"].to_numpy() - truth)) < 10.0
    assert fc["value"].idxmax() in (5, 6, 7) and fc["value"].idxmin() in (17, 18, 19)  # peak ~06:00, trough ~18:00


def test_noise_has_no_cycle() -> None:
    rng = np.random.default_rng(3)
    fc = forecast(hourly(20.0 + rng.normal(0, 1, 240)), horizon=6)
    assert fc["season_length"].iloc[0] == 0
    assert "no cycle found" in fc["reason"].iloc[0]


def test_short_history_falls_back_to_seasonal_naive_and_says_so() -> None:
    y = daily_cycle(2)[:40]  # 1.7 days: too few cycles for a seasonal model
    fc = forecast(hourly(y), horizon=24)
    assert fc["model"].iloc[0] == "seasonal-naive(24)"
    assert "too few for a seasonal model" in fc["reason"].iloc[0]
    assert fc["value"].iloc[0] == pytest.approx(y[40 - 24])  # the bucket a cycle earlier


def test_very_short_history_falls_back_to_drift_and_says_so() -> None:
    fc = forecast(hourly(np.array([3.0, 5.0, 6.0, 9.0])), horizon=3)
    assert fc["model"].iloc[0] == "drift"
    assert "only 4 buckets of history" in fc["reason"].iloc[0]
    assert list(fc["value"]) == pytest.approx([11.0, 13.0, 15.0])


def test_one_value_is_carried_forward_without_an_interval() -> None:
    fc = forecast(hourly(np.array([7.0])), horizon=2, step_seconds=3600)
    assert fc["model"].iloc[0] == "naive" and list(fc["value"]) == [7.0, 7.0]
    assert fc["lower_95"].isna().all()


@pytest.mark.parametrize("days", [10, 2])
def test_intervals_widen_with_the_horizon(days: int) -> None:
    y = daily_cycle(days) + 0.5 * np.arange(days * 24)
    fc = forecast(hourly(y), horizon=48)
    for level in (80, 95):
        width = (fc[f"upper_{level}"] - fc[f"lower_{level}"]).to_numpy()
        assert np.all(np.diff(width) >= -1e-9)
        assert width[-1] > width[0]
    assert (fc["lower_95"] <= fc["lower_80"]).all() and (fc["lower_80"] <= fc["value"]).all()
    assert (fc["value"] <= fc["upper_80"]).all() and (fc["upper_80"] <= fc["upper_95"]).all()


def test_empty_input_gives_an_empty_frame_with_the_columns() -> None:
    fc = forecast(pd.DataFrame({"bucket": [], "value": []}), horizon=5)
    assert fc.empty and tuple(fc.columns) == COLUMNS
    assert fc.attrs["diagnostics"]["reason"] == "no history"
    only_missing = pd.DataFrame({"bucket": [START, START + pd.Timedelta(hours=1)], "value": [None, None]})
    assert forecast(only_missing, horizon=5).empty


def test_a_lower_bound_clips_and_missing_counts_are_zero() -> None:
    buckets = pd.date_range(START, periods=30, freq="h").delete([3, 4])
    df = pd.DataFrame({"bucket": buckets, "value": np.linspace(30.0, 1.0, 28)})
    fc = forecast(df, horizon=40, fill=0.0, lower_bound=0.0)
    assert fc.attrs["diagnostics"]["history"] == 30  # the two missing hours count as 0
    assert (fc[["value", "lower_80", "lower_95"]] >= 0).all().all()


def test_the_partial_last_bucket_is_left_out() -> None:
    df = hourly(np.array([10.0, 10.0, 10.0, 10.0, 1.0]))
    fc = forecast(df, horizon=1, now=START + pd.Timedelta(hours=4, minutes=5))
    assert fc["bucket"].iloc[0] == START + pd.Timedelta(hours=4)
    assert fc["value"].iloc[0] == pytest.approx(10.0)


def test_quiet_hours_up_to_now_are_zeros_of_counts_or_a_gap_of_a_gauge_and_the_forecast_starts_in_progress() -> None:
    # Counts stop at 04:00; at 06:20 the hours 05:00 is 0 and 06:00 is in progress.
    df = hourly(np.array([10.0, 10.0, 10.0, 10.0, 10.0]))
    now = START + pd.Timedelta(hours=6, minutes=20)
    fc = forecast(df, horizon=2, fill=0.0, now=now)
    assert fc["bucket"].iloc[0] == START + pd.Timedelta(hours=6)
    assert fc.attrs["diagnostics"]["history"] == 6  # 00:00 to 05:00, the quiet hour a zero
    # Without fill (a gauge), a quiet stretch is a gap, not zeros: it is forecast over, and left out.
    gauge = forecast(df, horizon=2, now=now)
    assert gauge["bucket"].iloc[0] == START + pd.Timedelta(hours=6) and len(gauge) == 2
    assert gauge.attrs["diagnostics"]["history"] == 5 and gauge.attrs["diagnostics"]["gap_buckets"] == 1
    assert gauge["value"].iloc[0] == pytest.approx(10.0)


def test_seasons_follow_the_bucket_size_and_crossings_are_found() -> None:
    assert seasons_for(900) == [("daily", 96), ("weekly", 672)][:1]
    assert seasons_for(7 * 86400) == [("yearly", 52)]
    fc = forecast(hourly(np.arange(50.0)), horizon=10, damped=False)
    at = first_crossing(fc, threshold=54.5)  # between the forecasts 54 and 55, not on one
    assert at is not None and at == fc["bucket"].iloc[5]
    assert first_crossing(fc, threshold=1e6) is None


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="horizon"):
        forecast(hourly(np.arange(5.0)), horizon=0)
    with pytest.raises(ValueError, match="missing column"):
        forecast(pd.DataFrame({"value": [1.0]}), horizon=1)
