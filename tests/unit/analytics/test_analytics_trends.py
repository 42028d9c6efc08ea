"""Theil-Sen slope and Mann-Kendall trend test (analytics.trends)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analytics.trends import mann_kendall, trend


def daily(values: np.ndarray | list[float], start: str = "2024-01-01") -> pd.DataFrame:
    ts = pd.date_range(start, periods=len(values), freq="D", tz="UTC")
    return pd.DataFrame({"ts": ts, "value": np.asarray(values, dtype=float)})


def test_exact_line_gives_its_slope_and_percent_change() -> None:
    t = trend(daily([10.0 + 2 * i for i in range(10)]))
    assert (t.direction, t.significant, t.n) == ("increasing", True, 10)
    assert t.slope_per_day == pytest.approx(2.0)
    assert t.start_value == pytest.approx(10.0) and t.end_value == pytest.approx(28.0)
    assert t.pct_change == pytest.approx(180.0)
    assert t.start_ts == pd.Timestamp("2024-01-01", tz="UTC") and t.end_ts == pd.Timestamp("2024-01-10", tz="UTC")


def test_known_slope_is_recovered_from_noisy_data() -> None:
    rng = np.random.default_rng(3)
    t = trend(daily(50.0 - 0.5 * np.arange(60) + rng.normal(0, 2.0, 60)))
    assert t.direction == "decreasing" and t.p_value is not None and t.p_value < 0.001
    assert t.slope_per_day == pytest.approx(-0.5, abs=0.05)
    assert t.slope_low_per_day is not None and t.slope_high_per_day is not None
    assert t.slope_low_per_day <= t.slope_per_day <= t.slope_high_per_day


def test_slope_is_per_day_whatever_the_sampling() -> None:
    ts = pd.date_range("2024-01-01", periods=48, freq="h", tz="UTC")
    t = trend(pd.DataFrame({"ts": ts, "value": np.arange(48, dtype=float)}))
    assert t.slope_per_day == pytest.approx(24.0)


def test_an_outlier_does_not_flip_the_direction() -> None:
    rng = np.random.default_rng(4)
    values = 100.0 - 1.0 * np.arange(30) + rng.normal(0, 1.0, 30)
    values[-1] = 10_000.0
    t = trend(daily(values))
    assert t.direction == "decreasing"
    assert t.slope_per_day == pytest.approx(-1.0, abs=0.15)


def test_flat_noise_is_rarely_significant() -> None:
    significant = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        t = trend(daily(rng.normal(100.0, 5.0, 40)))
        significant += t.significant
        assert t.direction in ("stable", "increasing", "decreasing")
    # alpha = 0.05 -> about 3 of 60 expected by chance.
    assert significant <= 7


def test_flat_noise_with_a_fixed_seed_is_stable() -> None:
    t = trend(daily(np.random.default_rng(1).normal(100.0, 5.0, 40)))
    assert (t.direction, t.significant) == ("stable", False)


def test_mann_kendall_with_ties() -> None:
    r = mann_kendall([1.0, 2.0, 2.0, 3.0, 5.0])
    # S = 9; Var = (5*4*15 - 2*1*9) / 18 = 15.667; z = 8 / sqrt(15.667).
    assert r.s == 9 and r.z == pytest.approx(8 / np.sqrt(282 / 18)) and r.p_value == pytest.approx(0.0433, abs=1e-4)
    assert mann_kendall([3.0, 3.0, 3.0, 3.0]) == mann_kendall([]) == mann_kendall([1.0])
    assert mann_kendall([3.0, 3.0, 3.0, 3.0]).p_value == 1.0


def test_mann_kendall_ignores_nan() -> None:
    assert mann_kendall([1.0, np.nan, 2.0, 3.0]).s == 3


@pytest.mark.parametrize("values", [[], [1.0], [1.0, 2.0, 3.0], [np.nan] * 6])
def test_short_series_has_insufficient_data(values: list[float]) -> None:
    t = trend(daily(values))
    assert (t.direction, t.significant, t.slope_per_day, t.pct_change) == ("insufficient_data", False, None, None)


def test_single_timestamp_has_insufficient_data() -> None:
    ts = pd.to_datetime(["2024-01-01"] * 5, utc=True)
    assert trend(pd.DataFrame({"ts": ts, "value": [1.0, 2, 3, 4, 5]})).direction == "insufficient_data"


def test_missing_values_are_skipped() -> None:
    t = trend(daily([1.0, np.nan, 3.0, 4.0, np.nan, 6.0, 7.0]))
    assert t.n == 5 and t.slope_per_day == pytest.approx(1.0)


def test_percent_change_is_none_from_a_zero_start() -> None:
    t = trend(daily([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]))
    assert t.pct_change is None and t.direction == "increasing"


def test_min_change_pct_keeps_small_significant_changes_stable() -> None:
    values = 1000.0 + 0.01 * np.arange(30)
    assert trend(daily(values)).direction == "increasing"
    assert trend(daily(values), min_change_pct=1.0).direction == "stable"


def test_long_series_are_reduced_but_keep_the_slope() -> None:
    rng = np.random.default_rng(5)
    ts = pd.date_range("2024-01-01", periods=6000, freq="min", tz="UTC")
    df = pd.DataFrame({"ts": ts, "value": 0.001 * np.arange(6000) + rng.normal(0, 0.5, 6000)})
    t = trend(df, max_points=500)
    assert t.n == 6000 and t.slope_per_day == pytest.approx(1.44, rel=0.05)


def test_unsorted_input_and_as_dict() -> None:
    df = daily([1.0, 2.0, 3.0, 4.0, 5.0]).iloc[::-1]
    d = trend(df).as_dict()
    assert d["start_ts"] == "2024-01-01T00:00:00+00:00" and d["direction"] == "increasing"
    json.dumps(d)


def test_bad_alpha_is_refused() -> None:
    with pytest.raises(ValueError):
        trend(daily([1.0, 2.0, 3.0, 4.0]), alpha=1.5)
