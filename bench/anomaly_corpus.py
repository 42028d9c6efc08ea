"""A labeled corpus of realistic metric series for ``bench/anomalies.py``.

    .venv/bin/python bench/anomaly_corpus.py [--seed 20240501] [--out DIR]

Deterministic (fixed seed): :func:`corpus` returns the same series on every
run. Each series is ``(name, kind, ts, values, labels)`` with ``labels`` the
indices where an anomaly starts (empty for the anomaly-free ones). Kinds, in
equal shares (6 of each, 60 series):

* ``flat_steps``: a gauge that holds a value for long stretches (integer
  levels) with rare one-point blips of one unit (normal) and one labeled
  step of several units;
* ``counts``: Poisson counts per 5 minutes with daily and weekly cycles
  (quieter weekends); labeled: a burst of a few hours;
* ``latency``: heavy-tailed per-minute p95 latencies (log-normal with
  Student-t noise); labeled: a sustained slowdown;
* ``drift``: a slowly drifting level (normal) with labeled spikes;
* ``variance``: Gaussian noise whose SD triples at the label;
* ``spikes`` / ``dips``: labeled single-point spikes or dips on noise;
* ``level_shift``: a labeled shift of 4-8 SDs that persists;
* ``gaps``: per-minute series with collection gaps (no points for hours,
  not labeled) and a labeled spike after one of them;
* ``normal``: anomaly-free series of the kinds above (counts, latency,
  drift, flat) - every flag on them is a false alarm.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

SEED = 20240501
PER_KIND = 6
KINDS = (
    "flat_steps",
    "counts",
    "latency",
    "drift",
    "variance",
    "spikes",
    "dips",
    "level_shift",
    "gaps",
    "normal",
)


@dataclass(frozen=True)
class Series:
    name: str
    kind: str
    ts: pd.DatetimeIndex
    values: npt.NDArray[np.float64]
    labels: tuple[int, ...]


def _minutes(n: int, step: str = "1min") -> pd.DatetimeIndex:
    return pd.date_range("2024-03-04", periods=n, freq=step, tz="UTC")


def _flat(rng: np.random.Generator, n: int, labeled: bool) -> tuple[npt.NDArray[np.float64], list[int]]:
    y = np.full(n, float(rng.integers(3, 40)))
    blips = rng.choice(np.arange(200, n), size=n // 800, replace=False)
    y[blips] += rng.choice([-1.0, 1.0], blips.size)
    labels: list[int] = []
    if labeled:
        at = int(rng.integers(n // 3, n - n // 5))
        y[at:] += rng.choice([-1.0, 1.0]) * rng.integers(3, 8)
        labels.append(at)
    return y, labels


def _counts(rng: np.random.Generator, n: int, labeled: bool) -> tuple[npt.NDArray[np.float64], list[int]]:
    ts = _minutes(n, "5min")
    hour = ts.hour.to_numpy() + ts.minute.to_numpy() / 60.0
    daily = 1.0 + 0.8 * np.sin(2 * np.pi * (hour - 9.0) / 24.0)
    weekly = np.where(ts.day_of_week.to_numpy() >= 5, 0.5, 1.0)
    rate = float(rng.uniform(4.0, 30.0)) * daily * weekly
    labels: list[int] = []
    if labeled:
        at = int(rng.integers(n // 2, n - 200))
        width = int(rng.integers(12, 36))
        rate = rate.copy()
        rate[at : at + width] *= rng.uniform(2.5, 4.0)
        labels.append(at)
    return rng.poisson(rate).astype(float), labels


def _latency(rng: np.random.Generator, n: int, labeled: bool) -> tuple[npt.NDArray[np.float64], list[int]]:
    base = float(rng.uniform(40.0, 400.0))
    y = base * np.exp(0.15 * rng.standard_t(4, n))
    labels: list[int] = []
    if labeled:
        at = int(rng.integers(n // 3, n - 300))
        width = int(rng.integers(30, 120))
        y[at : at + width] *= rng.uniform(2.0, 3.0)
        labels.append(at)
    return np.round(y, 1), labels


def _drift(rng: np.random.Generator, n: int, labeled: bool) -> tuple[npt.NDArray[np.float64], list[int]]:
    walk = np.cumsum(rng.normal(0.0, 0.05, n))
    y = 50.0 + walk + np.linspace(0.0, float(rng.uniform(-20, 20)), n) + rng.normal(0.0, 1.0, n)
    labels: list[int] = []
    if labeled:
        for at in sorted(rng.choice(np.arange(n // 4, n - 50), size=2, replace=False)):
            y[at] += rng.choice([-1.0, 1.0]) * rng.uniform(7.0, 12.0)
            labels.append(int(at))
    return y, labels


def _variance(rng: np.random.Generator, n: int) -> tuple[npt.NDArray[np.float64], list[int]]:
    at = int(rng.integers(n // 3, 2 * n // 3))
    sd = np.where(np.arange(n) >= at, 4.0, 1.0)
    return 20.0 + rng.normal(0.0, 1.0, n) * sd, [at]


def _spikes(rng: np.random.Generator, n: int, sign: float) -> tuple[npt.NDArray[np.float64], list[int]]:
    y = 100.0 + rng.normal(0.0, 2.0, n)
    ats = sorted(int(a) for a in rng.choice(np.arange(n // 4, n - 20), size=3, replace=False))
    for at in ats:
        y[at] += sign * rng.uniform(12.0, 25.0)
    return y, ats


def _shift(rng: np.random.Generator, n: int) -> tuple[npt.NDArray[np.float64], list[int]]:
    at = int(rng.integers(n // 3, n - n // 4))
    y = 10.0 + rng.normal(0.0, 0.5, n)
    y[at:] += rng.choice([-1.0, 1.0]) * rng.uniform(2.0, 4.0)
    return y, [at]


def corpus(seed: int = SEED, quick: bool = False) -> list[Series]:
    """The labeled series (``quick``: 2 of each kind, shorter)."""
    rng = np.random.default_rng(seed)
    per_kind = 2 if quick else PER_KIND
    n = 2000 if quick else 5000
    out: list[Series] = []
    for kind in KINDS:
        for j in range(per_kind):
            step = "1min"
            ts: pd.DatetimeIndex | None = None
            if kind == "flat_steps":
                y, labels = _flat(rng, n, True)
            elif kind == "counts":
                y, labels = _counts(rng, n, True)
                step = "5min"
            elif kind == "latency":
                y, labels = _latency(rng, n, True)
            elif kind == "drift":
                y, labels = _drift(rng, n, True)
            elif kind == "variance":
                y, labels = _variance(rng, n)
            elif kind in ("spikes", "dips"):
                y, labels = _spikes(rng, n, 1.0 if kind == "spikes" else -1.0)
            elif kind == "level_shift":
                y, labels = _shift(rng, n)
            elif kind == "gaps":
                y = 30.0 + rng.normal(0.0, 1.5, n)
                full = _minutes(n + 6 * 240)
                keep = np.ones(full.size, dtype=bool)
                for g in range(1, 4):  # three 4-hour collection gaps
                    start = g * n // 4 + (g - 1) * 240
                    keep[start : start + 240] = False
                ts = full[keep][:n]
                at = n // 4 + 3
                y[at] += rng.uniform(10.0, 15.0)
                labels = [at]
            else:  # normal: anomaly-free
                sub = ("counts", "latency", "drift", "flat_steps")[j % 4]
                if sub == "counts":
                    y, labels = _counts(rng, n, False)
                    step = "5min"
                elif sub == "latency":
                    y, labels = _latency(rng, n, False)
                elif sub == "drift":
                    y, labels = _drift(rng, n, False)
                else:
                    y, labels = _flat(rng, n, False)
            out.append(Series(f"{kind}-{j}", kind, ts if ts is not None else _minutes(n, step), y, tuple(labels)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, help="write one timestamp,value,label CSV per series here")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    series = corpus(args.seed, args.quick)
    for s in series:
        print(f"{s.name:16s} {s.values.size:6d} points, labels at {list(s.labels)}")
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            label = np.zeros(s.values.size, dtype=int)
            label[list(s.labels)] = 1
            pd.DataFrame({"timestamp": s.ts.strftime("%Y-%m-%dT%H:%M:%SZ"), "value": s.values, "label": label}).to_csv(
                args.out / f"{s.name}.csv", index=False
            )


if __name__ == "__main__":
    main()
