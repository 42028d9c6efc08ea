"""Alert evaluation benchmark: 200 rules over 10M stored events (SQLite).

    .venv/bin/python bench/alerts.py [--events N] [--rebuild] [--db PATH]
                                     [--rules 200] [--repeat 10] [--budget 10]

The dataset is ``bench/_dataset.py``'s (built once and cached; read here,
never written). The 200 rules are a realistic mix over its vocabulary
(5 sources, 10 types, 50 entities): counts and rates per type, per entity
or not, over 5 min to 1 h; anomaly rules (counts per 5 min against 7 days);
average and max durations; p95 durations per entity (histograms); success
rates with a minimum sample count; failures today; latest gauge values;
dead-man rules per entity. Some fire. The first cycle is reported apart: it
teaches the anomaly detectors their 7 days; later cycles score only the new
buckets.

Measured, through the app's own code (``alerts.engine.AlertEngine.evaluate``
with ``dry_run=True``: every metric, the open alerts, the silences and the
state machine, without storing alerts, so the cached file stays as built):

* one evaluation cycle of the 200 rules (target: < 1 s);
* baselines in the same run: (1) the same rules one at a time, each with
  its own rollup reads (no sharing between rules); (2) the same metrics as
  one raw-events GROUP BY per rule (count, sum, min, max, success counts,
  durations for p95 fetched and ranked in pandas), measured on every k-th
  rule (``--baseline-rules`` of them, each kind in its share) and scaled up.

Each figure is printed with the ratio baseline / engine; benchmarks
measure, they do not assert.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import _dataset
import pandas as pd
from common import arg_parser, dataset_options, load_average, measure, percentile

from alerts.engine import AlertEngine
from alerts.measure import compute
from alerts.metrics import Reader
from alerts.rules import Rule, parse_rule
from analytics.breakdowns import classify_statuses
from data.db import Database
from data.models import to_micros
from settings import load_settings

TARGET_MS = 1000.0


@dataclasses.dataclass
class BenchServices:
    """What the engine needs of ``services.Services``, over the dataset file,
    at the dataset's fixed ``now``."""

    db: Database
    at: datetime
    settings: Any = dataclasses.field(default_factory=lambda: load_settings({}, environ={}))

    def now(self) -> datetime:
        return self.at

    def committed(self, rows: list[dict[str, Any]]) -> None:
        pass


def rule_mix(n: int) -> list[Rule]:
    """``n`` rules (200 by default) over the dataset's vocabulary."""
    types = [ty for _w, tys, _p in _dataset.SOURCES.values() for ty in tys]
    sources = list(_dataset.SOURCES)
    specs: list[dict[str, Any]] = []
    windows = ("5m", "15m", "1h")
    for i, ty in enumerate(types * 5):  # 50 counts
        specs.append(
            {
                "filter": {"type": ty},
                "window": windows[i % 3],
                "group_by": ["entity"] if i % 2 else [],
                "threshold": 50 + 10 * i,
            }
        )
    for i, ty in enumerate(types):  # 10 anomaly rules: counts per 5 min against 7 days, half per entity
        specs.append(
            {
                "kind": "anomaly",
                "filter": {"type": ty},
                "bucket": "5m",
                "history": "7d",
                "group_by": ["entity"] if i % 2 else [],
            }
        )
    for i, ty in enumerate(types * 3):  # 30 rates
        specs.append({"metric": "rate", "filter": {"type": ty}, "window": windows[i % 3], "threshold": 20})
    for i, ty in enumerate(types * 3):  # 30 average / max durations per entity
        specs.append(
            {
                "metric": "avg" if i % 2 else "max",
                "field": "duration_ms",
                "filter": {"type": ty},
                "group_by": ["entity"],
                "window": windows[i % 3],
                "threshold": 1000,
            }
        )
    for i, ty in enumerate(types * 3):  # 30 p95 durations per entity
        specs.append(
            {
                "metric": "p95",
                "field": "duration_ms",
                "filter": {"type": ty},
                "group_by": ["entity"],
                "window": windows[i % 3],
                "threshold": 2000,
                "for": "2m",
            }
        )
    for i, src in enumerate(sources * 4):  # 20 success rates
        specs.append(
            {
                "metric": "success_rate",
                "filter": {"source": src},
                "window": windows[i % 3],
                "op": "<",
                "threshold": 92,
                "min_samples": 20,
                "group_by": ["type"] if i % 2 else [],
            }
        )
    for ty in types:  # 10 failures today
        specs.append(
            {"metric": "failures", "filter": {"type": ty}, "window": "today", "threshold": 500, "severity": "error"}
        )
    for ty in types:  # 10 latest values
        specs.append({"metric": "latest", "filter": {"type": ty}, "window": "1h", "threshold": 100})
    for src in sources * 2:  # 10 dead-man rules per entity
        specs.append(
            {"kind": "absence", "filter": {"source": src}, "group_by": ["entity"], "window": "5m", "history": "1d"}
        )
    rules = [parse_rule({"name": f"rule-{i:03d}", **spec}) for i, spec in enumerate(specs)]
    return (rules * (n // len(rules) + 1))[:n] if n > len(rules) else rules[:n]


def one_at_a_time(db: Database, rules: list[Rule], now: datetime, memory: dict[Any, Any]) -> int:
    """Baseline 1: each rule with its own reads (a Reader per rule; the
    anomaly detectors kept between cycles, as the engine keeps them)."""
    groups = 0
    with db.read() as conn:
        for rule in rules:
            groups += len(compute(Reader(conn, now, memory=memory), rule))
    return groups


def raw_group_by(db: Database, rules: list[Rule], now: datetime) -> int:
    """Baseline 2: each rule as one GROUP BY over the raw events of its window."""
    groups = 0
    with db.read() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        for rule in rules:
            since = to_micros(rule.window_start(now))
            where = ["ts >= ?", "ts <= ?"]
            args: list[Any] = [since, to_micros(now)]
            for dim, values in rule.filter.filters().items():
                where.append(f"{dim} IN ({','.join('?' * len(values))})")
                args += list(values)
            keys = ", ".join(rule.group_by) or "''"
            field = "duration_ms" if rule.field == "duration_ms" else "value"
            cond = " AND ".join(where)
            if rule.metric.startswith("p"):
                rows = raw.execute(
                    f"SELECT {keys}, {field} FROM events WHERE {cond} AND {field} IS NOT NULL", args
                ).fetchall()
                df = pd.DataFrame.from_records(rows, columns=[*(rule.group_by or ["k"]), "v"])
                groups += len(df.groupby(rule.group_by or ["k"])["v"].quantile(0.95)) if len(df) else 0
            elif rule.metric in ("success_rate", "failures"):
                rows = raw.execute(
                    f"SELECT {keys}, status, count(*) FROM events WHERE {cond} GROUP BY {keys}, status", args
                ).fetchall()
                df = pd.DataFrame.from_records(rows, columns=[*(rule.group_by or ["k"]), "status", "n"])
                if len(df):
                    df["outcome"] = classify_statuses(df["status"])
                    groups += df.groupby(rule.group_by or ["k"]).ngroups
            elif rule.metric == "latest":
                groups += len(
                    raw.execute(
                        f"SELECT value FROM events WHERE {cond} AND value IS NOT NULL ORDER BY ts DESC LIMIT 1", args
                    ).fetchall()
                )
            else:
                agg = {
                    "count": "count(*)",
                    "rate": "count(*)",
                    "sum": f"sum({field})",
                    "avg": f"avg({field})",
                    "min": f"min({field})",
                    "max": f"max({field})",
                }[rule.metric]
                groups += len(
                    raw.execute(f"SELECT {keys}, {agg} FROM events WHERE {cond} GROUP BY {keys}", args).fetchall()
                )
    return groups


def line(label: str, wall: list[float], cpu: list[float], engine_p50: float | None = None) -> str:
    """A row; for a baseline, ``ratio`` = its p50 / the engine's p50."""
    p50, p95 = statistics.median(wall), percentile(wall, 95)
    ratio = f"{p50 / engine_p50:8.1f}x" if engine_p50 else " " * 9
    return f"  {label:<52} {p50:9.1f} {p95:9.1f} {statistics.median(cpu):9.1f} {len(wall):4d} {ratio}"


def main(argv: list[str] | None = None) -> int:
    ap = arg_parser(__doc__)
    dataset_options(ap, 10_000_000)
    ap.add_argument("--rules", type=int, default=200, help="rules per cycle (default 200)")
    ap.add_argument("--repeat", type=int, default=10, help="timed cycles (default 10)")
    ap.add_argument("--budget", type=float, default=10.0, help="seconds of cycles before stopping early (min 3)")
    ap.add_argument(
        "--baseline-rules",
        type=int,
        default=40,
        help="rules timed for the raw baseline (every k-th), scaled up (default 40)",
    )
    args = ap.parse_args(argv)

    t_all = time.perf_counter()
    path = args.db or _dataset.default_path(args.events)
    meta, built = _dataset.ensure(path, args.events, rebuild=args.rebuild)
    now = datetime.fromisoformat(meta["now"]).astimezone(timezone.utc) - timedelta(seconds=30)
    db = Database(f"sqlite:///{path}")
    rules = rule_mix(args.rules)
    kinds: dict[str, int] = {}
    for r in rules:
        key = r.kind if r.kind != "threshold" else r.metric
        kinds[key] = kinds.get(key, 0) + 1
    print(
        f"\nPulseboard alert bench — {args.rules} rules over {args.events:,} events ({meta['params']['days']} days) in {path}"
    )
    print(
        f"  dataset: {'built now' if built else 'cached'}; now = {now.isoformat()}; load average {load_average()} on {os.cpu_count()} cores"
    )
    print(f"  rules: {', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}")

    engine = AlertEngine(BenchServices(db, now))
    run = measure(
        "evaluate", lambda: engine.evaluate(now, rules=rules, dry_run=True), repeat=args.repeat, budget_s=args.budget
    )
    wall, cpu, summary, first = run.wall, run.cpu, run.result, run.first
    assert not summary["errors"], summary["errors"]
    memory: dict[Any, Any] = {}
    b1 = measure("rule by rule", lambda: one_at_a_time(db, rules, now, memory), repeat=3, budget_s=0)
    b1_wall, b1_cpu, groups1 = b1.wall, b1.cpu, b1.result
    sample = rules[:: max(1, len(rules) // args.baseline_rules)]  # every k-th rule: each kind in its share
    b2 = measure("raw GROUP BY", lambda: raw_group_by(db, sample, now), repeat=2, budget_s=0, min_repeat=2)
    b2_wall, b2_cpu = b2.wall, b2.cpu
    scale = len(rules) / len(sample)
    b2_wall, b2_cpu = [w * scale for w in b2_wall], [c * scale for c in b2_cpu]
    p50 = statistics.median(wall)

    print(
        f"\n  one cycle: {summary['series']} series stored would change ({summary['firing']} firing, {summary['pending']} pending), "
        f"{summary['notifications']} notifications; {groups1:,} groups computed;\n  first cycle {first:.0f} ms (it teaches the anomaly detectors their 7 days; later cycles score new buckets only)"
    )
    print(
        f"\n  {'ms per cycle of ' + str(len(rules)) + ' rules':<52} {'p50':>9} {'p95':>9} {'cpu p50':>9} {'n':>4} {'ratio':>9}"
    )
    print(line("AlertEngine.evaluate (shared rollup reads)", wall, cpu))
    print(line("baseline 1: rule by rule, own rollup reads", b1_wall, b1_cpu, p50))
    print(line(f"baseline 2: raw GROUP BY per rule (x{scale:.0f} of {len(sample)})", b2_wall, b2_cpu, p50))
    print("  ratio = baseline p50 / engine p50 (wall clock)")
    wall95, cpu95 = percentile(wall, 95), percentile(cpu, 95)
    print(
        f"  target < {TARGET_MS:.0f} ms per cycle: {'MET' if wall95 < TARGET_MS else 'MISSED'} on wall clock (p95 {wall95:.0f} ms), "
        f"{'met' if cpu95 < TARGET_MS else 'missed'} on CPU time (p95 {cpu95:.0f} ms); load average {load_average()}"
    )
    print("  (on a shared machine the wall clock includes waiting for a core; the CPU time is what a cycle costs)")
    db.dispose()
    print(f"\nbench/alerts.py took {time.perf_counter() - t_all:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
