"""Online anomaly detection and its CLI (analytics.anomalies, analytics.detector)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from analytics.anomalies import OUTPUT_COLUMNS, detect_anomalies, main
from analytics.detector import DetectorConfig, OnlineDetector, score_from_z

ROOT = Path(__file__).resolve().parents[3]


def series(values: list[float] | np.ndarray, freq: str = "h", start: str = "2024-01-01") -> pd.DataFrame:
    ts = pd.date_range(start, periods=len(values), freq=freq, tz="UTC")
    return pd.DataFrame({"ts": ts, "value": np.asarray(values, dtype=float)})


def synthetic(
    seed: int, *, days: int = 45, amp: float = 10.0, n_spikes: int = 20, shift: float = 20.0, shift_day: int = 30
) -> tuple[pd.DataFrame, set[int], int]:
    """Hourly series: level 100, daily sine of amplitude ``amp``, N(0, 1) noise,
    spikes of 6-12 SDs (either sign) and a level shift on ``shift_day``."""
    rng = np.random.default_rng(seed)
    n = days * 24
    hours = np.arange(n) % 24
    y = 100.0 + amp * np.sin(2 * np.pi * hours / 24) + rng.normal(0.0, 1.0, n)
    shift_at = shift_day * 24 + 7
    y[shift_at:] += shift
    allowed = np.setdiff1d(np.arange(8 * 24, n), np.arange(shift_at - 2, shift_at + 12))
    spikes = np.sort(rng.choice(allowed, n_spikes, replace=False))
    y[spikes] += rng.uniform(6.0, 12.0, n_spikes) * rng.choice([-1.0, 1.0], n_spikes)
    return series(y), set(spikes.tolist()), shift_at


def precision_recall(seeds: range, k: float = 4.0, **kwargs: float) -> tuple[float, float, list[int]]:
    tp = fp = fn = 0
    shift_flags = []
    for seed in seeds:
        df, spikes, shift_at = synthetic(seed, **kwargs)  # type: ignore[arg-type]
        out = detect_anomalies(df, k=k)
        flagged = set(np.flatnonzero(out["is_anomaly"].to_numpy()).tolist())
        after_shift = set(range(shift_at, shift_at + 72))
        shift_flags.append(len((flagged & after_shift) - spikes))
        rest = flagged - after_shift
        spikes_scored = spikes - after_shift
        tp += len(rest & spikes_scored)
        fp += len(rest - spikes_scored)
        fn += len(spikes_scored - rest)
    return tp / (tp + fp), tp / (tp + fn), shift_flags


def test_score_mapping() -> None:
    # The score of a Gaussian z: the surprise -log10 P(|Z| >= z) over that of k SDs plus itself.
    assert score_from_z(0.0, 4.0) == 0.0
    assert score_from_z(4.0, 4.0) == 0.5 and score_from_z(-4.0, 4.0) == 0.5
    assert 0.5 < score_from_z(8.0, 4.0) < score_from_z(80.0, 4.0) < score_from_z(800.0, 4.0) < 1.0
    assert score_from_z(math.inf, 4.0) == 1.0


def test_output_shape_and_reason_of_a_spike() -> None:
    vals = [100.0 + (i % 5) for i in range(40)]
    vals[35] = 300.0
    out = detect_anomalies(series(vals, freq="min"), min_history=20)
    assert list(out.columns) == OUTPUT_COLUMNS
    assert out["is_anomaly"].tolist() == [i == 35 for i in range(40)]
    row = out.iloc[35]
    assert row["reason"].startswith(
        "value 300 is 133.5 SDs above the expected 102 (median of previous 35 points); as rare as 1 in"
    )
    assert row["baseline"] == 102.0 and row["lower"] < 102.0 < row["upper"]
    assert row["upper"] - 102.0 == pytest.approx(102.0 - row["lower"])
    assert 0.9 < row["anomaly_score"] < 1.0
    assert out["anomaly_score"].between(0.0, 1.0).all()


def test_first_points_are_warming_up() -> None:
    out = detect_anomalies(series(np.arange(40.0)), min_history=30)
    assert (out["anomaly_score"].iloc[:30] == 0.0).all() and out["baseline"].iloc[:30].isna().all()
    assert out["reason"].iloc[3] == "learning: 3 of 30 points before scoring starts"
    assert (out["status"].iloc[:30] == "learning").all() and (out["status"].iloc[30:] == "scored").all()
    assert out["baseline"].iloc[30:].notna().all()


def test_scores_of_a_prefix_do_not_change_when_points_are_appended() -> None:
    df, _, _ = synthetic(11, days=40)
    full = detect_anomalies(df)
    for cut in (50, 300, 721, 800):
        assert_frame_equal(detect_anomalies(df.iloc[:cut]), full.iloc[:cut])


def test_incremental_detector_matches_the_batch_function() -> None:
    df, _, _ = synthetic(12, days=25)
    batch = detect_anomalies(df)
    detector = OnlineDetector(DetectorConfig())
    live = [detector.update(t, v) for t, v in zip(df["ts"], df["value"])]
    assert [r.score for r in live] == batch["anomaly_score"].tolist()
    assert [r.reason for r in live] == batch["reason"].tolist()


def test_finds_spikes_in_a_seasonal_series_with_a_level_shift() -> None:
    # Spikes make 1.85 % of these points, from the 8th day on: the daily
    # predictor's first tails are learnt from a few hundred errors, so at the
    # default k = 4 some early spikes stay under the threshold (measured:
    # precision 1.00, recall 0.77); the more sensitive k = 3.5 finds them
    # (precision 1.00, recall 0.99; over 50 seeds 0.986 and 0.986).
    precision, recall, shift_flags = precision_recall(range(5))
    assert precision >= 0.95 and recall >= 0.75
    precision, recall, shift_flags = precision_recall(range(5), k=3.5)
    assert precision >= 0.9 and recall >= 0.9
    # A sustained shift is flagged at most shift_after (4) times, then re-learned.
    assert max(shift_flags) <= 4


def test_finds_spikes_in_a_flat_series_with_a_level_shift() -> None:
    precision, recall, shift_flags = precision_recall(range(5), amp=0.0)
    # Measured on these seeds: precision 0.95, recall 1.00 (over 50 seeds: 0.967 and 0.996).
    assert precision >= 0.9 and recall >= 0.9
    assert max(shift_flags) <= 4


def test_downward_shift_is_relearned_too() -> None:
    df, _, shift_at = synthetic(3, amp=0.0, n_spikes=0, shift=-30.0)
    out = detect_anomalies(df)
    flags = np.flatnonzero(out["is_anomaly"].to_numpy())
    assert len([i for i in flags if i >= shift_at]) <= 4
    assert "level re-learned" in " ".join(out["reason"].iloc[shift_at : shift_at + 6])
    assert out["baseline"].iloc[shift_at + 10] == pytest.approx(70.0, abs=1.0)


def test_daily_season_is_used_once_learned_and_named_in_local_time() -> None:
    df, _, _ = synthetic(5, days=12, n_spikes=0, shift=0.0)
    out = detect_anomalies(df, tz="Asia/Tokyo")
    last = out["reason"].iloc[-1]
    # The last point is 23:00 UTC, 08:00 in Tokyo.
    assert "previous values at 08:00 Asia/Tokyo" in last
    assert "previous 60 points" in out["reason"].iloc[70]
    assert not out["is_anomaly"].any()


def test_weekly_pattern_is_learned_after_three_weeks() -> None:
    rng = np.random.default_rng(21)
    n = 9 * 7 * 24
    ts = pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC")  # a Monday
    y = (
        np.where(ts.day_of_week >= 5, 40.0, 100.0)
        + 10 * np.sin(2 * np.pi * ts.hour.to_numpy() / 24)
        + rng.normal(0.0, 1.0, n)
    )
    ready = 5 * 7 * 24
    spikes = np.sort(rng.choice(np.arange(ready, n), 15, replace=False))
    y[spikes] += rng.uniform(6.0, 12.0, 15) * rng.choice([-1.0, 1.0], 15)
    out = detect_anomalies(pd.DataFrame({"ts": ts, "value": y}))
    flagged = set(np.flatnonzero(out["is_anomaly"].to_numpy()).tolist())
    late = {i for i in flagged if i >= ready}
    assert len(late & set(spikes.tolist())) >= 14 and len(late - set(spikes.tolist())) <= 1
    assert "at Sun 23:00 UTC" in out["reason"].iloc[-1]
    # Before the weekly predictor is ready each weekend edge costs at most 4 flags.
    assert len(flagged) - len(late) <= 4 * 2 * 5


def test_without_season_a_strong_daily_cycle_hides_nothing_but_flags_nothing() -> None:
    df, _, _ = synthetic(6, days=10, n_spikes=0, shift=0.0)
    assert not detect_anomalies(df, season=None)["is_anomaly"].any()


def test_noise_does_not_flood() -> None:
    rng = np.random.default_rng(8)
    gauss = detect_anomalies(series(rng.normal(100.0, 25.0, 2000), freq="min"))
    assert gauss["is_anomaly"].mean() <= 0.002
    heavy = detect_anomalies(series(100.0 + 10.0 * rng.standard_t(3, 2000), freq="min"))
    # Student-t with 3 degrees of freedom: measured 1.2 % over 5 seeds.
    assert heavy["is_anomaly"].mean() <= 0.025
    counts = detect_anomalies(series(rng.poisson(0.3, 2000).astype(float), freq="min"))
    assert counts["is_anomaly"].mean() <= 0.025


def test_constant_history_flags_any_change() -> None:
    out = detect_anomalies(series([0.0] * 40 + [1.0]), min_history=10)
    assert out["is_anomaly"].tolist() == [False] * 40 + [True]
    assert "above the expected 0" in out["reason"].iloc[-1]
    assert out["reason"].iloc[20] == "value 0 equals the expected 0 (median of previous 20 points)"


def test_missing_values_are_reported_and_skipped() -> None:
    vals = [10.0 + (i % 3) for i in range(30)]
    vals[25] = np.nan
    out = detect_anomalies(series(vals), min_history=10)
    assert out["reason"].iloc[25] == "missing value"
    assert not out["is_anomaly"].iloc[25] and np.isnan(out["baseline"].iloc[25])
    assert "previous 25 points" in out["reason"].iloc[26]


def test_empty_and_unsorted_input() -> None:
    empty = detect_anomalies(series([]))
    assert empty.empty and list(empty.columns) == OUTPUT_COLUMNS
    df = series(np.arange(40.0)).iloc[::-1]
    assert detect_anomalies(df)["ts"].is_monotonic_increasing


@pytest.mark.parametrize("kwargs", [{"season": "month"}, {"threshold": 1.0}, {"k": 0.0}, {"window": 2}])
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        detect_anomalies(series([1.0, 2.0]), **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ CLI


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_cli_scores_a_csv(tmp_path: Path) -> None:
    rows = "\n".join(f"2024-01-01T00:{i:02d}:00Z,{100 + i % 5}" for i in range(40))
    src = write_csv(tmp_path / "in.csv", "timestamp,value\n" + rows.replace(",135", ",999") + "\n")
    lines = (tmp_path / "in.csv").read_text().splitlines()
    lines[36] = "2024-01-01T00:35:00Z,999"
    src.write_text("\n".join(lines) + "\n")
    assert main([str(src), str(tmp_path / "out.csv"), "--min-history", "20"]) == 0
    out = (tmp_path / "out.csv").read_text().splitlines()
    assert out[0] == "timestamp,value,anomaly_score,is_anomaly"
    assert out[1] == "2024-01-01T00:00:00Z,100.0,0.0,false"
    stamp, value, score, flag = out[36].split(",")
    assert (stamp, value, flag) == ("2024-01-01T00:35:00Z", "999.0", "true") and 0.9 < float(score) < 1.0
    assert sum(line.endswith(",true") for line in out) == 1


def test_cli_threshold_changes_what_is_flagged(tmp_path: Path) -> None:
    vals = np.random.default_rng(1).normal(0, 1, 200)
    text = "timestamp,value\n" + "".join(f"{1_700_000_000 + 60 * i},{v}\n" for i, v in enumerate(vals))
    src = write_csv(tmp_path / "in.csv", text)
    assert main([str(src), str(tmp_path / "a.csv"), "--threshold", "0.05"]) == 0
    assert main([str(src), str(tmp_path / "b.csv")]) == 0
    loose = pd.read_csv(tmp_path / "a.csv")["is_anomaly"].sum()
    strict = pd.read_csv(tmp_path / "b.csv")["is_anomaly"].sum()
    assert loose > strict


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        ("time,value\n2024-01-01T00:00:00Z,1\n", "missing column(s) timestamp"),
        ("timestamp,value\nyesterday,1\n", "not timestamps"),
        ("timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:01:00Z,abc\n", "line 3: value 'abc' is not a number"),
        ("", "cannot read CSV"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    src = tmp_path / "in.csv"
    if content is not None:
        src.write_text(content)
    assert main([str(src), str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert not (tmp_path / "out.csv").exists()


def test_cli_runs_as_a_module(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", "timestamp,value\n2024-01-01T00:00:00Z,1\n")
    done = subprocess.run(
        [sys.executable, "-m", "analytics.anomalies", str(src), str(tmp_path / "out.csv")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (
        tmp_path / "out.csv"
    ).read_text() == "timestamp,value,anomaly_score,is_anomaly\n2024-01-01T00:00:00Z,1.0,0.0,false\n"


def test_live_detector_refuses_naive_or_out_of_order_points() -> None:
    detector = OnlineDetector()
    detector.update(pd.Timestamp("2024-05-01 10:00", tz="UTC"), 1.0)
    with pytest.raises(ValueError, match="time order"):
        detector.update(pd.Timestamp("2024-05-01 09:00", tz="UTC"), 1.0)
    with pytest.raises(ValueError, match="timezone-aware"):
        detector.update(pd.Timestamp("2024-05-01 11:00"), 1.0)


def test_cli_unwritable_output_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_csv(tmp_path / "in.csv", "timestamp,value\n2024-01-01T00:00:00Z,1\n")
    assert main([str(src), str(tmp_path / "missing-dir" / "out.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err


def test_cli_reads_offsets_and_naive_timestamps_as_utc(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", "timestamp,value\n2024-01-01T02:00:00+02:00,1\n2024-01-01 00:01:00,2\n")
    assert main([str(src), str(tmp_path / "out.csv")]) == 0
    stamps = [line.split(",")[0] for line in (tmp_path / "out.csv").read_text().splitlines()[1:]]
    assert stamps == ["2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z"]
