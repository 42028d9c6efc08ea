"""Soak benchmark (``make soak``): Pulseboard under steady live load for ten
minutes, watching for leaks and drift, against the real server (``python
app.py serve`` in a subprocess, temp data dir, ``--rate-limit 0``).

    .venv/bin/python bench/soak.py             # 10 min: 1,000 events/s, 50 WebSocket clients, a browser
    .venv/bin/python bench/soak.py --quick     # 2 min smoke check, 10 clients, a line every 15 s
    .venv/bin/python bench/soak.py --minutes 30 --rate 2000 --clients 100 [--py-spy DIR] [--keep]

For the whole run, at once:

- ingest: ``--rate`` events/s POSTed to /api/events in requests of
  ``--batch`` on an open-loop schedule (request k is due at t0 + k x batch /
  rate, whichever of ``--conns`` keep-alive connections is free), each
  request's latency and answer time recorded;
- ``--clients`` WebSocket clients subscribed to ``all`` on /ws, in
  ``--client-procs`` processes (their parsing must not starve the producer):
  every event id each one receives and when; delivery latency is HTTP answer
  -> client receive (it can be slightly negative: the push can beat the
  answer); at the end, every acknowledged event is checked to have reached
  every client exactly once;
- headless Chromium (Playwright, /usr/bin/chromium) with the Overview page
  ``/`` open the whole time (live feed and chart updating), and Explore loaded
  in a second tab every ``--explore-every`` seconds: leaks driven by pages
  show up in the server's figures; the page's JS heap (performance.memory) is
  recorded too.

Every ``--interval`` seconds (a minute) one line: the server's RSS, open files,
threads and CPU % (all its processes, psutil), ingest request latency p50/p99,
delivery latency p50/p95, (event, client) deliveries against what was
expected, live clients and database size (from /metrics), the page's heap.

At the end: the least-squares slope per 10 minutes of RSS, open files,
threads and latencies over the samples after ``--warmup`` minutes, each
beside its baseline (the warm-up samples of the same run) and the ratio of the
last samples to it, with a verdict against the target "RSS, open files,
threads and latency stay flat" (FLAT_* below); then the totals: events
acknowledged, deliveries to each client, missing, duplicates. Benchmarks
measure; they do not assert. The server, the client processes and the browser
are stopped on exit, on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import itertools
import math
import multiprocessing as mp
import os
import signal
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HEADERS,
    MachineLoad,
    Server,
    arg_parser,
    connect_clients,
    descendants_cpu,
    die_with_parent,
    machine,
    make_bodies,
    percentile,
    pulseboard,
    py_spy,
    recorder_class,
    run_main,
    started,
    workspace,
)

# What "flat" means, per 10 minutes after the warm-up (the slope of a least-squares line). A figure
# is "growing" when its slope exceeds the tolerance and its last samples exceed the baseline by more than it.
FLAT_RSS_PCT = 5.0  # RSS growth, % of the post-warm-up mean
FLAT_FDS = 1.0  # open files
FLAT_THREADS = 1.0  # threads
FLAT_LATENCY_PCT = 25.0  # latency growth, % of the baseline ...
FLAT_LATENCY_MS = 5.0  # ... or this many ms, whichever is larger (a few ms is noise on a shared machine)

# Delivery latency histogram (ms): 0.1 ms bins; client processes send counts, not samples.
EDGES = np.arange(-100.0, 10_000.05, 0.1)


def hist_percentile(hist: np.ndarray, q: float) -> float:
    total = int(hist.sum())
    if not total:
        return float("nan")
    k = int(np.searchsorted(np.cumsum(hist), math.ceil(total * q / 100)))
    return float((EDGES[k] + EDGES[k + 1]) / 2)


# ---------------------------------------------------------------- WebSocket clients (their own processes)


def soak_recorder_class() -> Any:
    """The recording client, keeping each frame's ids for the next ``take()`` only
    (a soak run delivers millions of (event, client) pairs: none are kept for long)."""
    base = recorder_class()

    class SoakRecorder(base):  # type: ignore[misc,valid-type]
        def __init__(self, url: str) -> None:
            self.lock = threading.Lock()
            self.chunks: list[tuple[list[int], float]] = []
            super().__init__(url)

        def record(self, ids: list[int], now: float) -> None:
            with self.lock:
                self.chunks.append((ids, now))

        def take(self) -> tuple[np.ndarray, np.ndarray]:
            with self.lock:
                chunks, self.chunks = self.chunks, []
            ids = np.fromiter(itertools.chain.from_iterable(c[0] for c in chunks), dtype=np.int64)
            times = np.concatenate([np.full(len(c[0]), c[1]) for c in chunks]) if chunks else np.zeros(0)
            return ids, times

    return SoakRecorder


def _grow(a: np.ndarray, size: int, fill: Any) -> np.ndarray:
    if size <= len(a):
        return a
    out = np.full(max(size, 2 * len(a)), fill, dtype=a.dtype)
    out[: len(a)] = a
    return out


def client_worker(url: str, n: int, pipe: Connection) -> None:
    """One client process: ``n`` clients. On each ("round", ids, answers, wait) from the
    parent (the events acknowledged since the last round and their answer times), it
    waits until its clients have seen the newest id (or ``wait`` s), then replies with
    that round's delivery counts and latency histogram; "final" also returns, per
    client, the acknowledged events it missed or got more than once, and ends."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    Recorder = soak_recorder_class()
    clients = connect_clients(lambda: Recorder(url), n, pipe)

    answer_of = np.full(1 << 16, np.nan)  # event id -> HTTP answer time of the acknowledged events
    known_max = 0
    counts = [np.zeros(1 << 16, dtype=np.uint8) for _ in clients]  # event id -> times received
    pending: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(0, np.int64), np.zeros(0)) for _ in clients]
    while True:
        cmd, ids, answers, wait = pipe.recv()
        if cmd == "stop":
            break
        if len(ids):
            answer_of = _grow(answer_of, int(ids.max()) + 1, np.nan)
            answer_of[ids] = answers
            known_max = max(known_max, int(ids.max()))
        until = time.time() + wait
        while time.time() < until and any(c.max_id < known_max for c in clients if c.connected):
            time.sleep(0.05)
        lat: list[np.ndarray] = []
        delivered = extra = 0
        for i, c in enumerate(clients):
            new_ids, new_times = c.take()
            if len(new_ids):
                counts[i] = _grow(counts[i], int(new_ids.max()) + 1, 0)
                np.add.at(counts[i], new_ids, 1)
            got_ids = np.concatenate([pending[i][0], new_ids])
            got_times = np.concatenate([pending[i][1], new_times])
            ans = np.full(len(got_ids), np.nan)
            inside = got_ids < len(answer_of)
            ans[inside] = answer_of[got_ids[inside]]
            known = ~np.isnan(ans)
            later = ~known & (got_ids > known_max)  # acknowledged after this round's cut: next round
            pending[i] = (got_ids[later], got_times[later])
            extra += int((~known & ~later).sum())  # not the producer's (self-monitoring events)
            delivered += int(known.sum())
            lat.append(1000 * (got_times[known] - ans[known]))
        all_lat = np.concatenate(lat) if lat else np.zeros(0)
        hist = np.histogram(np.clip(all_lat, EDGES[0], EDGES[-1] - 1e-6), EDGES)[0]
        reply: dict[str, Any] = {
            "hist": hist,
            "delivered": delivered,
            "extra": extra,
            "connected": sum(bool(c.connected) for c in clients),
            "resyncs": sum(c.resyncs for c in clients),
            "errors": [e for c in clients for e in c.errors][:3],
            "n_errors": sum(len(c.errors) for c in clients),
            "frames": sum(c.frames for c in clients),
        }
        if cmd == "final":
            acked = np.flatnonzero(~np.isnan(answer_of))
            per_client = []
            for cnt in counts:
                got = _grow(cnt, len(answer_of), 0)[acked].astype(np.int64)
                per_client.append((int((got > 0).sum()), int((got == 0).sum()), int(np.maximum(got - 1, 0).sum())))
            reply["per_client"] = per_client  # (delivered, missing, duplicates)
            pipe.send(("final", reply))
            break
        pipe.send(("round", reply))
    for c in clients:
        with contextlib.suppress(Exception):
            c.close()
    pipe.close()


# ---------------------------------------------------------------- the browser (its own process)

PAGE_STATE = r"""() => {
  const live = window.pulseboardLive || {};
  const mem = performance.memory;
  return {
    heap: mem ? mem.usedJSHeapSize : null,
    received: live.received ?? null,
    lastId: live.lastId ?? null,
    resyncs: live.resyncs ?? null,
    status: live.status ?? null,
    nodes: document.getElementsByTagName("*").length,
  };
}"""


def browser_worker(url: str, explore_every: float, pipe: Connection) -> None:
    """Chromium with ``/`` open; Explore in a second tab every ``explore_every`` s.
    Answers "sample" with the page's state and the Explore loads since the last one."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--enable-precise-memory-info"])
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            page_errors: list[str] = []
            page.on("pageerror", lambda exc: page_errors.append(str(exc)[:200]))
            t0 = time.perf_counter()
            page.goto(url + "/", wait_until="load")
            page.wait_for_function("window.pulseboardLive && window.pulseboardLive.ready === true", timeout=90_000)
            pipe.send(("ready", time.perf_counter() - t0))
            loads: list[float] = []
            failures: list[str] = []
            next_explore = time.time() + explore_every
            while True:
                if pipe.poll(max(0.0, min(1.0, next_explore - time.time()))):
                    cmd = pipe.recv()
                    if cmd == "stop":
                        break
                    state = page.evaluate(PAGE_STATE)
                    state.update(
                        explore=loads,
                        explore_failures=failures,
                        page_errors=page_errors[:3],
                        n_page_errors=len(page_errors),
                    )
                    pipe.send(("sample", state))
                    loads, failures = [], []
                    continue
                if time.time() >= next_explore:
                    next_explore = time.time() + explore_every
                    tab = context.new_page()
                    t0 = time.perf_counter()
                    try:
                        tab.goto(url + "/explore?window=1h&group_by=source&bucket=none", wait_until="load")
                        expect(tab.locator("#ex-summary")).to_contain_text("rows", timeout=60_000)
                        loads.append(time.perf_counter() - t0)
                    except Exception as exc:
                        failures.append(f"{type(exc).__name__}: {str(exc)[:200]}")
                    finally:
                        tab.close()
                    page.evaluate("1")  # the overview tab is still responsive
        finally:
            browser.close()
    pipe.send(("done", None))


# ---------------------------------------------------------------- the producer (threads here)


class Producer:
    """Open-loop ingest on ``conns`` keep-alive connections until ``stop()``; each
    acknowledged request's (due, send, answer, ids) is kept until ``take()``."""

    def __init__(self, server: Server, rate: float, batch: int, conns: int) -> None:
        self.server, self.interval = server, batch / rate
        self.bodies = make_bodies(200, batch)
        self.slots = itertools.count()
        self.lock = threading.Lock()
        self.done: list[tuple[float, float, float, list[int]]] = []
        self.errors: list[str] = []
        self.n_errors = 0
        self.stopping = threading.Event()
        self.t0 = time.time() + 0.2
        self.ended = 0.0
        self.threads = [threading.Thread(target=self._run, daemon=True, name=f"producer-{i}") for i in range(conns)]
        for t in self.threads:
            t.start()

    def _run(self) -> None:
        import orjson

        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        while not self.stopping.is_set():
            k = next(self.slots)
            due = self.t0 + k * self.interval
            while not self.stopping.is_set() and time.time() < due:
                time.sleep(min(0.5, max(0.0, due - time.time())))
            if self.stopping.is_set():
                break
            t_send = time.time()
            try:
                conn.request("POST", "/api/events", self.bodies[k % len(self.bodies)], HEADERS)
                resp = conn.getresponse()
                data = resp.read()
                t_answer = time.time()
                if resp.status not in (200, 201):
                    raise RuntimeError(f"HTTP {resp.status}: {data[:200]!r}")
                ids = [int(i) for i in orjson.loads(data)["ids"]]
            except Exception as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
                with self.lock:
                    self.n_errors += 1
                    if len(self.errors) < 5:
                        self.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            with self.lock:
                self.done.append((due, t_send, t_answer, ids))
        conn.close()

    def take(self) -> list[tuple[float, float, float, list[int]]]:
        with self.lock:
            done, self.done = self.done, []
        return done

    @property
    def elapsed(self) -> float:
        return (self.ended or time.time()) - self.t0

    def stop(self) -> None:
        if not self.stopping.is_set():
            self.ended = time.time()
        self.stopping.set()
        for t in self.threads:
            t.join(35)


# ---------------------------------------------------------------- samples and the run


@dataclasses.dataclass
class Sample:
    minute: float
    rss_mb: float
    fds: int
    threads: int
    cpu: float
    ingest_p50: float
    ingest_p99: float
    lag_p99: float
    deliv_p50: float
    deliv_p95: float
    delivered: int
    expected: int
    events_s: float
    live: float
    db_mb: float
    heap_mb: float
    explore_s: float


def server_stats(root: Any, procs: dict[int, Any]) -> tuple[float, int, int, float]:
    """RSS MB, open files, threads and CPU % (since the last call) of the server's
    processes (``procs``: pid -> psutil.Process, updated with new children)."""
    import psutil

    with contextlib.suppress(psutil.Error):
        for child in [root, *root.children(recursive=True)]:
            procs.setdefault(child.pid, child)
    rss = cpu = 0.0
    fds = threads = 0
    for p in procs.values():
        with contextlib.suppress(psutil.Error), p.oneshot():
            rss += p.memory_info().rss / 1048576
            fds += p.num_fds()
            threads += p.num_threads()
            cpu += p.cpu_percent(None)
    return rss, fds, threads, cpu


def scrape(server: Server) -> dict[str, float]:
    """Pulseboard's own gauges from /metrics (empty if it does not answer)."""
    out: dict[str, float] = {}
    with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        for line in text.splitlines():
            if line.startswith("pulseboard_") and " " in line and "{" not in line:
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
    return out


def slope_per_10min(xs: Sequence[float], ys: Sequence[float]) -> float:
    pts = [(x, y) for x, y in zip(xs, ys) if y == y]
    if len(pts) < 2:
        return float("nan")
    mx = statistics.mean(p[0] for p in pts)
    my = statistics.mean(p[1] for p in pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    return 10 * sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx if sxx else float("nan")


def nanmean(values: Sequence[float]) -> float:
    v = [x for x in values if x == x]
    return statistics.mean(v) if v else float("nan")


HEADER = (
    f"  {'min':>5} {'RSS MB':>7} {'fds':>4} {'thr':>4} {'CPU%':>5} {'ingest p50/p99 ms':>18} {'deliv p50/p95 ms':>17} "
    f"{'delivered/expected':>22} {'ev/s':>6} {'live':>4} {'DB MB':>6} {'heap MB':>7} {'explore s':>9}"
)


def line(s: Sample) -> str:
    heap = f"{s.heap_mb:7.1f}" if s.heap_mb == s.heap_mb else f"{'-':>7}"
    explore = f"{s.explore_s:9.2f}" if s.explore_s == s.explore_s else f"{'-':>9}"
    return (
        f"  {s.minute:5.2f} {s.rss_mb:7.1f} {s.fds:4d} {s.threads:4d} {s.cpu:5.0f} {s.ingest_p50:8.1f} / {s.ingest_p99:7.1f} "
        f"{s.deliv_p50:7.1f} / {s.deliv_p95:7.1f} {s.delivered:>10,}/{s.expected:<11,} {s.events_s:6.0f} {s.live:4.0f} "
        f"{s.db_mb:6.1f} {heap} {explore}"
    )


def server_errors(server: Server) -> dict[str, int]:
    """The server log's tracebacks, counted by their last line (the exception)."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        lines = server.log_path.read_text(errors="replace").splitlines()
        inside = False
        for text in lines:
            if text.startswith("Traceback"):
                inside = True
            elif inside and text and not text[0].isspace():
                out[text] = out.get(text, 0) + 1
                inside = False
    return out


def stop_process(p: Any, pipe: Connection | None, message: Any, wait: float = 15.0) -> None:
    """Ask a worker process to stop, then terminate it and whatever it started that is left."""
    import psutil

    kids: list[Any] = []
    with contextlib.suppress(psutil.Error):
        kids = psutil.Process(p.pid).children(recursive=True)
    if pipe is not None and p.is_alive():
        with contextlib.suppress(OSError, ValueError):
            pipe.send(message)
    p.join(wait)
    if p.is_alive():
        p.terminate()
        p.join(5)
    for k in kids:
        with contextlib.suppress(psutil.Error):
            if k.is_running():
                k.kill()


def run(args: argparse.Namespace) -> int:
    import psutil

    m, busy = machine(), MachineLoad()
    print(
        f"Pulseboard soak benchmark — {m['cores']} cores ({m['cpu']}), Python {m['python']}, SQLite {m['sqlite']}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    print(
        f"  {args.minutes:g} min: {args.rate:,.0f} events/s in requests of {args.batch} ({args.conns} connections), "
        f"{args.clients} WebSocket clients in {args.client_procs} processes, "
        f"{f'Chromium on / with Explore every {args.explore_every:g} s' if args.browser else 'no browser'}; a line every {args.interval:g} s; warm-up (baseline) {args.warmup:g} min",
        flush=True,
    )
    ctx = mp.get_context("spawn")
    with workspace(args.keep) as (tmp, stack):
        threads = max(64, args.clients + 40)
        server = started(stack, pulseboard(tmp / "soak", "--threads", str(threads)))
        ready_s = server.wait_ready()
        print(
            f"  server (--threads {threads}, {len(server.worker_pids()) + 1} processes) ready in {ready_s:.1f} s",
            flush=True,
        )
        assert server.proc is not None
        root = psutil.Process(server.proc.pid)
        procs: dict[int, Any] = {}
        server_stats(root, procs)  # starts the CPU % clocks

        # client processes
        url = f"ws://127.0.0.1:{server.port}/ws"
        nprocs = max(1, min(args.client_procs, args.clients))
        share = [args.clients // nprocs + (i < args.clients % nprocs) for i in range(nprocs)]
        workers: list[tuple[Any, Connection]] = []
        for i, n in enumerate(share):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=client_worker, args=(url, n, child), daemon=True, name=f"soak-clients-{i}")
            p.start()
            workers.append((p, parent))
            stack.callback(stop_process, p, parent, ("stop", np.zeros(0, np.int64), np.zeros(0), 0.0), 10.0)
        connected = 0
        for _p, pipe in workers:
            if not pipe.poll(120):
                raise RuntimeError("a client process did not report ready in 120 s")
            _, c, r, failures = pipe.recv()
            connected += c
            for f in failures:
                print(f"  ! connect failed: {f}", flush=True)
        print(f"  {connected} of {args.clients} WebSocket clients connected", flush=True)

        # the browser
        bpipe: Connection | None = None
        if args.browser:
            bparent, bchild = ctx.Pipe()
            bproc = ctx.Process(
                target=browser_worker, args=(server.url, args.explore_every, bchild), daemon=True, name="soak-browser"
            )
            bproc.start()
            stack.callback(stop_process, bproc, bparent, "stop", 20.0)
            if bparent.poll(150):
                print(f"  Chromium: / live in {bparent.recv()[1]:.1f} s", flush=True)
                bpipe = bparent
            else:
                print("  ! Chromium did not get / live in 150 s: running without the browser", flush=True)

        server_stats(root, procs)
        samples: list[Sample] = []
        acked_ids: list[int] = []
        lat_all: list[float] = []
        hist_all = np.zeros(len(EDGES) - 1, dtype=np.int64)
        explore_all: list[float] = []
        explore_failures: list[str] = []
        page_errors = 0
        page_state: dict[str, Any] = {}
        extra = 0
        resyncs = n_ws_errors = frames = 0
        ws_errors: list[str] = []
        final: list[dict[str, Any]] = []
        profile = args.py_spy / "soak-server.txt" if args.py_spy else None
        print(HEADER, flush=True)
        with py_spy(server, profile):
            producer = Producer(server, args.rate, args.batch, args.conns)
            stack.callback(producer.stop)
            rounds = max(1, int(round(args.minutes * 60 / args.interval)))
            for r in range(rounds + 1):
                last = r == rounds
                if last:
                    producer.stop()
                else:
                    time.sleep(max(0.0, producer.t0 + (r + 1) * args.interval - time.time()))
                    if server.proc is None or server.proc.poll() is not None:
                        raise RuntimeError(f"the server exited:\n{server.log_tail()}")
                done = producer.take()
                ids = np.fromiter(itertools.chain.from_iterable(d[3] for d in done), dtype=np.int64)
                answers = np.fromiter(
                    itertools.chain.from_iterable(itertools.repeat(d[2], len(d[3])) for d in done), dtype=np.float64
                )
                acked_ids.extend(ids.tolist())
                cmd = "final" if last else "round"
                for _, pipe in workers:
                    pipe.send((cmd, ids, answers, 30.0 if last else 5.0))
                hist = np.zeros(len(EDGES) - 1, dtype=np.int64)
                delivered = live_connected = 0
                for _, pipe in workers:
                    if not pipe.poll(120):
                        raise RuntimeError("a client process did not answer in 120 s")
                    kind, rep = pipe.recv()
                    hist += rep["hist"]
                    delivered += rep["delivered"]
                    live_connected += rep["connected"]
                    extra += rep["extra"]
                    if kind == "final":
                        final.append(rep)
                        resyncs += rep["resyncs"]
                        n_ws_errors += rep["n_errors"]
                        frames += rep["frames"]
                        ws_errors += rep["errors"]
                hist_all += hist
                ingest_ms = [1000 * (d[2] - d[1]) for d in done]
                lat_all += ingest_ms
                if last:
                    break
                heap = explore = float("nan")
                if bpipe is not None:
                    with contextlib.suppress(OSError, EOFError):
                        bpipe.send("sample")
                        if bpipe.poll(60):
                            page_state = bpipe.recv()[1]
                            heap = page_state["heap"] / 1048576 if page_state.get("heap") else float("nan")
                            explore_all += page_state["explore"]
                            explore_failures += page_state["explore_failures"]
                            page_errors = page_state["n_page_errors"]
                            explore = max(page_state["explore"], default=float("nan"))
                rss, fds, nthreads, cpu = server_stats(root, procs)
                metrics = scrape(server)
                s = Sample(
                    minute=(r + 1) * args.interval / 60,
                    rss_mb=rss,
                    fds=fds,
                    threads=nthreads,
                    cpu=cpu,
                    ingest_p50=percentile(ingest_ms, 50),
                    ingest_p99=percentile(ingest_ms, 99),
                    lag_p99=percentile([1000 * (d[1] - d[0]) for d in done], 99),
                    deliv_p50=hist_percentile(hist, 50),
                    deliv_p95=hist_percentile(hist, 95),
                    delivered=delivered,
                    expected=len(ids) * connected,
                    events_s=len(ids) / args.interval,
                    live=metrics.get("pulseboard_live_clients", float("nan")),
                    db_mb=metrics.get("pulseboard_database_bytes", float("nan")) / 1048576,
                    heap_mb=heap,
                    explore_s=explore,
                )
                samples.append(s)
                print(line(s), flush=True)
        if bpipe is not None:  # the page after the last events: caught up?
            with contextlib.suppress(OSError, EOFError):
                time.sleep(2.0)
                bpipe.send("sample")
                if bpipe.poll(60):
                    page_state = bpipe.recv()[1]
                    explore_all += page_state["explore"]
                    explore_failures += page_state["explore_failures"]
                    page_errors = page_state["n_page_errors"]
                bpipe.send("stop")
        own = sum(os.times()[:2]) + descendants_cpu()  # the server, client processes, Chromium
        db_final = scrape(server)
        log_errors = server_errors(server)

    summary(
        args,
        samples,
        acked_ids,
        hist_all,
        lat_all,
        final,
        connected,
        extra,
        resyncs,
        n_ws_errors,
        frames,
        ws_errors,
        producer,
        explore_all,
        explore_failures,
        page_errors,
        page_state,
        db_final,
    )
    if log_errors:
        print(f"  server log: {sum(log_errors.values())} tracebacks:")
        for exc_line, n in sorted(log_errors.items(), key=lambda kv: -kv[1])[:5]:
            print(f"    {n} x {exc_line[:200]}")
    print(f"  machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}, SQLite {m['sqlite']}, {m['os']}")
    print(f"  {busy.report(own)}")
    return 0


def summary(
    args: argparse.Namespace,
    samples: list[Sample],
    acked_ids: list[int],
    hist_all: np.ndarray,
    lat_all: list[float],
    final: list[dict[str, Any]],
    connected: int,
    extra: int,
    resyncs: int,
    n_ws_errors: int,
    frames: int,
    ws_errors: list[str],
    producer: Producer,
    explore_all: list[float],
    explore_failures: list[str],
    page_errors: int,
    page_state: dict[str, Any],
    metrics: dict[str, float],
) -> None:
    print()
    warm = [s for s in samples if s.minute <= args.warmup + 1e-9] or samples[:1]
    rest = [s for s in samples if s.minute > args.warmup + 1e-9]
    tail = rest[-2:] or samples[-1:]
    span = (
        f"minutes {rest[0].minute - args.interval / 60:g}-{rest[-1].minute:g}"
        if rest
        else "no samples after the warm-up"
    )
    print(
        f"Summary: slope per 10 min over the {len(rest)} samples after the warm-up ({span}), beside the warm-up "
        f"baseline (first {args.warmup:g} min, same run) and the last samples' ratio to it"
    )
    verdicts: list[bool] = []

    def figure(name: str, unit: str, get: Any, tolerance: Any, target: str) -> None:
        xs, ys = [s.minute for s in rest], [float(get(s)) for s in rest]
        slope = slope_per_10min(xs, ys)
        base = nanmean([float(get(s)) for s in warm])
        mean_after = nanmean(ys)
        end = nanmean([float(get(s)) for s in tail])
        ok: bool | None = None
        if tolerance is not None and slope == slope:
            # growing: a trend beyond the tolerance, and the last samples above the baseline by more than it
            tol = tolerance(base, mean_after)
            ok = slope <= tol or not end - base > tol
            verdicts.append(ok)
        ratio = f"{end / base:.2f}x" if base and base == base and end == end else "n/a"
        rel = (
            f" ({100 * slope / mean_after:+.1f} %)"
            if mean_after and mean_after == mean_after and slope == slope
            else ""
        )
        verdict = {True: "flat  MET", False: "growing  MISSED", None: ""}[ok]
        print(
            f"  {name:<26} slope {slope:+8.2f} {unit}/10 min{rel:<11} baseline {base:8.1f} {unit:<3} last {end:8.1f} "
            f"ratio {ratio:<6} target {target:<28} {verdict}"
        )

    figure("server RSS", "MB", lambda s: s.rss_mb, lambda b, m: FLAT_RSS_PCT / 100 * m, f"< {FLAT_RSS_PCT:g} %/10 min")
    figure("server open files", "", lambda s: s.fds, lambda b, m: FLAT_FDS, f"<= {FLAT_FDS:g}/10 min")
    figure("server threads", "", lambda s: s.threads, lambda b, m: FLAT_THREADS, f"<= {FLAT_THREADS:g}/10 min")
    lat_tol = lambda b, m: max(FLAT_LATENCY_PCT / 100 * b, FLAT_LATENCY_MS)  # noqa: E731
    lat_target = f"<= max({FLAT_LATENCY_PCT:g} % of base, {FLAT_LATENCY_MS:g} ms)"
    figure("delivery latency p95", "ms", lambda s: s.deliv_p95, lat_tol, lat_target)
    figure("ingest request p99", "ms", lambda s: s.ingest_p99, lat_tol, lat_target)
    figure("server CPU", "%", lambda s: s.cpu, None, "-")
    figure("database size", "MB", lambda s: s.db_mb, None, "- (grows with the events)")
    if any(s.heap_mb == s.heap_mb for s in samples):
        figure("page JS heap (/ open)", "MB", lambda s: s.heap_mb, None, "-")
    if any(s.explore_s == s.explore_s for s in samples):
        figure("Explore load, slowest", "s", lambda s: s.explore_s, None, "-")
    if not verdicts:
        flat = "n/a (too few samples after the warm-up)"
    else:
        flat = "MET" if all(verdicts) else "MISSED"
    print(f"  target: RSS, open files, threads and latency stay flat: {flat}")

    elapsed = producer.elapsed
    acked = len(acked_ids)
    per = [pc for rep in final for pc in rep["per_client"]]
    missing = sum(pc[1] for pc in per)
    dups = sum(pc[2] for pc in per)
    unique = len(set(acked_ids))
    print(f"\nTotals over {args.minutes:g} min")
    print(
        f"  ingest: {acked:,} events acknowledged in {len(lat_all):,} requests ({producer.n_errors} failed; {elapsed:.0f} s = "
        f"{acked / elapsed:,.0f} events/s of {args.rate:,.0f} asked); distinct ids {unique:,}; request latency "
        f"p50 {percentile(lat_all, 50):.1f} p99 {percentile(lat_all, 99):.1f} max {max(lat_all, default=float('nan')):.0f} ms; "
        f"server counted {metrics.get('pulseboard_events_ingested_total', float('nan')):,.0f} stored"
    )
    for e in producer.errors[:3]:
        print(f"    ! {e}")
    if per:
        d = [pc[0] for pc in per]
        print(
            f"  delivery: {len(per)} clients ({connected} connected at the start), each got {min(d):,} to {max(d):,} of "
            f"{acked:,}; missing {missing:,} (worst client {max(pc[1] for pc in per):,}), duplicates {dups:,}; latency "
            f"answer -> client p50 {hist_percentile(hist_all, 50):.1f} p95 {hist_percentile(hist_all, 95):.1f} p99 "
            f"{hist_percentile(hist_all, 99):.1f} ms over {int(hist_all.sum()):,} deliveries; {frames:,} frames, resyncs "
            f"{resyncs}, error messages {n_ws_errors}; other events (self-monitoring) {extra:,}"
        )
        for e in ws_errors[:3]:
            print(f"    ! server said: {e}")
        ok = missing == 0 and dups == 0 and len(per) == args.clients
        print(f"  target: every acknowledged event to every client exactly once: {'MET' if ok else 'MISSED'}")
    if args.browser:
        newest = max(acked_ids, default=0)
        caught_up = (
            "yes"
            if (page_state.get("lastId") or 0) >= newest
            else f"no (page at id {page_state.get('lastId')}, newest {newest})"
        )
        print(
            f"  browser: / open {args.minutes:g} min, live feed received {page_state.get('received', 'n/a')} events, "
            f"caught up with the newest: {caught_up} (status {page_state.get('status', 'n/a')}, resyncs "
            f"{page_state.get('resyncs', 'n/a')}), {page_state.get('nodes', 'n/a')} "
            f"DOM nodes at the end, {page_errors} page errors; Explore loaded {len(explore_all)} times (p50 "
            f"{percentile(explore_all, 50):.2f} s, max {max(explore_all, default=float('nan')):.2f} s), "
            f"{len(explore_failures)} failed"
        )
        for e in explore_failures[:3]:
            print(f"    ! {e}")


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__)
    opt = parser.add_argument
    opt("--quick", action="store_true", help="a 2 min smoke check: 10 clients, a line every 15 s, 30 s warm-up")
    opt("--minutes", type=float, help="how long to run (default 10; --quick 2)")
    opt("--rate", type=float, default=1000.0, help="events per second (default 1,000)")
    opt("--batch", type=int, default=50, help="events per request (default 50)")
    opt("--conns", type=int, default=4, help="keep-alive ingest connections (default 4)")
    opt("--clients", type=int, help="WebSocket clients (default 50; --quick 10)")
    opt("--client-procs", type=int, default=2, help="processes the WebSocket clients are spread over (default 2)")
    opt("--interval", type=float, help="seconds between printed samples (default 60; --quick 15)")
    opt(
        "--warmup", type=float, help="minutes of warm-up: the baseline, left out of the slopes (default 2; --quick 0.5)"
    )
    opt("--explore-every", type=float, help="seconds between Explore loads in the browser (default 60; --quick 30)")
    opt("--no-browser", dest="browser", action="store_false", help="no Chromium")
    opt(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="sample the server with py-spy for the whole run (DIR/soak-server.txt)",
    )
    opt("--keep", action="store_true", help="keep the temp dir (database, server log)")
    args = parser.parse_args(argv)
    args.minutes = args.minutes or (2.0 if args.quick else 10.0)
    args.clients = args.clients if args.clients is not None else (10 if args.quick else 50)
    args.interval = args.interval or (15.0 if args.quick else 60.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 2.0)
    args.explore_every = args.explore_every or (30.0 if args.quick else 60.0)
    return run_main(run, args, "interrupted; server, clients and browser stopped, temp files removed")


if __name__ == "__main__":
    sys.exit(main())
