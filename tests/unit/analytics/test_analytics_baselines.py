"""Baselines over a lookback and per point (analytics.baselines)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from analytics.baselines import Baseline, baseline, robust_sigma, rolling_baseline


def hourly(values: list[float] | np.ndarray, start: str = "2024-05-01") -> pd.DataFrame:
    ts = pd.date_range(start, periods=len(values), freq="h", tz="UTC")
    return pd.DataFrame({"ts": ts, "value": np.asarray(values, dtype=float)})


SERIES = hourly([10.0, 11, 9, 10, 12, 8, 90])
SD = 1.4826  # MAD of the six normal points is 1


def test_intelligent_baseline_excludes_outliers_then_recomputes() -> None:
    b = baseline(SERIES)
    assert b == Baseline(
        centre=10.0,
        lower=pytest.approx(10 - 3 * SD),
        upper=pytest.approx(10 + 3 * SD),
        method="intelligent",
        n_used=6,
        n_excluded=1,
        sigma=pytest.approx(SD),
    )


def test_the_band_of_a_series_that_never_went_below_zero_stops_at_zero() -> None:
    cpu = hourly([0.2, 0.9, 0.1, 1.4, 0.3, 2.0, 0.5, 1.1])  # CPU seconds: a wide band around a small median
    for method in ("intelligent", "median", "mean"):
        b = baseline(cpu, method=method)  # type: ignore[arg-type]
        assert b.lower == 0.0 and b.upper is not None and b.upper > 2.0
    signed = hourly([0.2, -0.9, 0.1, 1.4, 0.3, 2.0, 0.5, 1.1])  # a value that can be negative keeps its band
    assert (baseline(signed, method="mean").lower or 0.0) < 0.0


def test_median_baseline_keeps_every_point() -> None:
    b = baseline(SERIES, method="median", k=2.0)
    assert (b.centre, b.n_used, b.n_excluded) == (10.0, 7, 0)
    assert b.upper == pytest.approx(10 + 2 * SD)


def test_mean_baseline_is_pulled_by_outliers() -> None:
    b = baseline(SERIES, method="mean")
    values = SERIES["value"].to_numpy()
    assert b.centre == pytest.approx(values.mean())
    assert b.upper == pytest.approx(values.mean() + 3 * values.std(ddof=1))


def test_percentile_baseline_band_is_the_percentiles() -> None:
    b = baseline(hourly(np.arange(101.0)), method="percentile", percentile=90)
    assert (b.centre, b.lower, b.upper) == (50.0, pytest.approx(10.0), pytest.approx(90.0))


def test_lookback_in_points_and_in_time() -> None:
    s = hourly([100.0] * 10 + [10.0, 11.0, 9.0])
    assert baseline(s, lookback=3).centre == 10.0
    assert baseline(s, lookback="2h").centre == 10.0  # 10:00..12:00 -> the last three points
    at_nine = baseline(s, lookback="3h", now=pd.Timestamp("2024-05-01 09:00", tz="UTC"))
    assert at_nine.centre == 100.0 and at_nine.n_used == 4


def test_empty_single_and_missing() -> None:
    assert baseline(hourly([])) == Baseline(None, None, None, "intelligent", 0, 0)
    one = baseline(hourly([5.0]))
    assert (one.centre, one.lower, one.upper, one.n_used) == (5.0, pytest.approx(4.85), pytest.approx(5.15), 1)
    assert baseline(hourly([np.nan, 4.0, np.nan]), method="mean") == Baseline(4.0, 4.0, 4.0, "mean", 1, 0, 0.0)


def test_robust_sigma_fallbacks() -> None:
    assert robust_sigma([1.0, 2.0, 3.0, 4.0, 100.0]) == pytest.approx(SD)
    # MAD is 0 but the quartiles differ: IQR / 1.349.
    assert robust_sigma([5.0, 5.0, 5.0, 5.0, 6.0, 7.0, 8.0]) == pytest.approx(1.5 / 1.349)
    # MAD and IQR are 0: scaled mean absolute deviation.
    assert robust_sigma([5.0, 5.0, 5.0, 5.0, 6.0]) == pytest.approx(1.2533 * 0.2)
    # Constant: 1 % of the centre, or 0 for a constant zero.
    assert robust_sigma([200.0] * 4) == pytest.approx(2.0)
    assert robust_sigma([0.0] * 4) == 0.0
    assert robust_sigma([]) == 0.0


def test_constant_series_gets_a_narrow_band() -> None:
    b = baseline(hourly([50.0] * 20))
    assert (b.centre, b.lower, b.upper) == (50.0, pytest.approx(48.5), pytest.approx(51.5))


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="method"):
        baseline(SERIES, method="magic")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        baseline(SERIES, k=0)
    with pytest.raises(ValueError):
        baseline(SERIES, lookback=0)


def test_rolling_baseline_uses_only_earlier_points() -> None:
    out = rolling_baseline(hourly([1.0, 2.0, 3.0, 4.0, 5.0]), method="median", window=3, min_periods=2, k=1)
    expected = pd.DataFrame(
        {
            "ts": pd.date_range("2024-05-01", periods=5, freq="h", tz="UTC"),
            "value": [1.0, 2.0, 3.0, 4.0, 5.0],
            "centre": [np.nan, np.nan, 1.5, 2.0, 3.0],
            "lower": [np.nan, np.nan, 1.5 - 0.5 * SD, 2.0 - SD, 3.0 - SD],
            "upper": [np.nan, np.nan, 1.5 + 0.5 * SD, 2.0 + SD, 3.0 + SD],
            "n_used": np.array([0, 0, 2, 3, 3], dtype="int64"),
        }
    )
    assert_frame_equal(out, expected)


def test_rolling_baseline_rows_match_baseline_of_the_previous_window() -> None:
    values = np.random.default_rng(2).normal(100, 10, 80)
    values[40] = 500.0
    s = hourly(values)
    out = rolling_baseline(s, window=30, min_periods=5)
    for i in (10, 41, 79):
        b = baseline(s.iloc[max(0, i - 30) : i])
        assert out["centre"].iloc[i] == pytest.approx(b.centre)
        assert out["upper"].iloc[i] == pytest.approx(b.upper)
        assert out["n_used"].iloc[i] == b.n_used


def test_rolling_baseline_does_not_look_ahead() -> None:
    values = np.random.default_rng(3).normal(10, 1, 50)
    before = rolling_baseline(hourly(values))
    changed = values.copy()
    changed[30:] = 1000.0
    after = rolling_baseline(hourly(changed))
    assert_frame_equal(before.iloc[:31].drop(columns="value"), after.iloc[:31].drop(columns="value"))


@pytest.mark.parametrize("method", ["mean", "percentile", "intelligent"])
def test_rolling_methods_and_empty_input(method: str) -> None:
    out = rolling_baseline(hourly(np.arange(20.0)), method=method, window=10)  # type: ignore[arg-type]
    assert out["centre"].iloc[:5].isna().all() and out["centre"].iloc[5:].notna().all()
    empty = rolling_baseline(hourly([]), method=method)  # type: ignore[arg-type]
    assert empty.empty and list(empty.columns) == ["ts", "value", "centre", "lower", "upper", "n_used"]
