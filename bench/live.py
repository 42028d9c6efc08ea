"""Live push benchmark: ingest -> DOM latency in Chromium, and fan-out of
1,000 events/s to 200 WebSocket clients, against the real server
(``python app.py serve`` in a subprocess, temp data dir).

    .venv/bin/python bench/live.py [--quick] [--part all|dom|fanout]
        [--events 300] [--clients 200] [--seconds 30] [--rate 1000] [--batch 50]
        [--client-procs 2] [--baseline-seconds 10] [--deflate]
        [--chart-throttle MS] [--py-spy DIR] [--keep]

1. Ingest -> DOM (Chromium, headless, the overview page ``/``): a
   MutationObserver on ``#event-feed`` records ``performance.now()`` when each
   ``feed-event-<id>`` node appears (its callback runs at the end of live.js's
   message handler); an init script, installed before the page loads, wraps
   ``WebSocket.prototype.onmessage`` (and ``addEventListener``) to record when
   each frame reaches the page, before ``assets/live.js`` handles it, and when
   the handler returns; ``Plotly.extendTraces`` is timed too. Python POSTs
   single events one at a time, 50-100 ms apart, and records ``time.time()``
   just before each POST. Page times are converted to the same epoch clock
   with ``performance.timeOrigin + performance.now()``, calibrated against
   ``time.time()`` (the offset of the evaluate round trip with the least delay;
   printed with its uncertainty). A plain Python WebSocket client subscribed
   beside the page gives the server's push alone.
   Printed: ingest -> DOM (target p50 <= 50 ms, p95 <= 100 ms) beside the
   baseline push -> DOM (frame reaches the page -> node in the DOM: the
   browser's share, no ingest, one clock), ingest -> frame in the page, and
   ingest -> plain client. ``--chart-throttle MS`` adds a what-if run (not the
   app as it is) where the page's chart updates are batched, one per MS ms.

2. Fan-out: ``--clients`` simple_websocket clients (threads, spread over
   ``--client-procs`` processes so that their parsing does not serialise the
   producer's clock on one GIL), each subscribed to ``all``, record every event
   id they receive and when (``--deflate``: they offer permessage-deflate, as
   browsers do); a producer POSTs ``--rate`` events/s in requests of
   ``--batch`` on an open-loop schedule (4 connections) for ``--seconds`` and
   records the answer (commit) time of each id. Checked: every event delivered
   to every client exactly once (missing, duplicates, order); the rate the
   producer achieved; delivery latency answer -> client receive (target p95 <=
   150 ms); server CPU % and memory sampled every second with psutil (PSS,
   target <= 300 MB: the master and its forked worker share start-up's pages,
   which a sum of RSS would count twice; the sum of RSS is printed beside it),
   and the memory one connected client costs. Baselines in the same run: one
   client at the same rate (latency, CPU), and the server with all clients
   connected but no events (CPU, memory). ``--py-spy DIR``
   samples the server's GIL holder during the fan-out and prints the heaviest
   functions.

All clocks are the machine's own (the server, Chromium and the clients run
here). Benchmarks measure; they do not assert.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import multiprocessing as mp
import os
import random
import signal
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

from common import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HEADERS,
    ROOT,
    Figure,
    MachineLoad,
    Server,
    arg_parser,
    banner,
    connect_clients,
    descendants_cpu,
    die_with_parent,
    make_bodies,
    percentile,
    profile_counts,
    pulseboard,
    py_spy,
    recorder_class,
    run_main,
    show,
    started,
    table,
    timed,
    workspace,
)

# ---------------------------------------------------------------- 1. ingest -> DOM

# Installed before any page script: stamps every WebSocket message when the page
# receives it, before live.js handles it (the raw frame is parsed only later,
# when Python collects, so the stamp costs the handler nothing).
INIT_SCRIPT = r"""
(() => {
  const arrivals = [];
  Object.defineProperty(window, "__pbArrivals", {value: arrivals});
  // [arrival, raw frame, handler end]: the handler is live.js's onmessage
  const stamp = (ev) => { const entry = [performance.now(), typeof ev.data === "string" ? ev.data : "", null]; arrivals.push(entry); return entry; };
  const proto = WebSocket.prototype;
  const desc = Object.getOwnPropertyDescriptor(proto, "onmessage");
  Object.defineProperty(proto, "onmessage", {
    configurable: true, enumerable: desc.enumerable,
    get() { const fn = desc.get.call(this); return (fn && fn.__pbOriginal) || fn; },
    set(fn) {
      if (typeof fn !== "function") { desc.set.call(this, fn); return; }
      const wrapped = function (ev) { const e = stamp(ev); try { return fn.call(this, ev); } finally { e[2] = performance.now(); } };
      wrapped.__pbOriginal = fn;
      desc.set.call(this, wrapped);
    },
  });
  const listeners = new WeakMap();
  const add = proto.addEventListener, remove = proto.removeEventListener;
  proto.addEventListener = function (type, fn, opts) {
    if (type === "message" && typeof fn === "function") {
      if (!listeners.has(fn)) listeners.set(fn, function (ev) { const e = stamp(ev); try { return fn.call(this, ev); } finally { e[2] = performance.now(); } });
      return add.call(this, type, listeners.get(fn), opts);
    }
    return add.call(this, type, fn, opts);
  };
  proto.removeEventListener = function (type, fn, opts) {
    return remove.call(this, type, (type === "message" && listeners.get(fn)) || fn, opts);
  };
})();
"""

OBSERVE_FEED = r"""() => {
  const feed = document.getElementById("event-feed");
  if (!feed) return false;
  const dom = new Map();
  window.__pbDom = dom;
  window.__pbFeed = feed;
  new MutationObserver((mutations) => {
    const t = performance.now();
    for (const m of mutations) for (const n of m.addedNodes) {
      if (n.nodeType === 1 && n.id && n.id.startsWith("feed-event-")) {
        const id = Number(n.id.slice(11));
        if (!dom.has(id)) dom.set(id, t);
      }
    }
  }).observe(feed, {childList: true});
  // how long live.js's chart update (Plotly.extendTraces, synchronous part) takes per frame
  window.__pbExtend = [];
  if (window.Plotly && !window.Plotly.__pbWrapped) {
    const orig = window.Plotly.extendTraces;
    window.Plotly.extendTraces = function () {
      const t = performance.now();
      try { return orig.apply(this, arguments); } finally { window.__pbExtend.push(performance.now() - t); }
    };
    window.Plotly.__pbWrapped = true;
  }
  return true;
}"""

COLLECT = r"""() => {
  const frames = [];
  for (const [t, raw, end] of window.__pbArrivals) {
    let msg = null;
    try { msg = JSON.parse(raw); } catch (e) { continue; }
    if (msg) frames.push([t, msg.type, msg.seq ?? null, Array.isArray(msg.events) ? msg.events.map((e) => e.id) : [], end]);
  }
  return {
    dom: Array.from(window.__pbDom.entries()),
    frames: frames,
    origin: performance.timeOrigin,
    feedAttached: document.contains(window.__pbFeed),
    received: window.pulseboardLive.received,
    resyncs: window.pulseboardLive.resyncs,
    extend: window.__pbExtend || [],
  };
}"""


def calibrate(page: Any, samples: int = 20) -> tuple[float, float]:
    """(offset, uncertainty) in seconds: page epoch (timeOrigin + now) minus time.time(),
    from the evaluate round trip with the least delay (uncertainty: half of it)."""
    best: tuple[float, float] | None = None
    for _ in range(samples):
        t0 = time.time()
        page_ms = page.evaluate("performance.timeOrigin + performance.now()")
        t1 = time.time()
        rtt, offset = t1 - t0, page_ms / 1000 - (t0 + t1) / 2
        if best is None or rtt < best[0]:
            best = (rtt, offset)
    assert best is not None
    return best[1], best[0] / 2


def stats_line(name: str, values_ms: list[float]) -> str:
    if not values_ms:
        return f"  {name:<46} n=0"
    return (
        f"  {name:<46} n={len(values_ms):<4} p50 {percentile(values_ms, 50):7.1f}  p95 {percentile(values_ms, 95):7.1f}  "
        f"max {max(values_ms):7.1f}  min {min(values_ms):6.1f} ms"
    )


# A what-if, not the app: live.js's Plotly.extendTraces calls queued and applied
# together at most every N ms (the feed list is still updated at once).
THROTTLE_CHART = r"""(ms) => {
  const inner = window.Plotly.extendTraces;
  let queued = null, timer = null, last = 0;
  const flush = () => {
    timer = null; last = performance.now();
    const [gd, update, traces, max] = queued; queued = null;
    inner.call(window.Plotly, gd, update, traces, max);
  };
  window.Plotly.extendTraces = function (gd, update, traces, max) {
    if (!queued) queued = [gd, update, traces, max];
    else for (const k of Object.keys(update)) queued[1][k] = [queued[1][k][0].concat(update[k][0])];
    if (!timer) timer = setTimeout(flush, Math.max(0, last + ms - performance.now()));
    return Promise.resolve(gd);
  };
  return true;
}"""


BROWSER_CPU: list[float] = []  # CPU-seconds of each Chromium run (for the machine-load line)


def dom_latency(server: Server, args: argparse.Namespace, throttle_ms: float = 0.0) -> list[Figure]:
    from playwright.sync_api import sync_playwright

    what_if = f"what-if chart <= 1/{throttle_ms:.0f} ms: " if throttle_ms else ""
    print(
        f"\n1{'b' if throttle_ms else ''}. {what_if}ingest -> DOM in Chromium: {args.events} single-event POSTs, "
        f"{1000 * args.gap[0]:.0f}-{1000 * args.gap[1]:.0f} ms apart (+{args.warmup} warm-up events not counted), page /",
        flush=True,
    )
    if throttle_ms:
        print(
            f"  (not the app as it is: the page's Plotly.extendTraces calls are batched, at most one per {throttle_ms:.0f} ms)",
            flush=True,
        )
    rng = random.Random(7)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.add_init_script(INIT_SCRIPT)
            page = context.new_page()
            t0 = time.perf_counter()
            page.goto(server.url + "/", wait_until="load")
            page.wait_for_function("window.pulseboardLive && window.pulseboardLive.ready === true", timeout=60_000)
            page.wait_for_selector("#event-feed", state="attached", timeout=30_000)
            # plotly.js is loaded lazily: wait until the live chart is drawn, so that every
            # measured event goes to the chart at once (live.js queues them until then).
            page.wait_for_function(
                "(() => { const gd = document.querySelector('#live-chart .js-plotly-plot'); "
                "return !!(window.Plotly && gd && gd.data); })()",
                timeout=60_000,
            )
            if not page.evaluate(OBSERVE_FEED):
                raise RuntimeError("#event-feed not found on /")
            if throttle_ms:
                page.evaluate(THROTTLE_CHART, throttle_ms)
            print(f"  page live in {time.perf_counter() - t0:.1f} s", flush=True)
            offset0, unc0 = calibrate(page)
            # A plain WebSocket client beside the page: the server's push alone, no browser.
            ref = recorder_class()(f"ws://127.0.0.1:{server.port}/ws")
            ref.send('{"type": "subscribe", "topics": ["all"]}')
            ref.ready.wait(30)

            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            sent: dict[int, tuple[float, float]] = {}  # id -> (before POST, answer), time.time()
            warm: list[int] = []
            errors = 0
            due = time.time()
            for i in range(args.warmup + args.events):
                time.sleep(max(0.0, due - time.time()))
                body = json.dumps(
                    {
                        "type": "bench_live",
                        "source": "bench",
                        "status": "ok",
                        "entity": f"dom-{i % 7}",
                        "message": f"ingest->DOM probe {i}",
                    }
                ).encode()
                t_send = time.time()
                try:
                    conn.request("POST", "/api/events", body, HEADERS)
                    resp = conn.getresponse()
                    data = resp.read()
                    t_answer = time.time()
                    ok = resp.status in (200, 201)
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                    ok = False
                if not ok:
                    errors += 1
                else:
                    event_id = int(json.loads(data)["ids"][0])
                    if i < args.warmup:
                        warm.append(event_id)
                    else:
                        sent[event_id] = (t_send, t_answer)
                due = t_send + rng.uniform(*args.gap)
                if i == args.warmup - 1:
                    due += 1.0  # let the warm-up settle
            conn.close()
            # Wait until every posted event is in the DOM (or 10 s).
            wanted = set(sent)
            deadline = time.time() + 10
            while time.time() < deadline:
                have = set(page.evaluate("Array.from(window.__pbDom.keys())"))
                if wanted <= have:
                    break
                time.sleep(0.2)
            offset1, unc1 = calibrate(page)
            got = page.evaluate(COLLECT)
            with contextlib.suppress(Exception):
                ref.close()
            context.close()
        finally:
            BROWSER_CPU.append(descendants_cpu(server))
            browser.close()

    offset = (offset0 + offset1) / 2
    origin = got["origin"]
    dom = {int(k): v for k, v in got["dom"]}
    arrival: dict[int, float] = {}
    frame_sizes: list[int] = []
    handler_ms: list[float] = []
    for t, kind, _seq, ids, end in got["frames"]:
        if kind == "realtime_update":
            frame_sizes.append(len(ids))
            if end is not None and ids and int(ids[0]) in sent:
                handler_ms.append(end - t)
        for i in ids:
            arrival.setdefault(int(i), t)
    ref_at: dict[int, float] = {}
    for i, t in zip(ref.ids, ref.times):
        ref_at.setdefault(int(i), t)

    def to_epoch(page_ms: float) -> float:
        return (origin + page_ms) / 1000 - offset

    ingest_dom, ingest_arrival, push_dom, answer, ingest_ref = [], [], [], [], []
    for event_id, (t_send, t_answer) in sent.items():
        answer.append(1000 * (t_answer - t_send))
        if event_id in ref_at:
            ingest_ref.append(1000 * (ref_at[event_id] - t_send))
        if event_id in dom:
            ingest_dom.append(1000 * (to_epoch(dom[event_id]) - t_send))
        if event_id in arrival:
            ingest_arrival.append(1000 * (to_epoch(arrival[event_id]) - t_send))
            if event_id in dom:
                push_dom.append(dom[event_id] - arrival[event_id])
    missing = [i for i in sent if i not in dom]
    no_frame = [i for i in sent if i in dom and i not in arrival]
    counted = [n for n in frame_sizes if n]

    print(
        f"  clock: page epoch - time.time() = {1000 * offset0:+.2f} ms (+-{1000 * unc0:.2f}) before, "
        f"{1000 * offset1:+.2f} ms (+-{1000 * unc1:.2f}) after; using {1000 * offset:+.2f} ms",
        flush=True,
    )
    print(
        f"  {len(sent)} events posted ({errors} failed POSTs), {len(dom) - len(warm)} reached the DOM, "
        f"{len(missing)} never did{'' if got['feedAttached'] else ' (the observed #event-feed was replaced!)'}; "
        f"{len(no_frame)} reached the DOM without a WebSocket frame (poll/replay); page resyncs {got['resyncs']}",
        flush=True,
    )
    if counted:
        print(
            f"  {len(counted)} realtime_update frames with events, {statistics.mean(counted):.2f} events per frame (max {max(counted)})",
            flush=True,
        )
    print(stats_line("ingest -> DOM (POST start -> MutationObserver)", ingest_dom))
    print(stats_line("  ingest -> frame reaches page's onmessage", ingest_arrival))
    print(stats_line("  push -> DOM: onmessage -> MutationObserver", push_dom))
    print(stats_line("    live.js handler per frame (onmessage)", handler_ms))
    print(stats_line("    of which Plotly.extendTraces per call", got["extend"]))
    if len(got["extend"]) >= 100:
        print(stats_line("      extendTraces, first 50 calls", got["extend"][:50]))
        print(stats_line("      extendTraces, last 50 calls", got["extend"][-50:]))
    print(stats_line("ingest -> plain Python WS client (no browser)", ingest_ref))
    print(stats_line("ingest -> HTTP answer (POST round trip)", answer))

    p50, p95 = percentile(ingest_dom, 50), percentile(ingest_dom, 95)
    b50, b95 = percentile(push_dom, 50), percentile(push_dom, 95)
    n = f"n={len(ingest_dom)}"
    if throttle_ms:
        return [
            show(
                Figure(
                    f"{what_if}ingest -> DOM p50 ({n})",
                    p50,
                    "ms",
                    f"push -> DOM p50 {b50:.1f} ms",
                    p50 / b50 if b50 > 0 else None,
                    "(what-if)",
                    None,
                )
            ),
            show(
                Figure(
                    f"{what_if}ingest -> DOM p95 ({n})",
                    p95,
                    "ms",
                    f"push -> DOM p95 {b95:.1f} ms",
                    p95 / b95 if b95 > 0 else None,
                    "(what-if)",
                    None,
                )
            ),
        ]
    return [
        show(
            Figure(
                f"ingest -> DOM p50 ({n})",
                p50,
                "ms",
                f"push -> DOM p50 {b50:.1f} ms",
                p50 / b50 if b50 > 0 else None,
                "<= 50 ms",
                p50 <= 50,
            )
        ),
        show(
            Figure(
                f"ingest -> DOM p95 ({n})",
                p95,
                "ms",
                f"push -> DOM p95 {b95:.1f} ms",
                p95 / b95 if b95 > 0 else None,
                "<= 100 ms",
                p95 <= 100,
            )
        ),
        show(
            Figure(
                f"ingest -> DOM max ({n})",
                max(ingest_dom, default=float("nan")),
                "ms",
                f"push -> DOM max {max(push_dom, default=float('nan')):.1f} ms",
                None,
                "-",
                None,
            )
        ),
        show(
            Figure(
                f"ingest -> page onmessage p50 ({n})",
                percentile(ingest_arrival, 50),
                "ms",
                f"plain WS client p50 {percentile(ingest_ref, 50):.1f} ms",
                None,
                "-",
                None,
            )
        ),
        show(
            Figure(
                f"ingest -> plain WS client p95 (n={len(ingest_ref)})",
                percentile(ingest_ref, 95),
                "ms",
                f"POST round trip p95 {percentile(answer, 95):.1f} ms",
                None,
                "-",
                None,
            )
        ),
    ]


# ---------------------------------------------------------------- 2. fan-out: the client processes


def client_worker(url: str, n: int, out: str, pipe: Any, deflate: bool = False) -> None:
    """One client process: ``n`` recording clients; tells the parent when all are
    subscribed, waits for the last event id, then saves what each received."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    import numpy as np

    Recorder = recorder_class()
    clients = connect_clients(lambda: Recorder(url, deflate), n, pipe)
    cmd, target, timeout = pipe.recv()
    if cmd == "drain":
        deadline = time.time() + timeout
        while time.time() < deadline and any(c.max_id < target for c in clients if c.connected):
            time.sleep(0.05)
    closed = sum(not c.connected for c in clients)
    for c in clients:
        with contextlib.suppress(Exception):
            c.close()
    lengths = np.array([len(c.ids) for c in clients], dtype=np.int64)
    np.savez(
        out,
        lengths=lengths,
        ids=np.concatenate([np.frombuffer(c.ids, dtype=np.int64) for c in clients])
        if clients
        else np.zeros(0, np.int64),
        times=np.concatenate([np.frombuffer(c.times, dtype=np.float64) for c in clients]) if clients else np.zeros(0),
    )
    pipe.send(
        (
            "done",
            {
                "frames": sum(c.frames for c in clients),
                "resyncs": sum(c.resyncs for c in clients),
                "errors": [e for c in clients for e in c.errors][:5],
                "n_errors": sum(len(c.errors) for c in clients),
                "closed_early": closed,
            },
        )
    )
    pipe.close()


# ---------------------------------------------------------------- 2. fan-out: producer, sampler, analysis


class Sampler:
    """CPU % (of one core), RSS and PSS of the server's process tree, every
    second, tagged by phase. The tree is gunicorn's master and its forked
    worker: they share the pages start-up built, which a sum of RSS counts
    once per process; PSS divides each shared page among its sharers, so its
    sum is the memory the server takes."""

    def __init__(self, server: Server, extra_pids: list[int] | None = None) -> None:
        import psutil

        self.psutil = psutil
        root = psutil.Process(server.proc.pid) if server.proc else None
        self.procs = [root, *root.children(recursive=True)] if root else []
        self.clients = [psutil.Process(p) for p in extra_pids or []]
        self.phase = "idle"
        # phase, server cpu %, server rss MB, clients cpu %, server pss MB
        self.samples: list[tuple[str, float, float, float, float]] = []
        self.stop_event = threading.Event()
        for p in [*self.procs, *self.clients]:
            with contextlib.suppress(psutil.Error):
                p.cpu_percent(None)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop_event.wait(1.0):
            cpu = rss = ccpu = pss = 0.0
            for p in self.procs:
                with contextlib.suppress(self.psutil.Error):
                    cpu += p.cpu_percent(None)
                    mem = p.memory_full_info()
                    rss += mem.rss / 1048576
                    pss += getattr(mem, "pss", mem.rss) / 1048576
            for p in self.clients:
                with contextlib.suppress(self.psutil.Error):
                    ccpu += p.cpu_percent(None)
            self.samples.append((self.phase, cpu, rss, ccpu, pss))

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(3)

    def of(self, phase: str, column: int) -> list[float]:
        return [s[column] for s in self.samples if s[0] == phase]


def produce(server: Server, rate: float, batch: int, seconds: float, conns: int = 4) -> dict[str, Any]:
    """Open loop: request k is due at t0 + k * batch / rate, whoever sends it; ``conns``
    keep-alive connections so that one slow answer does not delay the schedule."""
    count = max(1, int(round(seconds * rate / batch)))
    bodies = make_bodies(count, batch)
    interval = batch / rate
    slots = itertools.count()
    lock = threading.Lock()
    ids: list[int] = []
    send_t: list[float] = []
    answer_t: list[float] = []
    post_ms: list[float] = []
    lag_ms: list[float] = []
    errors: list[str] = []
    t0 = time.time() + 0.2

    def run() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        while True:
            k = next(slots)
            if k >= count:
                break
            due = t0 + k * interval
            time.sleep(max(0.0, due - time.time()))
            t_send = time.time()
            try:
                conn.request("POST", "/api/events", bodies[k], HEADERS)
                resp = conn.getresponse()
                data = resp.read()
                t_answer = time.time()
                if resp.status not in (200, 201):
                    raise RuntimeError(f"HTTP {resp.status}: {data[:200]!r}")
                got = json.loads(data)["ids"]
            except Exception as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                ids.extend(got)
                send_t.extend([t_send] * len(got))
                answer_t.extend([t_answer] * len(got))
                post_ms.append(1000 * (t_answer - t_send))
                lag_ms.append(1000 * (t_send - due))
        conn.close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = max(answer_t, default=t0) - t0
    return {
        "ids": ids,
        "send": send_t,
        "answer": answer_t,
        "post_ms": post_ms,
        "lag_ms": lag_ms,
        "errors": errors,
        "elapsed": elapsed,
        "requests": count,
    }


def run_fanout(
    server: Server,
    tmp: Path,
    label: str,
    clients: int,
    procs: int,
    seconds: float,
    rate: float,
    batch: int,
    idle_seconds: float,
    profile: Path | None = None,
    deflate: bool = False,
) -> dict[str, Any]:
    """Connect ``clients``, sample the idle server, produce for ``seconds``, drain, analyse."""
    import numpy as np

    ctx = mp.get_context("spawn")
    url = f"ws://127.0.0.1:{server.port}/ws"
    procs = max(1, min(procs, clients))
    share = [clients // procs + (i < clients % procs) for i in range(procs)]
    workers = []
    for i, n in enumerate(share):
        parent, child = ctx.Pipe()
        out = tmp / f"{label}-{i}.npz"
        p = ctx.Process(
            target=client_worker, args=(url, n, str(out), child, deflate), daemon=True, name=f"ws-clients-{i}"
        )
        p.start()
        workers.append((p, parent, out))
    try:
        with timed(f"connect {clients} clients"):
            connected = ready = 0
            for _p, pipe, _ in workers:
                if not pipe.poll(120):
                    raise RuntimeError("a client process did not report ready in 120 s")
                _, c, r, failures = pipe.recv()
                connected, ready = connected + c, ready + r
                for f in failures:
                    print(f"  ! connect failed: {f}", flush=True)
        print(f"  {connected} of {clients} connected, {ready} got initial_data", flush=True)
        sampler = Sampler(server, [p.pid for p, _, _ in workers if p.pid])
        time.sleep(idle_seconds)
        sampler.phase = "load"
        with py_spy(server, profile, rate=200, gil=True):
            prod = produce(server, rate, batch, seconds)
        sampler.phase = "drain"
        target = max(prod["ids"], default=0)
        t_drain = time.time()
        for _, pipe, _ in workers:
            pipe.send(("drain", target, 20.0))
        summaries = []
        for _p, pipe, _ in workers:
            if not pipe.poll(60):
                raise RuntimeError("a client process did not finish in 60 s")
            summaries.append(pipe.recv()[1])
        drain_s = time.time() - t_drain
        sampler.stop()
    finally:
        for p, _pipe, _ in workers:
            p.join(10)
            if p.is_alive():
                p.terminate()
                p.join(5)

    ids = np.asarray(prod["ids"], dtype=np.int64)
    answer = np.asarray(prod["answer"])
    send = np.asarray(prod["send"])
    res: dict[str, Any] = {
        "label": label,
        "clients": clients,
        "connected": connected,
        "produced": len(ids),
        "prod": prod,
        "drain_s": drain_s,
        "sampler": sampler,
        "summaries": summaries,
    }
    if not len(ids):
        return res
    lo, hi = int(ids.min()), int(ids.max())
    ans_of = np.full(hi - lo + 1, np.nan)
    ans_of[ids - lo] = answer
    send_of = np.full(hi - lo + 1, np.nan)
    send_of[ids - lo] = send
    wanted = np.zeros(hi - lo + 1, dtype=bool)
    wanted[ids - lo] = True
    missing = dups = extra = out_of_order = 0
    worst_missing = 0
    lat_answer: list[Any] = []
    lat_send: list[Any] = []
    client_p95: list[float] = []
    for _, _, out in workers:
        data = np.load(out)
        start = 0
        for n in data["lengths"].tolist():
            r, t = data["ids"][start : start + n], data["times"][start : start + n]
            start += n
            inside = (r >= lo) & (r <= hi)
            inside[inside] = wanted[r[inside] - lo]
            extra += int((~inside & (r > lo)).sum())
            r, t = r[inside], t[inside]
            uniq, first = np.unique(r, return_index=True)
            dups += len(r) - len(uniq)
            m = len(ids) - len(uniq)
            missing += m
            worst_missing = max(worst_missing, m)
            out_of_order += int((np.diff(r) <= 0).sum())
            la = 1000 * (t[first] - ans_of[uniq - lo])
            lat_answer.append(la)
            lat_send.append(1000 * (t[first] - send_of[uniq - lo]))
            if len(la):
                client_p95.append(float(np.percentile(la, 95)))
    la = np.concatenate(lat_answer) if lat_answer else np.zeros(0)
    ls = np.concatenate(lat_send) if lat_send else np.zeros(0)
    res.update(
        missing=missing,
        worst_missing=worst_missing,
        dups=dups,
        extra=extra,
        out_of_order=out_of_order,
        lat_answer=la,
        lat_send=ls,
        client_p95=client_p95,
    )
    return res


def describe_fanout(r: dict[str, Any], rate: float) -> None:
    import numpy as np

    prod, s = r["prod"], r["sampler"]
    achieved = r["produced"] / prod["elapsed"] if prod["elapsed"] else float("nan")
    print(
        f"  [{r['label']}] produced {r['produced']:,} events in {prod['requests']} requests ({len(prod['errors'])} failed) over "
        f"{prod['elapsed']:.1f} s = {achieved:,.0f} events/s (asked {rate:,.0f}); POST p50 {percentile(prod['post_ms'], 50):.1f} ms "
        f"p95 {percentile(prod['post_ms'], 95):.1f} ms; schedule lag p95 {percentile(prod['lag_ms'], 95):.1f} ms max "
        f"{max(prod['lag_ms'], default=0):.0f} ms",
        flush=True,
    )
    for e in prod["errors"][:3]:
        print(f"    ! {e}", flush=True)
    if "lat_answer" not in r:
        return
    la, ls = r["lat_answer"], r["lat_send"]
    deliveries = r["clients"] * r["produced"]
    frames = sum(x["frames"] for x in r["summaries"])
    print(
        f"  [{r['label']}] delivered {len(la):,} of {deliveries:,} (event, client) pairs: missing {r['missing']:,} "
        f"(worst client {r['worst_missing']:,}), duplicates {r['dups']:,}, out of order {r['out_of_order']:,}, ids not from the producer (self-monitoring etc.) {r['extra']:,}; "
        f"{frames:,} frames ({r['produced'] * r['clients'] / max(frames, 1):.1f} events/frame); resyncs "
        f"{sum(x['resyncs'] for x in r['summaries'])}, error messages {sum(x['n_errors'] for x in r['summaries'])}, "
        f"sockets closed early {sum(x['closed_early'] for x in r['summaries'])}; drained in {r['drain_s']:.1f} s",
        flush=True,
    )
    for x in r["summaries"]:
        for e in x["errors"][:2]:
            print(f"    ! server said: {e}", flush=True)
    if len(la):
        q = np.percentile(la, [50, 95, 99])
        qs = np.percentile(ls, [50, 95])
        cp = r["client_p95"]
        print(
            f"  [{r['label']}] latency answer -> client: p50 {q[0]:.1f}  p95 {q[1]:.1f}  p99 {q[2]:.1f}  max {la.max():.1f}  "
            f"min {la.min():.1f} ms (n={len(la):,}); POST start -> client p50 {qs[0]:.1f} p95 {qs[1]:.1f} ms; per-client p95 "
            f"from {min(cp):.1f} to {max(cp):.1f} ms",
            flush=True,
        )
    for phase in ("idle", "load"):
        cpu, rss, ccpu, pss = s.of(phase, 1), s.of(phase, 2), s.of(phase, 3), s.of(phase, 4)
        if cpu:
            print(
                f"  [{r['label']}] server while {phase:<4} ({len(cpu)} samples): CPU mean {statistics.mean(cpu):.0f} % max {max(cpu):.0f} % "
                f"(of one core); PSS mean {statistics.mean(pss):.0f} MB max {max(pss):.0f} MB (sum of RSS, shared pages "
                f"counted per process: max {max(rss):.0f} MB); client processes CPU mean {statistics.mean(ccpu):.0f} %",
                flush=True,
            )


def fanout(server: Server, tmp: Path, args: argparse.Namespace) -> list[Figure]:
    import numpy as np

    print(
        f"\n2. fan-out: {args.clients} WebSocket clients ({args.client_procs} processes), {args.rate:,.0f} events/s in requests of "
        f"{args.batch} for {args.seconds:g} s; baseline: 1 client, same rate, {args.baseline_seconds:g} s",
        flush=True,
    )
    if args.deflate:
        print(
            "  clients offer permessage-deflate (as browsers do): the server compresses every frame for every client",
            flush=True,
        )
    base = run_fanout(
        server,
        tmp,
        "1 client",
        1,
        1,
        args.baseline_seconds,
        args.rate,
        args.batch,
        idle_seconds=1.0,
        deflate=args.deflate,
    )
    describe_fanout(base, args.rate)
    profile = args.py_spy / "fanout-server.txt" if args.py_spy else None
    main = run_fanout(
        server,
        tmp,
        f"{args.clients} clients",
        args.clients,
        args.client_procs,
        args.seconds,
        args.rate,
        args.batch,
        idle_seconds=args.idle_seconds,
        profile=profile,
        deflate=args.deflate,
    )
    describe_fanout(main, args.rate)
    if profile and profile.exists():
        print(summarize_profile(profile), flush=True)

    def q(r: dict[str, Any], p: float) -> float:
        la = r.get("lat_answer")
        return float(np.percentile(la, p)) if la is not None and len(la) else float("nan")

    def cpu(r: dict[str, Any], phase: str, column: int, agg: Any = statistics.mean) -> float:
        v = r["sampler"].of(phase, column)
        return agg(v) if v else float("nan")

    n = f"n={len(main.get('lat_answer', [])):,}"
    # The server's memory when the 1-client run ended, before the main run's clients connected.
    before_main = base["sampler"].samples[-1][4] if base["sampler"].samples else float("nan")
    bad = main.get("missing", -1) + main.get("dups", -1)

    def achieved(r: dict[str, Any]) -> float:
        return r["produced"] / r["prod"]["elapsed"] if r["prod"]["elapsed"] else float("nan")

    figs = [
        show(
            Figure(
                f"fan-out ingest achieved, events/s ({main['clients']} clients)",
                achieved(main),
                "",
                f"1 client {achieved(base):,.0f} events/s",
                achieved(main) / achieved(base),
                f">= 0.95 x {args.rate:,.0f} asked",
                achieved(main) >= 0.95 * args.rate,
            )
        ),
        show(
            Figure(
                f"fan-out missing + duplicate deliveries ({main['clients']} x {main['produced']:,})",
                bad,
                "",
                f"1 client: {base.get('missing', -1) + base.get('dups', -1)}",
                None,
                "0",
                bad == 0 and main["connected"] == main["clients"],
            )
        ),
        show(
            Figure(
                f"fan-out latency p50 ({n})",
                q(main, 50),
                "ms",
                f"1 client p50 {q(base, 50):.1f} ms",
                q(main, 50) / q(base, 50) if q(base, 50) > 0 else None,
                "-",
                None,
            )
        ),
        show(
            Figure(
                f"fan-out latency p95 ({n})",
                q(main, 95),
                "ms",
                f"1 client p95 {q(base, 95):.1f} ms",
                q(main, 95) / q(base, 95) if q(base, 95) > 0 else None,
                "<= 150 ms",
                q(main, 95) <= 150,
            )
        ),
        show(
            Figure(
                "fan-out server CPU % mean (load)",
                cpu(main, "load", 1),
                "%",
                f"idle with {main['clients']} clients {cpu(main, 'idle', 1):.0f} %, 1 client at load {cpu(base, 'load', 1):.0f} %",
                None,
                "-",
                None,
            )
        ),
        show(
            Figure(
                "fan-out server CPU % max (load)",
                cpu(main, "load", 1, max),
                "%",
                f"1 client max {cpu(base, 'load', 1, max):.0f} %",
                None,
                "-",
                None,
            )
        ),
        show(
            Figure(
                "fan-out server memory (PSS) MB max (load)",
                cpu(main, "load", 4, max),
                "MB",
                f"idle with {main['clients']} clients {cpu(main, 'idle', 4, max):.0f} MB, 1 client {cpu(base, 'load', 4, max):.0f} MB",
                None,
                "<= 300 MB",
                cpu(main, "load", 4, max) <= 300,
            )
        ),
        show(
            Figure(
                "fan-out memory per connected client (PSS, idle)",
                1024 * (cpu(main, "idle", 4) - before_main) / max(1, main["clients"] - 1),
                "KB",
                f"{main['clients']} idle clients {cpu(main, 'idle', 4):.0f} MB vs {before_main:.0f} MB before they connected",
                None,
                "-",
                None,
            )
        ),
        show(
            Figure(
                "fan-out server sum of RSS MB max (load; shared pages counted per process)",
                cpu(main, "load", 2, max),
                "MB",
                f"idle with {main['clients']} clients {cpu(main, 'idle', 2, max):.0f} MB, 1 client {cpu(base, 'load', 2, max):.0f} MB",
                None,
                "-",
                None,
            )
        ),
    ]
    return figs


def summarize_profile(path: Path, top: int = 15) -> str:
    """The heaviest frames of a py-spy raw (collapsed) profile: inclusive share of the
    repository's own functions, and self share of all leaf functions."""
    total, inclusive, leaf = profile_counts(path)
    if not total:
        return f"  profile {path}: no samples"
    out = [f"  profile {path}: {total:,} samples of the thread holding the GIL", "    repository functions, inclusive:"]
    for f, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        out.append(f"      {100 * n / total:5.1f} %  {f.replace(str(ROOT) + '/', '')}")
    out.append("    leaf functions, self:")
    for f, n in sorted(leaf.items(), key=lambda kv: -kv[1])[:top]:
        out.append(f"      {100 * n / total:5.1f} %  {f.replace(str(ROOT) + '/', '')}")
    return "\n".join(out)


# ---------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> int:
    busy = MachineLoad()
    print(banner("live-push"), flush=True)
    figures: list[Figure] = []
    with workspace(args.keep) as (tmp, stack):
        threads = max(64, args.clients + 60) if args.part in ("all", "fanout") else 64
        server = started(stack, pulseboard(tmp / "live", "--threads", str(threads)))
        print(f"  server (--threads {threads}) ready in {server.wait_ready():.1f} s", flush=True)
        if args.part in ("all", "dom"):
            figures += dom_latency(server, args)
            if args.chart_throttle:
                figures += dom_latency(server, args, throttle_ms=args.chart_throttle)
        if args.part in ("all", "fanout"):
            figures += fanout(server, tmp, args)
        own = sum(os.times()[:4]) + server.cpu_seconds() + sum(BROWSER_CPU)
    print()
    print(table(figures, "Summary (the machine is shared and noisy; each figure beside its same-run baseline)"))
    print(f"  {busy.report(own)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__)
    opt = parser.add_argument
    opt("--quick", action="store_true", help="a short run (fan-out 5 s, baseline 2 s)")
    opt("--part", choices=("all", "dom", "fanout"), default="all")
    opt(
        "--events",
        type=int,
        default=300,
        help="events in the ingest -> DOM test (at least 200; default 300, --quick 200)",
    )
    opt("--warmup", type=int, default=5, help="warm-up events before the ingest -> DOM test (not counted)")
    opt(
        "--gap",
        type=float,
        nargs=2,
        default=(0.05, 0.10),
        metavar=("MIN", "MAX"),
        help="seconds between POST starts (uniform)",
    )
    opt("--clients", type=int, default=200, help="WebSocket clients in the fan-out test")
    opt("--client-procs", type=int, default=2, help="processes the fan-out clients are spread over")
    opt("--seconds", type=float, help="fan-out production time (default 30; --quick 5)")
    opt("--baseline-seconds", type=float, help="1-client baseline production time (default 10; --quick 2)")
    opt("--idle-seconds", type=float, help="idle sampling with all clients connected (default 5; --quick 2)")
    opt("--rate", type=float, default=1000.0, help="events per second in the fan-out test")
    opt("--batch", type=int, default=50, help="events per request in the fan-out test")
    opt(
        "--chart-throttle",
        type=float,
        default=0.0,
        metavar="MS",
        help="also run a what-if of the ingest -> DOM test with the live chart redrawn at most every MS ms (default: off)",
    )
    opt(
        "--deflate",
        action="store_true",
        help="fan-out clients offer permessage-deflate, as browsers do (default: not, like simple_websocket)",
    )
    opt("--keep", action="store_true", help="keep the temp dir (server log, client arrays)")
    opt(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="sample the server with py-spy during the fan-out (DIR/fanout-server.txt)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.events = min(args.events, 200)
    args.seconds = args.seconds or (5.0 if args.quick else 30.0)
    args.baseline_seconds = args.baseline_seconds or (2.0 if args.quick else 10.0)
    args.idle_seconds = args.idle_seconds if args.idle_seconds is not None else (2.0 if args.quick else 5.0)
    return run_main(run, args)


if __name__ == "__main__":
    sys.exit(main())
