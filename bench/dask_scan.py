"""Anomaly scan benchmark: 1,000 series in-process vs on a 2-worker Dask LocalCluster.

    .venv/bin/python bench/dask_scan.py [--series 1000] [--points 100] [--workers 2]

Each series is ``--points`` minutes of noise around a level of its own with
one spike; the scan is :func:`analytics.anomalies.detect_many` (each series
through ``detect_anomalies``), once in this process (:data:`core.compute.LOCAL`)
and once on a ``distributed.LocalCluster`` of ``--workers`` processes with one
thread each on 127.0.0.1 (:class:`core.compute.Cluster`). The cluster's start
is not timed; the scan on it is, with the frames sent and the results
gathered. Both must give the same frames (checked, not timed).

Printed per way: the wall time, the CPU time of this process (on the
cluster, what the web process would still spend: sending frames, gathering
results) and the ratio to in-process. On a machine with 2 cores the cluster
is not faster, and may be slower (its workers share the cores, and the data
is pickled both ways): what it buys is the CPU taken off the web process,
and speed only with more cores than the web host has. Benchmarks measure,
they do not assert.
"""

from __future__ import annotations

import importlib
import os
import time
from typing import Any

import common  # noqa: F401  (puts the repository first on sys.path)
import numpy as np
import pandas as pd
from common import arg_parser, load_average

from analytics.anomalies import detect_many
from core.compute import LOCAL, Cluster


def frames(series: int, points: int) -> list[pd.DataFrame]:
    rng = np.random.default_rng(11)
    ts = pd.date_range("2026-03-01", periods=points, freq="min", tz="UTC")
    out = []
    for i in range(series):
        values = 100.0 + i % 50 + rng.normal(0, 1 + i % 5, points)
        values[rng.integers(points // 2, points)] += 25.0 * (1 + i % 5)
        out.append(pd.DataFrame({"ts": ts, "value": values}))
    return out


def timed(fn: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def scan(series: int, points: int, workers: int) -> dict[str, Any]:
    """The scan in this process and on a ``workers``-process LocalCluster, each
    printed; their wall and CPU times, and whether both gave the same frames."""
    from distributed import LocalCluster

    data = frames(series, points)
    options: dict[str, Any] = {"min_history": 20, "season": None}
    print(
        f"anomaly scan: {series:,} series x {points} points = {series * points:,} points; "
        f"{os.cpu_count()} cores, load {load_average()}"
    )
    local, local_wall, local_cpu = timed(lambda: detect_many(data, executor=LOCAL, **options))
    print(f"  in-process        wall {local_wall:7.2f} s   cpu here {local_cpu:7.2f} s   1.00x")
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:  # type: ignore[no-untyped-call]
        remote_exec = Cluster(cluster.scheduler_address)
        remote_exec.client().run(importlib.import_module, "analytics.anomalies")  # connect, warm imports (not timed)
        remote, wall, cpu = timed(lambda: detect_many(data, executor=remote_exec, **options))
        remote_exec.close()
    same = len(remote) == len(local) and all(a.equals(b) for a, b in zip(remote, local, strict=True))
    print(
        f"  {workers}-worker cluster  wall {wall:7.2f} s   cpu here {cpu:7.2f} s   "
        f"{local_wall / wall:.2f}x speed-up (wall), {cpu / local_cpu:.2f}x of the in-process CPU left here"
    )
    print(f"  same frames both ways: {'yes' if same else 'NO'}")
    cores = os.cpu_count() or 1
    if cores <= workers:
        print(
            f"  {cores} cores: the workers share them with this process, so no speed-up is expected here; "
            "the gain is the CPU moved off the web process"
        )
    return {"local_wall": local_wall, "local_cpu": local_cpu, "wall": wall, "cpu": cpu, "same": same}


def main() -> None:
    parser = arg_parser(__doc__)
    parser.add_argument("--series", type=int, default=1000, help="series to scan (default 1,000)")
    parser.add_argument("--points", type=int, default=100, help="points per series (default 100)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the LocalCluster (default 2)")
    args = parser.parse_args()
    scan(args.series, args.points, args.workers)


if __name__ == "__main__":
    main()
