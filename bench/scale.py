"""Past one machine, measured on one: one app node beside two behind nginx,
retention by row delete beside partition drop, and an anomaly scan in the
process beside a 2-worker Dask cluster.

    .venv/bin/python bench/scale.py [--quick] [--seconds 10] [--events 10000000]

1. Throughput through nginx: a throw-away PostgreSQL server and the nodes
   and nginx of the scale tests (``tests/cluster.py``: ``app.py serve``
   subprocesses on free loopback ports, Debian's nginx round robin over
   them), once with one node and once with two, each on a fresh database.
   Debian's ``wrk`` (one thread, ``--connections`` keep-alive connections)
   posts batches of 20 events to ``/api/events`` for ``--seconds``, then
   reads pages of the newest 100 events (``GET /api/events?limit=100``) as
   long. Printed per run: requests and events a second, the latency, and
   the CPU-seconds of the load generator, of the nodes, of nginx and of
   PostgreSQL, so that it shows whether the generator was the limit.
2. Retention of ``--events`` events over 10 days, 4 kept: ``bench/partitions.py``'s
   row delete on one table beside its partition drop (``jobs.maintenance.purge``).
3. The anomaly scan of 1,000 series: ``bench/dask_scan.py``, in the process
   beside a ``distributed.LocalCluster`` of 2 workers.

Each part ends with its ratio and a verdict against its target. ``--quick``
runs 3 s loads and 400,000 events (the full retention figure is for 10 million).
The machine these figures come from has 2 cores, shared by PostgreSQL, the
nodes, nginx and the generator, and by other work: the output says how
busy it was. Benchmarks measure; they do not assert.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import common  # noqa: F401  (puts the repository first on sys.path)
import dask_scan
import partitions
import psutil
import requests
from common import MachineLoad, arg_parser, load_average

from tests.cluster import Cluster
from tests.conftest import PostgresServer

BATCH = 20  # events per POST
PAGE = "/api/events?limit=100"
TWO_NODES_TARGET = 1.5  # two nodes on hosts of their own: at least 1.5x one
PARTITION_TARGET = 10.0  # partition drop at least 10x faster than row delete
CPU_LEFT_TARGET = 0.5  # the Dask scan leaves at most half the in-process CPU in the web process


def say(line: str = "") -> None:
    print(line, flush=True)


def tree_cpu(pid: int) -> float:
    """CPU-seconds of a process and its children (user + system), 0 for one that is gone."""
    try:
        top = psutil.Process(pid)
        total = 0.0
        for p in (top, *top.children(recursive=True)):
            t = p.cpu_times()
            total += t.user + t.system
        return total
    except psutil.Error:
        return 0.0


def wrk(url: str, seconds: float, connections: int, script: str | None = None) -> dict[str, float]:
    """One ``wrk`` run: requests a second, mean latency (ms), non-2xx answers, and wrk's own CPU-seconds."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed: run 'make system-deps' (or apt-get install wrk)")
    cmd = [binary, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s"]
    with tempfile.TemporaryDirectory(prefix="pulse-wrk-") as tmp:
        if script is not None:
            (Path(tmp) / "load.lua").write_text(script, encoding="utf-8")
            cmd += ["-s", str(Path(tmp) / "load.lua")]
        out_path = Path(tmp) / "out"
        with out_path.open("wb") as out:
            proc = subprocess.Popen([*cmd, url], stdout=out, stderr=subprocess.STDOUT)
            _pid, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        text = out_path.read_text(errors="replace")
    if proc.returncode != 0 or "Requests/sec" not in text:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {text[-1000:]}")
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s)", text)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),  # type: ignore[union-attr]
        "latency_ms": float(latency.group(1)) * scale[latency.group(2)] if latency else float("nan"),
        "bad": float(bad.group(1)) if bad else 0.0,
        "socket_errors": float(sum(int(g) for g in errors.groups())) if errors else 0.0,
        "wrk_cpu": usage.ru_utime + usage.ru_stime,
    }


def post_script() -> str:
    body = json.dumps([{"type": "bench", "source": f"s{i % 5}", "value": i} for i in range(BATCH)])
    return f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\nwrk.headers["Content-Type"] = "application/json"\n'


def postmaster(pg: PostgresServer) -> int:
    return int((pg.dir / "data" / "postmaster.pid").read_text().split()[0])


def loaded(
    pg: PostgresServer, cluster: Cluster, label: str, url: str, seconds: float, connections: int, script: str | None
) -> dict[str, Any]:
    """One wrk run against ``cluster``, printed with the CPU that each part used meanwhile."""
    nodes0 = [tree_cpu(n.proc.pid) for n in cluster.nodes if n.proc]
    nginx0 = tree_cpu(cluster.nginx.proc.pid) if cluster.nginx.proc else 0.0
    pg0 = tree_cpu(postmaster(pg))  # its backends for the nodes' pooled connections live through the run
    got: dict[str, Any] = wrk(url, seconds, connections, script)
    got["nodes_cpu"] = sum(tree_cpu(n.proc.pid) for n in cluster.nodes if n.proc) - sum(nodes0)
    got["nginx_cpu"] = (tree_cpu(cluster.nginx.proc.pid) if cluster.nginx.proc else 0.0) - nginx0
    got["pg_cpu"] = max(0.0, tree_cpu(postmaster(pg)) - pg0)  # backends that ended take theirs along
    events = f", {got['rate'] * BATCH:8,.0f} events/s" if script else ""
    say(
        f"  {label:<14} {got['rate']:8,.0f} req/s{events}   latency {got['latency_ms']:6.1f} ms   "
        f"CPU-s: wrk {got['wrk_cpu']:5.2f}, nodes {got['nodes_cpu']:5.1f}, nginx {got['nginx_cpu']:4.1f}, "
        f"PostgreSQL {got['pg_cpu']:4.1f} "
        f"of {seconds * (os.cpu_count() or 1):.0f} core-s"
        + (f"   ({got['bad'] + got['socket_errors']:.0f} errors)" if got["bad"] or got["socket_errors"] else "")
    )
    return got


def throughput(pg: PostgresServer, size: int, seconds: float, connections: int) -> dict[str, dict[str, Any]]:
    root = Path(tempfile.mkdtemp(prefix="pulse-scale-"))
    cluster = Cluster(pg.new_database(), root, "--threads", "32", size=size)
    try:
        cluster.start()
        say(f"\n  {size} node(s) behind nginx ({cluster.url}), wrk: 1 thread, {connections} connections, {seconds:g} s")
        for _ in range(4 * size):  # each node's first requests open its connections
            requests.post(cluster.url + "/api/events", json=[{"type": "warm"}], timeout=30).raise_for_status()
            requests.get(cluster.url + PAGE, timeout=30).raise_for_status()
        return {
            "ingest": loaded(pg, cluster, "ingest", cluster.url + "/api/events", seconds, connections, post_script()),
            "read": loaded(pg, cluster, "page reads", cluster.url + PAGE, seconds, connections, None),
        }
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def verdict(label: str, ratio: float, target: float, *, at_most: bool = False, why: str = "") -> None:
    """The verdict line: ``ratio`` against a target it should reach (or, ``at_most``, stay under)."""
    met = ratio <= target if at_most else ratio >= target
    word = "at most" if at_most else "at least"
    say(f"  verdict: {label} {ratio:.2f}x, target {word} {target:g}x: {'met' if met else 'not met' + why}")


def main() -> None:
    parser = arg_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="3 s loads and 400,000 events")
    parser.add_argument("--seconds", type=float, help="seconds of each load (default 10, 3 with --quick)")
    parser.add_argument("--connections", type=int, default=16, help="wrk's keep-alive connections (default 16)")
    parser.add_argument("--events", type=int, help="events for retention (default 10,000,000, 400,000 with --quick)")
    parser.add_argument("--series", type=int, default=1000, help="series of the anomaly scan (default 1,000)")
    args = parser.parse_args()
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    events = args.events or (400_000 if args.quick else 10_000_000)
    cores = os.cpu_count() or 1
    machine = MachineLoad()
    say(
        f"bench/scale.py on {cores} cores, load average {load_average()}: PostgreSQL, the nodes, nginx and the load "
        "generator share these cores with each other and with whatever else runs here, so two nodes cannot "
        "double one; the figures are indicative and nothing asserts them"
    )

    pg = PostgresServer()
    try:
        say("\n1. throughput through nginx: one node, then two (PostgreSQL server of its own)")
        pg.start()
        one = throughput(pg, 1, seconds, args.connections)
        two = throughput(pg, 2, seconds, args.connections)
        for kind, label in (("ingest", "ingest"), ("read", "page reads")):
            ratio = two[kind]["rate"] / max(one[kind]["rate"], 1e-9)
            gen = two[kind]["wrk_cpu"] / (seconds * cores)
            say(
                f"  {label}: two nodes {two[kind]['rate']:,.0f} req/s beside one node {one[kind]['rate']:,.0f} "
                f"req/s: ratio {ratio:.2f}x (the generator took {100 * gen:.0f}% of the machine's CPU)"
            )
            why = f" here ({cores} cores for everything: the nodes cannot have a core each)" if cores <= 2 else ""
            verdict(f"{label} with two nodes", ratio, TWO_NODES_TARGET, why=why)
    finally:
        pg.stop()

    pg = PostgresServer()
    try:
        say(f"\n2. retention of {events:,} events (bench/partitions.py; PostgreSQL server of its own)")
        pg.start()
        partitions.fill(pg, events, 10)
        partitions.convert(pg, events, 10)
        rows_s, parts_s = partitions.retention(pg, 10, 4)
        ratio = rows_s / max(parts_s, 1e-9)
        say(f"  partition drop {parts_s:.2f} s beside row delete {rows_s:.2f} s")
        verdict("partition drop faster by", ratio, PARTITION_TARGET)
    finally:
        pg.stop()

    say(f"\n3. anomaly scan of {args.series:,} series (bench/dask_scan.py)")
    got = dask_scan.scan(args.series, 100, 2)
    left = got["cpu"] / max(got["local_cpu"], 1e-9)
    say(
        f"  2-worker cluster {got['wall']:.2f} s beside in-process {got['local_wall']:.2f} s: "
        f"ratio {got['local_wall'] / got['wall']:.2f}x (wall); CPU left in this process {left:.2f}x"
    )
    if got["same"]:
        verdict("CPU left in the web process", left, CPU_LEFT_TARGET, at_most=True)
    else:
        say("  verdict: the cluster's frames differ from the in-process ones: not met")
    t = os.times()
    say(f"\n{machine.report(t.user + t.system + t.children_user + t.children_system)}")
    say("  (this benchmark: this process, the nodes, nginx and wrk; PostgreSQL is counted with the other processes)")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    say(f"bench/scale.py took {time.perf_counter() - started:.0f} s")
