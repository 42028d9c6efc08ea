"""Dashboard page-load benchmark: each page's time from navigation start to
"interactive" in Chromium, with 1M events stored, beside the same page on an
empty database, in the same run.

    .venv/bin/python bench/pages.py [--events 1000000] [--db PATH] [--rebuild]
                                    [--repeat 5] [--variants empty,built,now]
                                    [--pages / /explore ...] [--profile DIR | --no-profile]

The dataset is ``bench/_dataset.py``'s (real schema, rollups; built once and
cached, by default in /tmp/pulseboard-bench-1m.db). It ends at 20:00 UTC the
day before it was built, so on a later day every "last hour" / "today" /
"last 6 h" window of the pages is empty. Two 1M variants are therefore served:

* ``built``: a copy of the cached file as built;
* ``now``: a copy with every timestamp (events and rollup minutes) moved
  forward so that the data ends at the current minute, as on a live server.

Servers (``python app.py serve``, one per variant, all started before the
first measurement and idle otherwise) are warmed with plain HTTP GETs of the
Dash index, layout and dependencies (no page callback runs). Then, page by
page, the variants take turns; each gets a fresh browser context (empty HTTP
cache), loads the page once cold and ``--repeat - 1`` times warm (the same
context, the server's result caches as they are).

"Interactive" is the first moment, in ``performance.now()`` of the page
(milliseconds since navigation start), when all of these hold and keep holding
for 100 ms (the settle time is not counted): the page's main callback (the one
writing its main chart or grid) has answered; no ``_dash-update-component``
request is in flight (an init script counts them by wrapping ``fetch``); no
element has ``data-dash-is-loading="true"``; the main chart's ``.main-svg`` (or
the grid's ``.ag-root``) is in the DOM.

Printed per page and variant: cold / median / max; where the time goes
(DOMContentLoaded, route callback answered, main callback sent -> answered,
interactive) and the CPU a load costs the server and the browser (steadier
than wall time on a shared machine); the slowest callbacks as the page saw
them. When a page's median on a 1M variant misses the target, it is loaded
again ``--profile-runs`` times under py-spy (the server's worker; the ``now``
variant when it missed; ``--no-profile`` to skip) and the heaviest repository
functions of the threads running Dash callbacks are printed. Benchmarks
measure; they do not assert.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import _dataset
from common import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Figure,
    MachineLoad,
    Server,
    arg_parser,
    banner,
    dataset_options,
    profile_counts,
    pulseboard,
    py_spy,
    run_main,
    show,
    started,
    table,
    timed,
    workspace,
)

TARGET_MS = 1500.0
SETTLE_MS = 100.0

# path -> (element that must be rendered, the main callback's output)
PAGES: dict[str, tuple[str, str]] = {
    "/": ("#activity-chart .main-svg", "activity-chart.figure"),
    "/explore": ("#ex-chart .main-svg", "ex-chart.figure"),
    "/explore?window=7d&group_by=source&bucket=1h": ("#ex-chart .main-svg", "ex-chart.figure"),
    "/sessions": ("#ss-table .ag-root", "ss-table.rowData"),
    "/executions": ("#xs-trend .main-svg", "xs-trend.figure"),
    "/entities": ("#en-chart .main-svg", "en-chart.figure"),
    "/revenue": ("#rv-chart .main-svg", "rv-chart.figure"),
    "/system": ("#sy-chart .main-svg", "sy-chart.figure"),
}

# Counts Dash's callback requests (fetch) and records each one's output (a MATCH output as the
# concrete id it answers for), start and end.
INIT_SCRIPT = r"""
(() => {
  const st = {inflight: 0, started: 0, done: [], since: null};
  Object.defineProperty(window, "__pbLoad", {value: st});
  const orig = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === "string" ? input : (input && input.url) || "";
    if (!url.includes("_dash-update-component")) return orig.apply(this, arguments);
    let output = "";
    try {
      const body = JSON.parse(init.body);
      output = body.output || "";
      // A pattern-matching (MATCH) output: the component it answers for, e.g. one board panel.
      if (output.includes('"MATCH"') && body.outputs && !Array.isArray(body.outputs))
        output = JSON.stringify(body.outputs.id) + "." + body.outputs.property;
    } catch (e) {}
    st.inflight += 1; st.started += 1;
    const t0 = performance.now();
    let finished = false;
    const finish = (status) => { if (finished) return; finished = true; st.inflight -= 1; st.done.push([output, t0, performance.now(), status]); };
    const p = orig.apply(this, arguments);
    p.then((r) => r.clone().text().then(() => finish(r.status), () => finish(-1)), () => finish(-1));
    return p;
  };
})();
"""

# Polled every animation frame: the time (ms since navigation start) at which the
# page became interactive and stayed so for SETTLE_MS, or false.
INTERACTIVE = r"""([selector, main, settle]) => {
  const st = window.__pbLoad;
  if (!st) return false;
  const now = performance.now();
  const ok = st.inflight === 0
    && st.done.some((d) => d[0].includes(main))
    && document.querySelector(selector) !== null
    && document.querySelectorAll('[data-dash-is-loading="true"]').length === 0;
  if (!ok) { st.since = null; return false; }
  if (st.since === null) st.since = now;
  return now - st.since >= settle ? st.since : false;
}"""


# ---------------------------------------------------------------- data


def shifted_copy(src: Path, dst: Path, data_end: datetime) -> int:
    """Copy ``src`` to ``dst`` and move every timestamp forward so that the data ends
    at the current minute; returns the shift in seconds (a multiple of 60, so that
    rollup minutes stay on minute boundaries)."""
    shutil.copyfile(src, dst)
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    delta = int((now - data_end).total_seconds()) // 60 * 60
    con = sqlite3.connect(dst, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("PRAGMA cache_size=-500000")
        con.execute("PRAGMA temp_store=MEMORY")
        con.execute("BEGIN")
        ts_indexes = [
            sql
            for (sql,) in con.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL AND sql LIKE '%ts%'"
            )
        ]
        for sql in ts_indexes:
            con.execute("DROP INDEX " + sql.split()[3 if sql.split()[1].upper() == "UNIQUE" else 2])
        con.execute("UPDATE events SET ts = ts + ?", (delta * 1_000_000,))
        for sql in ts_indexes:
            con.execute(sql)
        # The rollup keys are UNIQUE (minute, ...): an in-place shift would collide, so
        # the rows go out and back in key order (which is id order, as built).
        for name in ("rollups", "rollup_hist"):
            cols = [r[1] for r in con.execute(f"PRAGMA table_info({name})")]
            moved = ", ".join(f"minute + {delta}" if c == "minute" else f'"{c}"' for c in cols)
            con.execute(f"CREATE TEMP TABLE moved_{name} AS SELECT * FROM {name}")
            con.execute(f"DELETE FROM {name}")
            con.execute(
                f"INSERT INTO {name} ({', '.join(chr(34) + c + chr(34) for c in cols)}) SELECT {moved} FROM moved_{name} ORDER BY id"
            )
            con.execute(f"DROP TABLE moved_{name}")
        con.execute("COMMIT")
        con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()
    return delta


def warm_http(server: Server) -> None:
    """What every page shares, fetched once over plain HTTP (no page callback runs)."""
    for path in ("/", "/_dash-layout", "/_dash-dependencies"):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("GET", path)
        conn.getresponse().read()
        conn.close()


# ---------------------------------------------------------------- measuring


class CpuMeter:
    """CPU-seconds used so far by one server's process tree and by the browser (every
    other descendant of this process): what a load costs, whatever else the machine runs."""

    def __init__(self, servers: list[Server]) -> None:
        import psutil

        self.psutil = psutil
        self.servers = servers
        self._seen: dict[int, Any] = {}

    def _server_pids(self) -> set[int]:
        pids = set()
        for s in self.servers:
            if s.proc is not None:
                pids.add(s.proc.pid)
                pids.update(s.worker_pids())
        return pids

    def browser(self) -> float:
        skip = self._server_pids()
        total = 0.0
        for p in self.psutil.Process(os.getpid()).children(recursive=True):
            if p.pid in skip:
                continue
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except self.psutil.Error:
                pass
        return total


def load_once(
    page: Any,
    url: str,
    selector: str,
    main: str,
    timeout_ms: float,
    server: Server | None = None,
    meter: CpuMeter | None = None,
    *,
    condition: str = INTERACTIVE,
    arg: Any = None,
) -> dict[str, Any]:
    """One load of ``url`` until ``condition`` (polled every frame with ``arg``, by default
    ``[selector, main, SETTLE_MS]``) returns the moment it became interactive."""
    s0 = server.cpu_seconds() if server else 0.0
    b0 = meter.browser() if meter else 0.0
    t0 = time.perf_counter()
    try:
        page.goto(url, wait_until="commit", timeout=timeout_ms)
        handle = page.wait_for_function(
            condition, arg=[selector, main, SETTLE_MS] if arg is None else arg, polling="raf", timeout=timeout_ms
        )
        ms = float(handle.json_value())
        error = ""
    except Exception as exc:
        ms, error = float("nan"), f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    wall = 1000 * (time.perf_counter() - t0)
    server_cpu = 1000 * (server.cpu_seconds() - s0) if server else float("nan")
    browser_cpu = 1000 * (meter.browser() - b0) if meter else float("nan")
    calls: list[Any] = []
    dcl = float("nan")
    try:
        got = page.evaluate("""() => {
            const n = performance.getEntriesByType("navigation")[0];
            return {dcl: n ? n.domContentLoadedEventEnd : null, calls: window.__pbLoad ? window.__pbLoad.done : []};
        }""")
        calls, dcl = got["calls"], float(got["dcl"] or "nan")
    except Exception:
        pass
    route = [c for c in calls if c[0].strip(".").startswith("page.children")]
    mains = [c for c in calls if main in c[0] and (ms != ms or c[2] <= ms + 1)]
    return {
        "ms": ms,
        "wall": wall,
        "error": error,
        "calls": calls,
        "dcl": dcl,
        "server_cpu": server_cpu,
        "browser_cpu": browser_cpu,
        "route_end": route[0][2] if route else float("nan"),
        "main_start": mains[-1][1] if mains else float("nan"),
        "main_end": mains[-1][2] if mains else float("nan"),
    }


def measure(
    browser: Any, server: Server, path: str, repeat: int, timeout_ms: float, meter: CpuMeter | None = None
) -> list[dict[str, Any]]:
    selector, main = PAGES[path]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(INIT_SCRIPT)
    page = context.new_page()
    try:
        return [load_once(page, server.url + path, selector, main, timeout_ms, server, meter) for _ in range(repeat)]
    finally:
        context.close()


def slowest_calls(loads: list[dict[str, Any]], top: int = 3) -> str:
    """Median request -> answer time per callback output over the loads, slowest first."""
    per: dict[str, list[float]] = {}
    for load in loads:
        for output, t0, t1, _status in load["calls"]:
            key = output.strip(".").split("...")[0]
            per.setdefault(key, []).append(t1 - t0)
    ranked = sorted(((statistics.median(v), k, len(v)) for k, v in per.items()), reverse=True)[:top]
    return "; ".join(f"{k} {m:.0f} ms (n={n})" for m, k, n in ranked)


def summarize_profile(path: Path, top: int = 14) -> str:
    """Inclusive share of the repository's own functions in a py-spy raw profile."""
    # Only stacks running a Dash callback: not gunicorn's main thread, nor the live tail.
    total, inclusive, leaf = profile_counts(path, keep=lambda frames: any("(dash/" in f for f in frames))
    if not total:
        return "    (no samples)"
    out = [f"    {total:,} samples of threads running Dash callbacks; repository functions, inclusive:"]
    out += [f"      {100 * n / total:5.1f} %  {f}" for f, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]]
    out.append("    leaf frames, self:")
    out += [f"      {100 * n / total:5.1f} %  {f}" for f, n in sorted(leaf.items(), key=lambda kv: -kv[1])[:8]]
    return "\n".join(out)


def fmt_ms(x: float) -> str:
    return "n/a" if x != x else f"{x:,.0f}"


def run(args: argparse.Namespace) -> int:
    from playwright.sync_api import sync_playwright

    busy = MachineLoad()
    print(banner("page-load"), flush=True)
    print(
        f"  {len(args.pages)} pages x {args.repeat} loads (1 cold + {args.repeat - 1} warm) per variant: {', '.join(args.variants)}; "
        f"interactive = main callback answered, none in flight, nothing loading, chart/grid in the DOM, held {SETTLE_MS:.0f} ms",
        flush=True,
    )
    needs_data = any(v in args.variants for v in ("built", "now"))
    meta: dict[str, Any] = {}
    if needs_data:
        with timed("dataset"):
            meta, built_now = _dataset.ensure(args.db, args.events, rebuild=args.rebuild)
        print(
            f"  dataset {args.db}: {args.events:,} events, data ends {meta['now']} ({'built now' if built_now else 'cached'})",
            flush=True,
        )

    with workspace(args.keep) as (tmp, stack):
        servers: dict[str, Server] = {}
        labels: dict[str, str] = {}
        if "empty" in args.variants:
            servers["empty"] = started(stack, pulseboard(tmp / "empty"))
            labels["empty"] = "empty"
        if "built" in args.variants:
            (tmp / "built").mkdir()
            with timed("copy dataset"):
                shutil.copyfile(args.db, tmp / "built" / "pulseboard.db")
            servers["built"] = started(stack, pulseboard(tmp / "built"))
            labels["built"] = f"1M as built (ends {meta['now'][:16]})"
        if "now" in args.variants:
            (tmp / "now").mkdir()
            with timed("copy dataset, shift it to end now"):
                delta = shifted_copy(args.db, tmp / "now" / "pulseboard.db", datetime.fromisoformat(meta["now"]))
            servers["now"] = started(stack, pulseboard(tmp / "now"))
            labels["now"] = f"1M ending now (+{delta / 3600:.1f} h)"
        for name, server in servers.items():
            print(f"  server {labels[name]}: ready in {server.wait_ready(timeout=180):.1f} s", flush=True)
            warm_http(server)

        results: dict[tuple[str, str], list[dict[str, Any]]] = {}
        order = list(servers)
        meter = CpuMeter(list(servers.values()))
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for i, path in enumerate(args.pages):
                    turn = order[i % len(order) :] + order[: i % len(order)]  # who goes first rotates
                    for name in turn:
                        loads = measure(browser, servers[name], path, args.repeat, args.timeout * 1000, meter)
                        results[(path, name)] = loads
                        times = [x["ms"] for x in loads]
                        errors = [x["error"] for x in loads if x["error"]]
                        print(
                            f"  {path:<46} {labels[name]:<34} "
                            + " ".join(f"{fmt_ms(t):>6}" for t in times)
                            + " ms"
                            + (f"   ! {errors[0]}" if errors else ""),
                            flush=True,
                        )

                figures: list[Figure] = []
                print(
                    "\nPer page: cold (first load), median and max of all loads, in ms; ratio = median / empty median",
                    flush=True,
                )
                head = f"  {'page':<46}" + "".join(f" | {labels[n][:30]:<30}" for n in order)
                print(head)
                missed: list[tuple[str, str]] = []
                for path in args.pages:
                    cells = []
                    empty_med = _median(results.get((path, "empty"), []))
                    for name in order:
                        loads = results[(path, name)]
                        med, mx, cold = _median(loads), _max(loads), loads[0]["ms"]
                        ratio = (
                            f" {med / empty_med:.1f}x"
                            if name != "empty" and empty_med == empty_med and empty_med > 0
                            else ""
                        )
                        cells.append(f"{fmt_ms(cold)} / {fmt_ms(med)} / {fmt_ms(mx)}{ratio}")
                        if name != "empty" and not (med == med and med <= TARGET_MS):
                            missed.append((path, name))
                    print(f"  {path:<46}" + "".join(f" | {c:<30}" for c in cells), flush=True)
                print(
                    "\nWhere the time goes (medians, ms since navigation start): DOMContentLoaded | route callback answered | main "
                    "callback sent -> answered | interactive; CPU-ms per load: server, browser",
                    flush=True,
                )
                for path in args.pages:
                    for name in order:
                        loads = results[(path, name)]
                        md = {
                            k: _med([x[k] for x in loads])
                            for k in ("dcl", "route_end", "main_start", "main_end", "ms", "server_cpu", "browser_cpu")
                        }
                        print(
                            f"  {path:<46} {labels[name]:<34} {fmt_ms(md['dcl']):>6} | {fmt_ms(md['route_end']):>6} | "
                            f"{fmt_ms(md['main_start']):>6} -> {fmt_ms(md['main_end']):>6} | {fmt_ms(md['ms']):>6};  "
                            f"CPU {fmt_ms(md['server_cpu']):>5} + {fmt_ms(md['browser_cpu']):>5}",
                            flush=True,
                        )
                print(
                    "\nSlowest callbacks per page (request -> answer seen by the page, median over the loads):",
                    flush=True,
                )
                for path in args.pages:
                    for name in order:
                        print(f"  {path:<46} {labels[name]:<34} {slowest_calls(results[(path, name)])}", flush=True)

                print()
                for path in args.pages:
                    empty_med = _median(results.get((path, "empty"), []))
                    for name in order:
                        if name == "empty":
                            continue
                        loads = results[(path, name)]
                        med, mx = _median(loads), _max(loads)
                        figures.append(
                            show(
                                Figure(
                                    f"{path} [{name}] median (max {fmt_ms(mx)}, n={len(loads)})",
                                    med,
                                    "ms",
                                    f"empty median {fmt_ms(empty_med)} ms",
                                    med / empty_med if empty_med == empty_med and empty_med > 0 else None,
                                    f"<= {TARGET_MS:,.0f} ms",
                                    med == med and med <= TARGET_MS,
                                )
                            )
                        )

                # One profile per page: the variant with live data when it missed, else the other.
                missed = [(p, n) for p, n in missed if n == "now" or (p, "now") not in missed]
                if missed and args.profile_runs:
                    print(
                        f"\nProfiles of the pages whose median missed {TARGET_MS:,.0f} ms on a 1M variant "
                        f"({args.profile_runs} loads each under py-spy, which slows the server a little):",
                        flush=True,
                    )
                    prof_dir = args.profile or tmp / "profiles"
                    prof_dir.mkdir(parents=True, exist_ok=True)
                    for path, name in missed:
                        out = (
                            prof_dir
                            / f"{name}-{path.strip('/').replace('/', '_').replace('?', '_').replace('&', '_') or 'overview'}.txt"
                        )
                        print(f"  {path} [{labels[name]}]", flush=True)
                        with py_spy(servers[name], out):
                            loads = measure(browser, servers[name], path, args.profile_runs, args.timeout * 1000, meter)
                        print(
                            f"    loads under py-spy: {', '.join(fmt_ms(x['ms']) for x in loads)} ms; slowest callbacks: "
                            f"{slowest_calls(loads)}",
                            flush=True,
                        )
                        if out.exists():
                            print(summarize_profile(out), flush=True)
            finally:
                browser_cpu = meter.browser()  # Chromium's processes, before they go
                browser.close()
        own = sum(os.times()[:4]) + sum(s.cpu_seconds() for s in servers.values()) + browser_cpu

    print()
    print(
        table(
            figures,
            f"Summary: page load to interactive, median of {args.repeat} (1 cold + {args.repeat - 1} warm), vs the empty database",
        )
    )
    print(f"  {busy.report(own)}")
    return 0


def _med(values: list[float]) -> float:
    v = [x for x in values if x == x]
    return statistics.median(v) if v else float("nan")


def _median(loads: list[dict[str, Any]]) -> float:
    v = [x["ms"] for x in loads if x["ms"] == x["ms"]]
    return statistics.median(v) if v and len(v) == len(loads) else float("nan")


def _max(loads: list[dict[str, Any]]) -> float:
    v = [x["ms"] for x in loads]
    return float("nan") if not v or any(x != x for x in v) else max(v)


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__)
    opt = parser.add_argument
    dataset_options(parser, 1_000_000)
    opt("--repeat", type=int, default=5, help="loads per page and variant (the first is cold)")
    opt(
        "--variants",
        default="empty,built,now",
        help="comma-separated: empty, built (1M as built), now (1M shifted to end now)",
    )
    opt("--pages", nargs="+", default=list(PAGES), help="pages to load (paths of PAGES)")
    opt("--timeout", type=float, default=60.0, help="seconds before a load counts as failed")
    opt("--profile", type=Path, metavar="DIR", help="keep the py-spy profiles of the pages that miss the target in DIR")
    opt(
        "--profile-runs",
        type=int,
        default=3,
        help="loads under py-spy per page that misses the target (0: no profiling)",
    )
    opt(
        "--no-profile",
        dest="profile_runs",
        action="store_const",
        const=0,
        help="do not profile pages that miss the target",
    )
    opt("--keep", action="store_true", help="keep the temp dir (database copies, server logs)")
    args = parser.parse_args(argv)
    args.db = args.db or _dataset.default_path(args.events)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(args.variants) - {"empty", "built", "now"} or {p for p in args.pages if p not in PAGES}
    if unknown:
        parser.error(f"unknown variant or page: {', '.join(sorted(unknown))}")
    return run_main(run, args)


if __name__ == "__main__":
    sys.exit(main())
