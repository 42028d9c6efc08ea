"""Anomalies of a ``ts, value`` series, scored online, and the CLI
``python -m analytics.anomalies IN.csv OUT.csv [--threshold T]``.

Online: each point is scored from earlier points only, so appending points
never changes the scores already given. How points are scored (the median of
previous points or of the same hour in past days or weeks, a noise floor, a
tail probability calibrated on the detector's own recent errors, one alarm
per excursion, level-shift re-learning, the cold start) is described in
:mod:`analytics.detector`; what a score means for an operator in
``docs/anomaly-detection.md``.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics._frames import series_arrays
from analytics.detector import DetectorConfig, OnlineDetector, gaussian_log10_sf, score_from_surprise
from core.compute import LOCAL, Compute, chunked

OUTPUT_COLUMNS = [
    "ts",
    "value",
    "anomaly_score",
    "is_anomaly",
    "baseline",
    "lower",
    "upper",
    "reason",
    "status",
    "predictor",
]
CHUNK_POINTS = 5_000  # points per task when a scan runs on a cluster (whole series per task)


def detect_anomalies(
    series: pd.DataFrame,
    *,
    window: int = 60,
    min_history: int = 30,
    k: float = 4.0,
    threshold: float = 0.5,
    season: str | None = "auto",
    seasons: int | None = None,
    min_season_points: int = 3,
    shift_after: int = 4,
    tz: str = "UTC",
    ts_col: str = "ts",
    value_col: str = "value",
) -> pd.DataFrame:
    """Score every point of a series; columns ``ts, value, anomaly_score``
    (0..1, a calibrated tail probability: 0.5 is a deviation seen once in
    ~16,000 normal points at the default ``k``), ``is_anomaly``, ``baseline``
    (expected value), ``lower, upper`` (where the score crosses ``threshold``),
    ``reason``, ``status`` (``scored``, ``learning`` or ``missing``) and
    ``predictor`` (``plain``, ``day`` or ``week``), sorted by ``ts``.

    ``season`` is ``"auto"``, ``"day"``, ``"week"`` or None (plain mode
    only); ``seasons`` overrides how many past periods are compared (7 days,
    4 weeks); local hours are taken in ``tz``. The cold start (the first
    ``min_history`` points, more at high data rates) and missing values get
    score 0 and NaN baseline.

    >>> ts = pd.date_range("2024-05-01", periods=40, freq="min", tz="UTC")
    >>> vals = [100.0 + (i % 5) for i in range(40)]
    >>> vals[35] = 300.0
    >>> out = detect_anomalies(pd.DataFrame({"ts": ts, "value": vals}), min_history=20)
    >>> int(out["is_anomaly"].sum()), out.loc[35, "reason"].split(";")[0]
    (1, 'value 300 is 133.5 SDs above the expected 102 (median of previous 35 points)')
    >>> out.loc[3, "status"], out.loc[35, "status"], out.loc[35, "predictor"]
    ('learning', 'scored', 'plain')
    """
    config = DetectorConfig(
        window=window,
        min_history=min_history,
        k=k,
        threshold=threshold,
        season=season,
        seasons=seasons,
        min_season_points=min_season_points,
        shift_after=shift_after,
        tz=tz,
    )
    ts, vals = series_arrays(series, "detect_anomalies", ts_col, value_col)
    n = vals.size
    secs = (ts - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=np.float64)
    local = ts.dt.tz_convert(tz)
    hours = local.dt.hour.to_numpy(dtype=np.int64)
    weekly = local.dt.day_of_week.to_numpy(dtype=np.int64) * 24 + hours
    detector = OnlineDetector(config)
    rows = [
        detector.update_at(float(secs[i]), {"day": int(hours[i]), "week": int(weekly[i])}, float(vals[i]))
        for i in range(n)
    ]
    return pd.DataFrame(
        {
            "ts": ts,
            "value": vals,
            "anomaly_score": np.array([r.score for r in rows], dtype=np.float64),
            "is_anomaly": np.array([r.is_anomaly for r in rows], dtype=bool),
            "baseline": np.array([r.baseline for r in rows], dtype=np.float64),
            "lower": np.array([r.lower for r in rows], dtype=np.float64),
            "upper": np.array([r.upper for r in rows], dtype=np.float64),
            "reason": pd.Series([r.reason for r in rows], dtype=object),
            "status": pd.Series([r.status for r in rows], dtype=object),
            "predictor": pd.Series([r.predictor for r in rows], dtype=object),
        }
    )[OUTPUT_COLUMNS]


def detect_many(series: Sequence[pd.DataFrame], *, executor: Compute = LOCAL, **options: Any) -> list[pd.DataFrame]:
    """:func:`detect_anomalies` of each series (with the same ``options``),
    in the order given. The series are independent: ``executor`` runs them in
    this process or, in chunks of whole series, on a Dask cluster; the
    frames are the same either way.

    >>> ts = pd.date_range("2024-05-01", periods=40, freq="min", tz="UTC")
    >>> flat = pd.DataFrame({"ts": ts, "value": [100.0 + (i % 5) for i in range(40)]})
    >>> spiked = flat.assign(value=flat["value"].where(flat.index != 35, 300.0))
    >>> [int(out["is_anomaly"].sum()) for out in detect_many([flat, spiked], min_history=20)]
    [0, 1]
    """
    frames = list(series)
    if not frames:
        return []
    per_series = max(1, sum(len(f) for f in frames) // len(frames))
    chunks = chunked(frames, max(1, CHUNK_POINTS // per_series))
    done = executor.map(functools.partial(_detect_chunk, options), chunks)
    return [out for part in done for out in part]


def _detect_chunk(options: dict[str, Any], frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    return [detect_anomalies(frame, **options) for frame in frames]


def combine_channels(scores: npt.ArrayLike, k: float = 4.0) -> npt.NDArray[np.float64]:
    """One score per timestamp for ``m`` channels scored on the same timestamps
    (an ``m x n`` array of :func:`detect_anomalies` scores at the same ``k``):
    the most surprising channel, Sidak-corrected for having looked at ``m``
    of them. Each score is turned back into its tail probability ``p``; the
    combined one is ``1 - (1 - min p) ** m``, the chance that at least one of
    ``m`` normal channels is that surprising, so that the threshold keeps its
    meaning (``0.5``: once in ~16,000 normal timestamps, not channel-points).

    >>> one = combine_channels([[0.0, 0.5, 0.9]])
    >>> [round(float(v), 12) for v in one]
    [0.0, 0.5, 0.9]
    >>> both = combine_channels([[0.0, 0.5, 0.9], [0.2, 0.1, 0.95]])
    >>> bool(both[1] < 0.5 and 0.9 < both[2] < 0.95)
    True
    """
    s = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    m, half = s.shape[0], -gaussian_log10_sf(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        surprise = np.where(s >= 1.0, np.inf, half * s / (1.0 - s)).max(axis=0)
        p = np.power(10.0, -np.minimum(surprise, 300.0))
        exact = -np.log10(-np.expm1(m * np.log1p(-p)))
    # Far out 1 - (1 - p)^m is m p to double precision: keep the log form (no rounding to 1).
    combined = np.where(surprise > 12.0, surprise - np.log10(m), exact)
    return np.array([score_from_surprise(float(v), half) for v in combined], dtype=np.float64)


def _read_input(path: str) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        detail = " ".join(str(exc).split())
        raise ValueError(f"{path}: cannot read CSV ({detail})") from None
    missing = [c for c in ("timestamp", "value") if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    stamps = raw["timestamp"]
    try:
        if pd.api.types.is_numeric_dtype(stamps):
            ts = pd.to_datetime(stamps, unit="s", utc=True)
        else:
            # Naive timestamps in a CSV are read as UTC, the product's convention.
            # "mixed", not "ISO8601": the latter gives naive stamps the offset of
            # the first stamp that has one (pandas 2.3).
            ts = pd.to_datetime(stamps, utc=True, format="mixed")
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{path}: column timestamp holds values that are not timestamps") from None
    values = pd.to_numeric(raw["value"], errors="coerce")
    bad = values.isna() & raw["value"].notna()
    if bad.any():
        line = int(np.argmax(bad.to_numpy())) + 2
        raise ValueError(f"{path}: line {line}: value {raw['value'][bad].iloc[0]!r} is not a number")
    if ts.isna().any():
        line = int(np.argmax(ts.isna().to_numpy())) + 2
        raise ValueError(f"{path}: line {line}: missing timestamp")
    return pd.DataFrame({"ts": ts, "value": values.astype("float64")})


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m analytics.anomalies IN.csv OUT.csv [--threshold T]``: read
    ``timestamp,value`` and write ``timestamp,value,anomaly_score,is_anomaly``
    (time order). Bad input: one-line error on stderr, exit status 2.

    >>> main(["/nonexistent/in.csv", "/nonexistent/out.csv"])
    2
    """
    parser = argparse.ArgumentParser(
        prog="python -m analytics.anomalies",
        description="Score a timestamp,value CSV with the online anomaly detector.",
    )
    parser.add_argument("input", help="CSV with columns timestamp,value")
    parser.add_argument("output", help="CSV to write")
    parser.add_argument("--threshold", type=float, default=0.5, help="score above which a point is an anomaly (0..1)")
    parser.add_argument("--k", type=float, default=4.0, help="a Gaussian deviation of k SDs scores 0.5")
    parser.add_argument("--window", type=int, default=60, help="previous points in the plain baseline")
    parser.add_argument("--min-history", type=int, default=30, help="points before scoring starts")
    parser.add_argument(
        "--season",
        choices=["auto", "day", "week", "none"],
        default="auto",
        help="compare with the same hour of past days/weeks (default: auto)",
    )
    args = parser.parse_args(argv)
    try:
        frame = _read_input(args.input)
        out = detect_anomalies(
            frame,
            threshold=args.threshold,
            k=args.k,
            window=args.window,
            min_history=args.min_history,
            season=None if args.season == "none" else args.season,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = pd.DataFrame(
        {
            "timestamp": out["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").str.replace(r"\.000000Z$", "Z", regex=True),
            "value": out["value"],
            # Full precision: rounding would tie distinct severities near 1.
            "anomaly_score": out["anomaly_score"],
            "is_anomaly": np.where(out["is_anomaly"], "true", "false"),
        }
    )
    try:
        result.to_csv(args.output, index=False)
    except OSError as exc:
        print(f"error: {args.output}: cannot write ({exc.strerror})", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
