"""Forecast benchmark: rolling-origin accuracy (MASE) against the
seasonal-naive forecast, empirical coverage of the 80 % and 95 % intervals,
and fit time per series, on real series and on series generated like the
demo's.

    .venv/bin/python bench/forecast.py [--quick] [--origins N] [--seed N] [--compare]

Corpora: (1) the time series that statsmodels ships inside its package
(``statsmodels.datasets``, loaded offline from site-packages): co2 (weekly),
elnino (monthly), elec_equip (monthly), sunspots and nile (annual), macrodata
(quarterly: realgdp, cpi, unemp, infl), interest_inflation (quarterly: Dp,
R) and danish_data (quarterly: lrm, lry); (2) series generated like the
demo's (``demo.model``: the office, school and consumer daily profiles with
their weekend levels, Poisson counts and bursts, fixed seed): hourly counts
over 4 weeks, 15-minute counts over 6 days, daily revenue over 16 weeks and
a growing database-size gauge.

Rolling origin: each series is cut at ``--origins`` points (default 5), the
last ones spaced by the horizon so that the test windows tile the end of the
series; the forecaster sees only what precedes a cut and forecasts the
horizon after it (24 buckets for hourly series, 7 for daily, 12 for
monthly, 8 for quarterly, 10 for annual, 26 for weekly, 96 for 15-minute
buckets). MASE is the mean absolute error of the forecasts over the
in-sample mean absolute error of the one-season-back forecast (one bucket
back for a series with no season), per series then averaged; the baseline
is the seasonal-naive forecast scored the same way. Coverage is the share
of the actual values inside each interval, over every forecast point of a
corpus. Fit time is the wall time of one :func:`analytics.forecast.forecast`
call. ``--compare`` scores statsforecast's AutoETS/MSTL on the same cuts
(when it is installed), for the choice of library. Benchmarks measure; the
verdicts compare with the targets but nothing is asserted.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from common import PYTHON, ROOT, arg_parser, load_average, machine, percentile

from analytics.forecast import forecast, seasons_for
from demo import model as demo

FloatArray = npt.NDArray[np.float64]
DAY = 86400.0
STEPS = {"annual": 365.25 * DAY, "quarterly": 365.25 * DAY / 4, "monthly": 365.25 * DAY / 12, "weekly": 7 * DAY}
HORIZONS = {"annual": 10, "quarterly": 8, "monthly": 12, "weekly": 26, "daily": 7, "hourly": 24, "15min": 96}
SEASONS = {"annual": 1, "quarterly": 4, "monthly": 12, "weekly": 52, "daily": 7, "hourly": 24, "15min": 96}


@dataclass
class Series:
    name: str
    corpus: str
    kind: str  # a key of HORIZONS
    values: FloatArray
    step: float
    start: pd.Timestamp = field(default_factory=lambda: pd.Timestamp("2000-01-03", tz="UTC"))
    nonnegative: bool = False

    @property
    def season(self) -> int:
        return SEASONS[self.kind]

    @property
    def horizon(self) -> int:
        return HORIZONS[self.kind]

    def frame(self, end: int) -> pd.DataFrame:
        # Long annual series end in 2030: every bucket, forecast included, stays within pandas' range.
        first = min(
            self.start.timestamp(), pd.Timestamp("2030-01-01", tz="UTC").timestamp() - len(self.values) * self.step
        )
        buckets = pd.to_datetime(
            np.round((first + np.arange(end) * self.step) * 1e6).astype("int64"), unit="us", utc=True
        )
        return pd.DataFrame({"bucket": buckets, "value": self.values[:end]})


# ---------------------------------------------------------------- corpora


def statsmodels_series() -> list[Series]:
    from statsmodels.datasets import co2, danish_data, elec_equip, elnino, interest_inflation, macrodata, nile, sunspots

    out: list[Series] = []
    c = co2.load_pandas().data["co2"].interpolate(limit_direction="both").to_numpy(dtype="float64")
    out.append(Series("co2", "statsmodels", "weekly", c, STEPS["weekly"]))
    el = elnino.load_pandas().data.drop(columns="YEAR").to_numpy(dtype="float64").ravel()
    out.append(Series("elnino", "statsmodels", "monthly", el, STEPS["monthly"]))
    eq = elec_equip.load().data.iloc[:, 0].to_numpy(dtype="float64")
    out.append(Series("elec_equip", "statsmodels", "monthly", eq, STEPS["monthly"], nonnegative=True))
    sun = sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(dtype="float64")
    out.append(Series("sunspots", "statsmodels", "annual", sun, STEPS["annual"], nonnegative=True))
    nl = nile.load_pandas().data["volume"].to_numpy(dtype="float64")
    out.append(Series("nile", "statsmodels", "annual", nl, STEPS["annual"], nonnegative=True))
    macro = macrodata.load_pandas().data
    for col in ("realgdp", "cpi", "unemp", "infl"):
        out.append(
            Series(f"macrodata.{col}", "statsmodels", "quarterly", macro[col].to_numpy("float64"), STEPS["quarterly"])
        )
    ii = interest_inflation.load_pandas().data
    for col in ("Dp", "R"):
        out.append(
            Series(
                f"interest_inflation.{col}", "statsmodels", "quarterly", ii[col].to_numpy("float64"), STEPS["quarterly"]
            )
        )
    dd = danish_data.load().data
    for col in ("lrm", "lry"):
        out.append(
            Series(f"danish_data.{col}", "statsmodels", "quarterly", dd[col].to_numpy("float64"), STEPS["quarterly"])
        )
    return out


def _counts(
    rng: np.random.Generator,
    mode: demo.Mode,
    stream: int,
    profile: Callable[[FloatArray], FloatArray],
    per_bucket: float,
    t: FloatArray,
    step: float,
) -> FloatArray:
    """Poisson counts per bucket of a demo profile with its bursts."""
    rate = per_bucket * profile(t + step / 2) * demo.burst(mode, stream, t)
    return rng.poisson(rate).astype("float64")


def demo_series(seed: int) -> list[Series]:
    rng = np.random.default_rng(seed)
    mode = demo.Mode(live=False, seed=seed, burst_slot=3600.0)
    start = pd.Timestamp("2026-01-05", tz="UTC")  # a Monday
    t0 = start.timestamp()
    profiles = (("office", demo.office), ("school", demo.school), ("consumer", demo.consumer))
    out: list[Series] = []
    hourly = t0 + np.arange(28 * 24) * 3600.0
    for n, (name, profile) in enumerate(profiles):
        for per_hour in (20.0, 400.0):
            values = _counts(rng, mode, n * 10 + int(per_hour), profile, per_hour, hourly, 3600.0)
            out.append(Series(f"{name} {per_hour:g}/h, hourly", "demo", "hourly", values, 3600.0, start, True))
    quarter = t0 + np.arange(6 * 96) * 900.0
    for n, (name, profile) in enumerate(profiles):
        values = _counts(rng, mode, 100 + n, profile, 60.0, quarter, 900.0)
        out.append(Series(f"{name} 240/h, 15 min", "demo", "15min", values, 900.0, start, True))
    days = t0 + np.arange(16 * 7) * DAY
    for name, profile in profiles:
        # Daily revenue: the day's volume (its profile summed over the day) times amounts, slowly growing.
        volume = (
            np.array([demo.profile_at(profile, d + h * 3600.0) for d in days for h in range(24)])
            .reshape(-1, 24)
            .sum(axis=1)
        )
        orders = rng.poisson(40.0 * volume * (1.0 + 0.004 * np.arange(len(days))))
        values = np.array([rng.lognormal(np.log(30.0), 0.6, k).sum() for k in orders])
        out.append(Series(f"{name} revenue, daily", "demo", "daily", values, DAY, start, True))
    growth = 200.0 + np.cumsum(rng.normal(0.05, 0.02, 28 * 24) + 0.03 * demo.office(hourly))
    out.append(Series("database size MB, hourly", "demo", "hourly", growth, 3600.0, start, True))
    return out


# ---------------------------------------------------------------- forecasters


def seasonal_naive(y: FloatArray, m: int, h: int) -> FloatArray:
    m = m if len(y) > m else 1
    return y[len(y) - m + (np.arange(h) % m)]


def mase_scale(y: FloatArray, m: int) -> float:
    m = m if len(y) > m else 1
    scale = float(np.mean(np.abs(y[m:] - y[:-m])))
    return scale if scale > 0 else float(np.mean(np.abs(np.diff(y)))) or 1.0


def pulseboard(s: Series, end: int) -> tuple[FloatArray, dict[int, tuple[FloatArray, FloatArray]], str]:
    fc = forecast(s.frame(end), horizon=s.horizon, step_seconds=s.step, lower_bound=0.0 if s.nonnegative else None)
    bands = {lv: (fc[f"lower_{lv}"].to_numpy(), fc[f"upper_{lv}"].to_numpy()) for lv in (80, 95)}
    return fc["value"].to_numpy(), bands, str(fc["model"].iloc[0])


def statsforecast_fc(s: Series, end: int) -> tuple[FloatArray, dict[int, tuple[FloatArray, FloatArray]], str]:
    from statsforecast.models import MSTL, AutoETS

    from analytics.forecast import strength

    y = s.values[:end]
    periods = [m for _, m in seasons_for(s.step) if len(y) / m >= 3 and strength(y, m) >= max(0.3, 1.5 * m / len(y))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if len(periods) > 1 or (periods and periods[-1] > 24):
            model: object = MSTL(season_length=periods[-2:], trend_forecaster=AutoETS(model="ZZN", damped=True))
            name = f"sf-mstl({periods[-2:]})"
        else:
            model = AutoETS(season_length=periods[0] if periods else 1, model="ZZZ" if periods else "ZZN", damped=True)
            name = f"sf-autoets({periods[0] if periods else 1})"
        out = model.forecast(y=y, h=s.horizon, level=[80, 95])  # type: ignore[attr-defined]
    bands = {lv: (np.asarray(out[f"lo-{lv}"]), np.asarray(out[f"hi-{lv}"])) for lv in (80, 95)}
    return np.asarray(out["mean"]), bands, name


# ---------------------------------------------------------------- scoring


@dataclass
class Scored:
    mase: dict[str, float] = field(default_factory=dict)  # series -> ours
    base: dict[str, float] = field(default_factory=dict)  # series -> seasonal naive
    inside: dict[int, list[bool]] = field(default_factory=lambda: {80: [], 95: []})
    seconds: list[float] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def score(
    series: Sequence[Series],
    origins: int,
    fc: Callable[..., tuple[FloatArray, dict[int, tuple[FloatArray, FloatArray]], str]],
) -> Scored:
    out = Scored()
    for s in series:
        h, m = s.horizon, s.season
        ours, base = [], []
        for k in range(origins, 0, -1):
            end = len(s.values) - k * h
            if end < 4:
                continue
            actual = s.values[end : end + h]
            scale = mase_scale(s.values[:end], m)
            t0 = time.perf_counter()
            try:
                mean, bands, name = fc(s, end)
            except Exception as exc:  # a library failing on a series is a figure, not a crash
                out.failures.append(f"{s.name}@{end}: {type(exc).__name__}: {exc}")
                continue
            out.seconds.append(time.perf_counter() - t0)
            out.models[s.name] = name
            ours.append(float(np.mean(np.abs(actual - mean))) / scale)
            base.append(float(np.mean(np.abs(actual - seasonal_naive(s.values[:end], m, h)))) / scale)
            for lv, (lo, hi) in bands.items():
                out.inside[lv] += list((actual >= lo) & (actual <= hi))
        if ours:
            out.mase[s.name], out.base[s.name] = float(np.mean(ours)), float(np.mean(base))
    return out


def import_cost() -> tuple[float, float]:
    """Seconds to import the forecasting module (statsmodels with it), then to
    fit a first series, in a fresh interpreter (the first request's cost)."""
    code = (
        "import time, numpy, pandas, scipy.optimize\n"
        "t = time.perf_counter()\n"
        "import analytics.forecast as f\n"
        "a = time.perf_counter() - t\n"
        "df = pandas.DataFrame({'bucket': pandas.date_range('2026-01-01', periods=200, freq='h', tz='UTC'),"
        " 'value': numpy.sin(numpy.arange(200) / 3.8) + numpy.arange(200) / 50})\n"
        "t = time.perf_counter(); f.forecast(df, horizon=24); b = time.perf_counter() - t\n"
        "print(a, b)\n"
    )
    done = subprocess.run([PYTHON, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    a, b = done.stdout.split()
    return float(a), float(b)


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def report(title: str, sc: Scored, names: dict[str, str]) -> dict[str, float]:
    print(f"\n== {title} ==")
    print(f"  {'series':<36} {'model':<32} {'MASE':>7} {'s-naive':>8}")
    for name in sc.mase:
        flag = "" if sc.mase[name] < sc.base[name] else "  (not better)"
        print(f"  {name:<36} {sc.models.get(name, ''):<32} {sc.mase[name]:7.3f} {sc.base[name]:8.3f}{flag}")
    wins = sum(sc.mase[n] < sc.base[n] for n in sc.mase)
    mean, base = float(np.mean(list(sc.mase.values()))), float(np.mean(list(sc.base.values())))
    cov = {lv: 100.0 * float(np.mean(v)) if v else float("nan") for lv, v in sc.inside.items()}
    ms = [1000 * x for x in sc.seconds]
    print(f"  better than seasonal naive on {wins} of {len(sc.mase)} series: {verdict(wins > len(sc.mase) / 2)}")
    print(f"  mean MASE {mean:.3f} vs seasonal naive {base:.3f} (target: lower): {verdict(mean < base)}")
    for lv in (80, 95):
        print(
            f"  {lv} % interval coverage {cov[lv]:.1f} % vs nominal {lv} % (target: within 10 points): {verdict(abs(cov[lv] - lv) <= 10)}"
        )
    print(
        f"  fit time per series: median {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, max {max(ms):.0f} ms over {len(ms)} fits"
    )
    for f in sc.failures[:5]:
        print(f"  failed: {f}")
    return {"mean": mean, "base": base, "wins": wins, "n": len(sc.mase), **{f"cov{lv}": c for lv, c in cov.items()}}


def main(argv: Sequence[str] | None = None) -> int:
    parser = arg_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="2 origins, a third of the series")
    parser.add_argument("--origins", type=int, default=5, help="rolling origins per series (default 5)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated series (default 7)")
    parser.add_argument(
        "--compare", action="store_true", help="also score statsforecast (AutoETS/MSTL) on the same cuts"
    )
    args = parser.parse_args(argv)
    origins = 2 if args.quick else args.origins
    m = machine()
    print(
        f"forecast bench: {origins} origins, seed {args.seed}; {m['cores']} cores ({m['cpu']}), Python {m['python']}; load {load_average()}"
    )
    first_import, first_fit = import_cost()
    print(
        f"first call in a fresh process: import analytics.forecast (with statsmodels) {first_import * 1000:.0f} ms, first fit {first_fit * 1000:.0f} ms"
    )
    corpora = {"statsmodels datasets": statsmodels_series(), "demo-like series": demo_series(args.seed)}
    if args.quick:
        corpora = {k: v[::3] for k, v in corpora.items()}
    totals: dict[str, list[dict[str, float]]] = {"pulseboard": [], "statsforecast": []}
    for title, series in corpora.items():
        totals["pulseboard"].append(report(f"{title}: Pulseboard", score(series, origins, pulseboard), {}))
        if args.compare:
            try:
                import statsforecast  # noqa: F401
            except ImportError:
                print("  statsforecast is not installed: --compare skipped")
                args.compare = False
                continue
            totals["statsforecast"].append(
                report(f"{title}: statsforecast", score(series, origins, statsforecast_fc), {})
            )
    print("\n== verdicts (Pulseboard, every series) ==")
    rows = totals["pulseboard"]
    wins, n = sum(r["wins"] for r in rows), sum(r["n"] for r in rows)
    print(f"  better than seasonal naive on {wins} of {n} series: {verdict(wins > n / 2)}")
    for r, title in zip(rows, corpora):
        print(
            f"  {title}: mean MASE {r['mean']:.3f} vs seasonal naive {r['base']:.3f}: {verdict(r['mean'] < r['base'])}; "
            f"coverage 80 % {r['cov80']:.1f} %, 95 % {r['cov95']:.1f} %: {verdict(abs(r['cov80'] - 80) <= 10 and abs(r['cov95'] - 95) <= 10)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
