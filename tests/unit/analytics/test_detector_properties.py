"""Properties of the online detector's scores on small series: ranking, no
saturation, the noise floor, one alarm per level shift (and none for the
return from a short one), the cold start."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.anomalies import detect_anomalies
from analytics.detector import DetectorConfig, OnlineDetector


def frame(values: np.ndarray, freq: str = "min") -> pd.DataFrame:
    ts = pd.date_range("2024-03-04", periods=values.size, freq=freq, tz="UTC")
    return pd.DataFrame({"ts": ts, "value": values.astype(float)})


def noise(n: int, seed: int = 1, sd: float = 1.0) -> np.ndarray:
    return 50.0 + np.random.default_rng(seed).normal(0.0, sd, n)


def test_a_bigger_spike_scores_higher() -> None:
    base = noise(400)
    scores = []
    for size in (4.0, 6.0, 10.0, 30.0, 300.0, 3e6):
        y = base.copy()
        y[300] += size
        scores.append(float(detect_anomalies(frame(y))["anomaly_score"].iloc[300]))
    assert scores == sorted(scores) and len(set(scores)) == len(scores)
    assert scores[-1] < 1.0


def test_no_ties_at_the_top_on_a_long_noisy_series_with_spikes() -> None:
    rng = np.random.default_rng(7)
    y = noise(6000, seed=7)
    at = rng.choice(np.arange(500, 6000), 40, replace=False)
    y[at] += rng.choice([-1.0, 1.0], 40) * rng.uniform(8.0, 400.0, 40)
    s = detect_anomalies(frame(y))["anomaly_score"].to_numpy()
    assert s.max() < 1.0
    assert np.sum(s == s.max()) / s.size <= 0.001
    top = np.sort(s)[-40:]
    assert np.unique(top).size == 40  # the 40 most severe points are all told apart


def test_noise_floor_on_a_flat_series() -> None:
    y = np.full(600, 20.0)
    y[[3, 9]] = 21.0  # seen while learning: the series moves in steps of 1
    blips = [150, 260, 370, 480]
    y[blips] = 21.0  # one resolution unit: a wiggle, not an outage
    out = detect_anomalies(frame(y))
    assert not out["is_anomaly"].any()
    assert np.isfinite(out["anomaly_score"]).all() and out["anomaly_score"].max() < 0.5
    y[550] = 40.0  # a real jump still flags
    assert detect_anomalies(frame(y))["is_anomaly"].iloc[550]


def test_noise_floor_on_integer_counts() -> None:
    rng = np.random.default_rng(3)
    y = rng.poisson(0.4, 3000).astype(float)
    out = detect_anomalies(frame(y))
    assert out["is_anomaly"].mean() <= 0.001
    y[2500] = 25.0
    assert detect_anomalies(frame(y))["is_anomaly"].iloc[2500]


def test_busy_hours_of_a_cyclic_count_are_judged_by_their_counting_noise() -> None:
    # Poisson counts per 5 minutes whose rate swings from 2 to 38 over the day:
    # one SD measured over the whole day is too small for the busy hours.
    rng = np.random.default_rng(5)
    ts = pd.date_range("2024-03-04", periods=4000, freq="5min", tz="UTC")
    rate = 20.0 + 18.0 * np.sin(2 * np.pi * (ts.hour.to_numpy() + ts.minute.to_numpy() / 60.0) / 24.0)
    y = rng.poisson(rate).astype(float)
    quiet = detect_anomalies(pd.DataFrame({"ts": ts, "value": y}))
    assert quiet["is_anomaly"].sum() <= 2  # 7 with one SD for the whole day
    burst = y.copy()
    burst[3000:3012] = rng.poisson(rate[3000:3012] * 3.0)  # an hour at three times the usual rate
    flagged = detect_anomalies(pd.DataFrame({"ts": ts, "value": burst}))["is_anomaly"].to_numpy()
    assert flagged[3000:3012].sum() == 1  # flagged once, the rest of the burst damped as the same episode


def test_a_level_shift_is_flagged_once_then_learned() -> None:
    for seed in range(4):
        y = noise(800, seed=seed)
        y[500:] += 8.0
        out = detect_anomalies(frame(y))
        flags = np.flatnonzero(out["is_anomaly"].to_numpy())
        assert [f for f in flags if 490 <= f < 540] == [500], flags
        assert "damped" in out["reason"].iloc[501]
        assert out["baseline"].iloc[560] > 55.0


def test_a_return_to_the_level_before_a_recent_shift_is_not_a_new_alarm() -> None:
    # A dip of 6 points is learned as a shift after 4; the return to the old
    # level 2 points later ends that excursion: one alarm, not two.
    for seed in range(4):
        y = noise(800, seed=seed)
        y[500:506] -= 10.0
        out = detect_anomalies(frame(y))
        flags = np.flatnonzero(out["is_anomaly"].to_numpy())
        assert [f for f in flags if 490 <= f < 560] == [500], flags
        assert "the level before a recent shift" in out["reason"].iloc[506]
        assert out["anomaly_score"].iloc[506] < 0.3
    # Past the window the old level is forgotten: a return much later is news.
    y = noise(800)
    y[500:600] -= 10.0
    flags = np.flatnonzero(detect_anomalies(frame(y))["is_anomaly"].to_numpy())
    late = [f for f in flags if 490 <= f < 620]
    assert late[0] == 500 and len(late) == 2 and 600 <= late[1] <= 603, flags


def test_an_excursion_that_gets_clearly_worse_flags_again() -> None:
    y = noise(600)
    y[400:420] += np.r_[np.full(3, 8.0), np.full(17, 60.0)]
    flags = np.flatnonzero(detect_anomalies(frame(y))["is_anomaly"].to_numpy())
    assert flags[:2].tolist() == [400, 403]


def test_cold_start_says_learning_and_flags_nothing() -> None:
    y = noise(100)
    y[10] += 1000.0
    out = detect_anomalies(frame(y))
    assert (out["status"].iloc[:30] == "learning").all()
    assert not out["is_anomaly"].iloc[:30].any() and (out["anomaly_score"].iloc[:30] == 0.0).all()
    assert out["reason"].iloc[10].startswith("learning: 10 of 30 points")


def test_the_cold_start_scales_with_the_data_rate() -> None:
    per_second = OnlineDetector(DetectorConfig(season=None))
    per_hour = OnlineDetector(DetectorConfig(season=None))
    t0 = pd.Timestamp("2024-03-04", tz="UTC")
    for i in range(40):
        per_second.update(t0 + pd.Timedelta(seconds=i), 1.0)
        per_hour.update(t0 + pd.Timedelta(hours=i), 1.0)
    assert per_second.learning_points == 300  # five minutes of points
    assert per_hour.learning_points == 30


def test_empty_series() -> None:
    out = detect_anomalies(frame(np.array([])))
    assert out.empty and "status" in out.columns
