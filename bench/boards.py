"""Board benchmark: a user-built board of 12 panels over 10M events, from
navigation to every panel drawn in Chromium, beside the Overview page loaded
the same way on the same server in the same run; then a change of the board's
variable until every panel has drawn again.

    .venv/bin/python bench/boards.py [--quick] [--events 10000000] [--db PATH] [--rebuild]
                                     [--repeat 5] [--rounds 2] [--changes 6] [--linked]
                                     [--profile DIR | --no-profile]

Data: ``bench/_dataset.py``'s dataset (real schema, per-minute and hourly
rollups; built once and cached, 10M events by default, 1M with ``--quick``),
copied and shifted so that it ends at the current minute (``pages.shifted_copy``),
served by ``python app.py serve``. The board is created through
``POST /api/boards``: a query variable ``$source`` (default ``payments``) in the
filters of the panels that take one, the board's range 24 h, and one panel of
every kind: time series (count by status, stacked; p95 duration with its
baseline band), stat with sparkline, gauge, breakdown (bars, pie), heatmap,
table, event feed, component health, open alerts, executions.

"Interactive" (the board): the first moment, in ``performance.now()`` of the
page, when all of these hold and keep holding for 100 ms (the settle time is
not counted): the 12 panels are on the page; every panel's body has what its
callback drew; every Plotly graph in a panel has drawn (``.main-svg``) with at
least one trace of data; every table has its rows; no ``_dash-update-component``
request is in flight (``pages.INIT_SCRIPT`` counts them); nothing has
``data-dash-is-loading="true"``. A panel showing "no data" counts as drawn,
and is named in the output. Printed too: the moment every panel had first
drawn (the same per-panel checks, requests in flight or not), earlier than
"interactive" when panels are asked again while the page loads. The Overview: ``pages.py``'s condition (its main
chart's callback answered and drawn, nothing in flight or loading).

A variable change: with the board drawn, the variable's dropdown is opened and
another source is clicked; the time runs from the press on it (the
``pointerdown`` event's ``timeStamp``) until: every panel's callback has answered a request sent after
the click, every graph of a panel whose query names ``$source`` holds new data
(its trace array is not the one drawn before the click), and the board is
interactive as above. The values cycle through the five sources.

With ``--linked``, the board is also loaded at the address the page writes for
itself (``?var-source=payments&refresh=off``): opened without it, the page
starts with the time bar's default refresh (5 s) and writes the board's own
(``off``) into the address, which changes the time bar's store, so every panel
is asked again (and the 5-second tick may come first); the count of panel
callbacks per load shows it.

Each load gets a fresh browser context (empty HTTP cache): ``--repeat`` loads
per page, the first cold; board and Overview take turns. Printed: every load;
cold / median / max; the request -> answer time of each panel's callback as
the page saw it, and how many were answered per load (a panel drawn twice
counts twice); per panel, whether its query reads the rollups (or what else it
reads) and the CPU drawing it costs in-process (the same
``callbacks.board_panels.render`` on the same file, without HTTP or the
browser); the verdicts. When a median misses
its target, the loads are repeated under py-spy and the heaviest repository
functions of the server's callback threads are printed. Benchmarks measure;
they do not assert.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import _dataset
import pages
from common import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Figure,
    MachineLoad,
    Server,
    arg_parser,
    banner,
    dataset_options,
    pulseboard,
    py_spy,
    run_main,
    show,
    started,
    table,
    timed,
    workspace,
)
from pages import CpuMeter, _max, _median, fmt_ms, load_once, shifted_copy, slowest_calls, summarize_profile, warm_http

LOAD_TARGET_MS = 1500.0
CHANGE_TARGET_MS = 500.0
FULL_EVENTS = 10_000_000
QUICK_EVENTS = 1_000_000
UID = "bench-ops"
VALUES = ("device-monitor", "macro", "tools", "scripts", "payments")  # the dataset's sources; the default last
OVERVIEW = "/"
LINKED = "?var-source=payments&refresh=off"  # the address the board page writes for itself
# What the panels that draw no Explore query read.
READS = {
    "feed": "events (newest 20)",
    "health": "live state",
    "alerts": "alert tables",
    "executions": "one script's runs",
}


def _panel(pid: str, title: str, kind: str, query: dict[str, str], grid: tuple[int, int, int, int], **extra: Any):
    x, y, w, h = grid
    return {"id": pid, "title": title, "kind": kind, "query": query, "grid": {"x": x, "y": y, "w": w, "h": h}, **extra}


def board_document() -> dict[str, Any]:
    """A 12-panel board with every kind of panel, ``$source`` in the filters of those that take one."""
    src = {"source": "$source"}
    ok = [{"value": 0, "color": "#e5534b"}, {"value": 90, "color": "#c69026"}, {"value": 98, "color": "#57ab5a"}]
    return {
        "uid": UID,
        "title": "Operations",
        "description": "Activity, latency and errors of one source",
        "tags": ["bench"],
        "time": {"range": "24h"},
        "variables": [
            {"name": "source", "label": "Source", "kind": "query", "dimension": "source", "default": "payments"}
        ],
        "panels": [
            _panel("events", "Events", "stat", {"metric": "count", **src}, (0, 0, 3, 4)),
            _panel("success", "Success rate", "gauge", {"metric": "success_rate", **src}, (3, 0, 3, 4), thresholds=ok),
            _panel(
                "by-status",
                "Events by status",
                "timeseries",
                {"metric": "count", "group_by": "status", **src},
                (6, 0, 6, 8),
                chart="area",
                stacked=True,
            ),
            _panel(
                "latency",
                "Duration p95",
                "timeseries",
                {"metric": "p95", "field": "duration_ms", **src},
                (0, 4, 6, 8),
                baseline=True,
            ),
            _panel(
                "by-entity",
                "Top entities",
                "breakdown",
                {"metric": "count", "group_by": "entity", "top": "10", **src},
                (6, 8, 3, 8),
                chart="bar",
            ),
            _panel(
                "statuses",
                "Status mix",
                "breakdown",
                {"metric": "count", "group_by": "status", **src},
                (9, 8, 3, 8),
                chart="pie",
            ),
            _panel(
                "heat",
                "Entities per hour",
                "heatmap",
                {"metric": "count", "group_by": "entity", "bucket": "1h", **src},
                (0, 12, 6, 8),
            ),
            _panel(
                "durations",
                "Average duration per entity",
                "table",
                {"metric": "avg", "field": "duration_ms", "group_by": "entity", **src},
                (6, 16, 6, 8),
            ),
            _panel("failures", "Latest failures", "feed", {"status": "failed,error,timeout", **src}, (0, 20, 6, 8)),
            _panel("health", "Components", "health", {}, (6, 24, 3, 6)),
            _panel("alerts", "Open alerts", "alerts", {}, (9, 24, 3, 6)),
            _panel("runs", "Script runs", "executions", {"entity": "script-00"}, (0, 28, 12, 8)),
        ],
    }


# Every panel drawn (see the module's docstring); shared by the load and the change conditions.
_DRAWN = r"""
  const drawn = (p) => {
    const body = p.querySelector('.pb-bd-panel-body');
    if (!body || body.childElementCount === 0) return false;
    if (body.querySelector('.pb-bd-nodata')) return true;
    for (const g of body.querySelectorAll('.dash-graph')) {
      const plot = g.querySelector('.js-plotly-plot');
      if (!plot || !plot.querySelector('.main-svg') || !plot.data || plot.data.length === 0) return false;
    }
    if (p.dataset.kind === 'table' && !body.querySelector('.ag-row')) return false;
    return true;
  };
  const panels = document.querySelectorAll('.pb-bd-panel[data-panel]');
  const board = st.inflight === 0 && panels.length === n
    && document.querySelectorAll('[data-dash-is-loading="true"]').length === 0
    && Array.from(panels).every(drawn);
"""
BOARD_READY = (
    "([n, settle]) => {\n  const st = window.__pbLoad;\n  if (!st) return false;\n  const now = performance.now();"
    + _DRAWN
    + """  if (panels.length === n && st.firstDrawn === undefined && Array.from(panels).every(drawn)) st.firstDrawn = now;
  if (!board) { st.since = null; return false; }
  if (st.since === null) st.since = now;
  return now - st.since >= settle ? st.since : false;
}"""
)
# After a click on a variable's value (window.__pbClickAt): every panel asked again and answered,
# the graphs of the panels using the variable hold new traces, and the board is drawn.
CHANGE_READY = (
    "([n, settle, changing]) => {\n  const st = window.__pbLoad, t0 = window.__pbClickAt;\n"
    "  if (!st || t0 === null || t0 === undefined) return false;\n  const now = performance.now();"
    + _DRAWN
    + """  const answered = (id) => st.done.some((d) => d[1] >= t0 && d[0].includes('"panel":"' + id + '"'));
  const fresh = (id) => Array.from(document.querySelectorAll(`[data-panel="${id}"] .js-plotly-plot`))
    .every((plot) => plot.data && !plot.data.__pbOld);
  const ok = board && Array.from(panels).every((p) => answered(p.dataset.panel)) && changing.every(fresh);
  if (!ok) { st.since = null; return false; }
  if (st.since === null) st.since = now;
  return now - st.since >= settle ? st.since - t0 : false;
}"""
)
# The moment of the last press (pointerdown: a dropdown's option is gone before its click), in performance.now() time; and the traces drawn so far marked as old.
CLICKS = "(() => { window.__pbClickAt = null; document.addEventListener('pointerdown', (e) => { window.__pbClickAt = e.timeStamp; }, true); })();"
MARK_OLD = "() => { for (const p of document.querySelectorAll('.js-plotly-plot')) if (p.data) p.data.__pbOld = true; window.__pbClickAt = null; }"


def api(server: Server, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, data, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def panel_summary(page: Any) -> dict[str, str]:
    """Each panel's state as drawn: ``data``, ``no data`` or the error it shows."""
    got: dict[str, str] = page.evaluate("""() => Object.fromEntries(Array.from(
        document.querySelectorAll('.pb-bd-panel[data-panel]')).map((p) => {
          const err = p.querySelector('.pb-bd-error');
          return [p.dataset.panel, err ? 'error: ' + err.textContent.slice(0, 120)
                                       : p.querySelector('.pb-bd-nodata') ? 'no data' : 'data'];
        }))""")
    return got


def measure_board(
    browser: Any, server: Server, n_panels: int, repeat: int, timeout_ms: float, meter: CpuMeter, search: str = ""
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(pages.INIT_SCRIPT)
    page = context.new_page()
    try:
        loads = []
        for _ in range(repeat):
            load = load_once(
                page,
                f"{server.url}/boards/{UID}{search}",
                "",
                '"type":"bd-panel"',
                timeout_ms,
                server,
                meter,
                condition=BOARD_READY,
                arg=[n_panels, pages.SETTLE_MS],
            )
            load["first_drawn"] = float(page.evaluate("() => window.__pbLoad.firstDrawn ?? NaN") or "nan")
            loads.append(load)
        return loads, panel_summary(page)
    finally:
        context.close()


def measure_changes(
    browser: Any, server: Server, doc: dict[str, Any], changes: int, timeout_ms: float, meter: CpuMeter
) -> list[dict[str, Any]]:
    """The board loaded once, then ``changes`` choices of another source, each timed from its click."""
    n = len(doc["panels"])
    changing = [p["id"] for p in doc["panels"] if "$source" in json.dumps(p["query"])]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(pages.INIT_SCRIPT)
    context.add_init_script(CLICKS)
    page = context.new_page()
    out: list[dict[str, Any]] = []
    try:
        first = load_once(
            page, f"{server.url}/boards/{UID}", "", "", timeout_ms, condition=BOARD_READY, arg=[n, pages.SETTLE_MS]
        )
        if first["error"]:
            return [{"ms": float("nan"), "value": "", "error": "board did not load: " + first["error"], "calls": []}]
        for i in range(changes):
            value = VALUES[i % len(VALUES)]
            s0, b0 = server.cpu_seconds(), meter.browser()
            try:
                page.locator("button.pb-bd-var").click(timeout=timeout_ms)
                option = page.get_by_role("option", name=value, exact=True)
                option.wait_for(timeout=timeout_ms)
                page.evaluate(MARK_OLD)
                option.click(timeout=timeout_ms)
                handle = page.wait_for_function(
                    CHANGE_READY, arg=[n, pages.SETTLE_MS, changing], polling="raf", timeout=timeout_ms
                )
                ms, error = float(handle.json_value()), ""
            except Exception as exc:
                ms, error = float("nan"), f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            calls = page.evaluate(
                "() => { const t0 = window.__pbClickAt; return (window.__pbLoad ? window.__pbLoad.done : [])"
                ".filter((d) => t0 !== null && d[1] >= t0).map((d) => [d[0], d[1] - t0, d[2] - t0, d[3]]); }"
            )
            out.append(
                {
                    "ms": ms,
                    "value": value,
                    "error": error,
                    "calls": calls,
                    "server_cpu": 1000 * (server.cpu_seconds() - s0),
                    "browser_cpu": 1000 * (meter.browser() - b0),
                }
            )
        return out
    finally:
        context.close()


def panel_calls(loads: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Request -> answer time (ms) of each panel's callback over the loads."""
    per: dict[str, list[float]] = {}
    for load in loads:
        for output, t0, t1, _status in load["calls"]:
            if '"type":"bd-panel"' in output:
                pid = json.loads(output.rsplit(".", 1)[0])["panel"]
                per.setdefault(pid, []).append(t1 - t0)
    return per


def in_process(db_path: Path, data_dir: Path, doc: dict[str, Any], value: str, repeat: int = 3) -> list[dict[str, Any]]:
    """Each panel drawn by ``callbacks.board_panels.render`` in this process on the same file: what
    it reads (the rollups or raw events, for a query), and the CPU milliseconds of the first draw and the
    median of ``repeat`` more, the result cache emptied before each."""
    from callbacks import board_panels
    from core.boards import parse_board
    from data.db import Database
    from reports.cache import ResultCache
    from services import Services
    from settings import Settings

    board = parse_board(doc)
    services = Services(settings=Settings(data_dir=str(data_dir)), db=Database(f"sqlite:///{db_path}"))
    rows = []
    try:
        for panel in board.panels:
            _params, q = board_panels.panel_query(services, board, panel, {"source": value}, None)
            times = []
            for _ in range(repeat + 1):
                services.cache = ResultCache()
                t0 = time.process_time()  # CPU: steadier than wall time on a shared machine
                board_panels.render(services, board, panel, {"source": value}, None)
                times.append(1000 * (time.process_time() - t0))
            rows.append(
                {
                    "panel": panel.id,
                    "kind": panel.kind,
                    "reads": READS.get(panel.kind) or ("rollups" if q.uses_rollups() else "raw events"),
                    "first": times[0],
                    "median": statistics.median(times[1:]),
                }
            )
    finally:
        services.db.dispose()
    return rows


def _times(loads: list[dict[str, Any]]) -> str:
    errors = [x["error"] for x in loads if x["error"]]
    return " ".join(f"{fmt_ms(x['ms']):>6}" for x in loads) + " ms" + (f"   ! {errors[0]}" if errors else "")


def run(args: argparse.Namespace) -> int:
    from playwright.sync_api import sync_playwright

    busy = MachineLoad()
    print(banner("board", " (a shared machine: wall times include waiting for a core)"), flush=True)
    size = f"{args.events:,} events" + (" (--quick)" if args.quick else "")
    note = "" if args.events == FULL_EVENTS else f" (the target is stated for {FULL_EVENTS:,})"
    print(f"  dataset size: {size}{note}", flush=True)
    with timed("dataset"):
        meta, built_now = _dataset.ensure(args.db, args.events, rebuild=args.rebuild)
    print(f"  dataset {args.db}: data ends {meta['now']} ({'built now' if built_now else 'cached'})", flush=True)
    doc = board_document()
    n = len(doc["panels"])

    with workspace(args.keep) as (tmp, stack):
        (tmp / "data").mkdir()
        db_copy = tmp / "data" / "pulseboard.db"
        with timed("copy dataset, shift it to end now"):
            delta = shifted_copy(args.db, db_copy, datetime.fromisoformat(meta["now"]))
        server = started(stack, pulseboard(tmp / "data"))
        print(
            f"  server: ready in {server.wait_ready(timeout=300):.1f} s (data shifted +{delta / 3600:.1f} h)",
            flush=True,
        )
        warm_http(server)
        status, made = api(server, "POST", "/api/boards", doc)
        if status != 201:
            print(f"  POST /api/boards answered {status}: {made}", flush=True)
            return 1
        print(
            f"  board /boards/{UID}: {n} panels ({', '.join(sorted({p['kind'] for p in doc['panels']}))}), "
            f"variable $source, range 24 h",
            flush=True,
        )
        print(
            f"  {args.repeat} loads per page (1 cold + {args.repeat - 1} warm), fresh browser context per page and round; "
            f"{args.changes} variable changes",
            flush=True,
        )

        meter = CpuMeter([server])
        board_loads: list[dict[str, Any]] = []
        linked_loads: list[dict[str, Any]] = []
        overview_loads: list[dict[str, Any]] = []
        states: dict[str, str] = {}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                order = ["board", "overview", *(["linked"] if args.linked else [])]
                for turn in range(args.rounds):
                    for what in order[turn % len(order) :] + order[: turn % len(order)]:  # who goes first rotates
                        if what == "board":
                            loads, states = measure_board(browser, server, n, args.repeat, args.timeout * 1000, meter)
                            board_loads += loads
                            print(f"  /boards/{UID:<20} {_times(loads)}", flush=True)
                        elif what == "linked":
                            loads, _ = measure_board(
                                browser, server, n, args.repeat, args.timeout * 1000, meter, LINKED
                            )
                            linked_loads += loads
                            print(f"  /boards/{UID}{LINKED} {_times(loads)}", flush=True)
                        else:
                            loads = pages.measure(browser, server, OVERVIEW, args.repeat, args.timeout * 1000, meter)
                            overview_loads += loads
                            print(f"  {'/ (Overview)':<28} {_times(loads)}", flush=True)
                print(
                    "  panels as drawn: "
                    + ", ".join(f"{k} {v}" for k, v in states.items() if v != "data")
                    + ("" if any(v != "data" for v in states.values()) else "every panel has data"),
                    flush=True,
                )
                changes = measure_changes(browser, server, doc, args.changes, args.timeout * 1000, meter)
                for c in changes:
                    print(
                        f"  $source -> {c['value']:<16} {fmt_ms(c['ms']):>6} ms"
                        + (f"   ! {c['error']}" if c["error"] else ""),
                        flush=True,
                    )

                board_med, overview_med, change_med = _median(board_loads), _median(overview_loads), _median(changes)
                print("\nWhere the time goes (medians; ms since navigation start, CPU-ms per load: server + browser)")
                rows = [(f"/boards/{UID}", board_loads), ("/ (Overview)", overview_loads)]
                for label, loads in rows + ([("  as linked", linked_loads)] if linked_loads else []):
                    md = {
                        k: pages._med([x[k] for x in loads])
                        for k in ("dcl", "route_end", "first_drawn", "ms", "server_cpu", "browser_cpu")
                        if k in loads[0]
                    }
                    first = f"every panel first drawn {fmt_ms(md['first_drawn'])} | " if "first_drawn" in md else ""
                    print(
                        f"  {label:<22} DOMContentLoaded {fmt_ms(md['dcl'])} | route answered {fmt_ms(md['route_end'])} | "
                        f"{first}interactive {fmt_ms(md['ms'])};  CPU {fmt_ms(md['server_cpu'])} + {fmt_ms(md['browser_cpu'])}",
                        flush=True,
                    )
                for label, loads in (("board", board_loads), ("board as linked", linked_loads)):
                    if not loads:
                        continue
                    asked = pages._med([sum('"type":"bd-panel"' in c[0] for c in x["calls"]) for x in loads])
                    print(
                        f"  panel callbacks answered per load of the {label}: {asked:.0f} for {n} panels"
                        + (" (some panels drawn more than once)" if asked > n else ""),
                        flush=True,
                    )
                ch_cpu = [pages._med([c.get(k, float("nan")) for c in changes]) for k in ("server_cpu", "browser_cpu")]
                print(f"  variable change        CPU {fmt_ms(ch_cpu[0])} + {fmt_ms(ch_cpu[1])} per change", flush=True)

                per_load, per_change = panel_calls(board_loads), panel_calls(changes)
                print("\nPer panel (server answer seen by the page, median ms; in-process render of the same panel):")
                with timed("in-process panel renders"):
                    local = in_process(db_copy, tmp / "data", doc, "payments")
                print(
                    f"  {'panel':<11} {'kind':<11} {'reads':<19} {'on load':>8} {'on change':>10} {'in-process CPU first / median':>31}"
                )
                for row in local:
                    pid = row["panel"]
                    print(
                        f"  {pid:<11} {row['kind']:<11} {row['reads']:<19} {fmt_ms(pages._med(per_load.get(pid, []))):>8} "
                        f"{fmt_ms(pages._med(per_change.get(pid, []))):>10} {fmt_ms(row['first']):>17} / {fmt_ms(row['median']):>6}",
                        flush=True,
                    )
                print(f"  slowest callbacks of the Overview: {slowest_calls(overview_loads)}", flush=True)

                print()
                figures = [
                    show(
                        Figure(
                            f"board of {n} panels, {args.events / 1e6:g}M events: load to interactive, median (max {fmt_ms(_max(board_loads))}, n={len(board_loads)})",
                            board_med,
                            "ms",
                            f"Overview median {fmt_ms(overview_med)} ms (max {fmt_ms(_max(overview_loads))})",
                            board_med / overview_med if overview_med == overview_med and overview_med > 0 else None,
                            f"<= {LOAD_TARGET_MS:,.0f} ms",
                            board_med == board_med and board_med <= LOAD_TARGET_MS,
                        )
                    ),
                    show(
                        Figure(
                            f"variable change to every panel redrawn, median (max {fmt_ms(_max(changes))}, n={len(changes)})",
                            change_med,
                            "ms",
                            f"board load median {fmt_ms(board_med)} ms",
                            change_med / board_med if board_med == board_med and board_med > 0 else None,
                            f"<= {CHANGE_TARGET_MS:,.0f} ms",
                            change_med == change_med and change_med <= CHANGE_TARGET_MS,
                        )
                    ),
                ]
                if linked_loads:
                    linked_med = _median(linked_loads)
                    figures.append(
                        show(
                            Figure(
                                f"the same board opened at {LINKED}, median (max {fmt_ms(_max(linked_loads))}, n={len(linked_loads)})",
                                linked_med,
                                "ms",
                                f"Overview median {fmt_ms(overview_med)} ms",
                                linked_med / overview_med
                                if overview_med == overview_med and overview_med > 0
                                else None,
                                f"<= {LOAD_TARGET_MS:,.0f} ms",
                                linked_med == linked_med and linked_med <= LOAD_TARGET_MS,
                            )
                        )
                    )
                missed = [f for f in figures if not f.ok]
                if missed and args.profile_runs:
                    out = (args.profile or tmp) / "board.txt"
                    out.parent.mkdir(parents=True, exist_ok=True)
                    print(
                        f"\nProfile: {args.profile_runs} board loads and changes under py-spy (slows the server a little)",
                        flush=True,
                    )
                    with py_spy(server, out):
                        loads, _ = measure_board(browser, server, n, args.profile_runs, args.timeout * 1000, meter)
                        more = measure_changes(browser, server, doc, args.profile_runs, args.timeout * 1000, meter)
                    print(f"    loads {_times(loads)}; changes {_times(more)}", flush=True)
                    if out.exists():
                        print(summarize_profile(out), flush=True)
            finally:
                browser_cpu = meter.browser()
                browser.close()
        own = sum(os.times()[:4]) + server.cpu_seconds() + browser_cpu

    print()
    print(table(figures, f"Summary: a {n}-panel board over {size}, vs the Overview in the same run"))
    print(f"  {busy.report(own)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__)
    opt = parser.add_argument
    dataset_options(parser, FULL_EVENTS)
    opt("--quick", action="store_true", help=f"{QUICK_EVENTS:,} events (unless --events says otherwise), 3 loads")
    opt("--repeat", type=int, help="loads per page and round, the first cold (default 5, 3 with --quick)")
    opt("--rounds", type=int, default=2, help="rounds of board and Overview loads, taking turns (default 2)")
    opt("--changes", type=int, default=6, help="variable changes (default 6)")
    opt(
        "--linked",
        action="store_true",
        help=f"also load the board at the address it writes for itself ({LINKED}): no redraw when it is written",
    )
    opt("--timeout", type=float, default=90.0, help="seconds before a load or a change counts as failed")
    opt("--profile", type=Path, metavar="DIR", help="keep the py-spy profile in DIR")
    opt("--profile-runs", type=int, default=3, help="loads and changes under py-spy when a target is missed")
    opt("--no-profile", dest="profile_runs", action="store_const", const=0, help="do not profile")
    opt("--keep", action="store_true", help="keep the temp dir (database copy, server log)")
    args = parser.parse_args(argv)
    if args.quick and args.events == FULL_EVENTS:
        args.events = QUICK_EVENTS
    args.repeat = args.repeat or (3 if args.quick else 5)
    args.db = args.db or _dataset.default_path(args.events)
    return run_main(run, args)


if __name__ == "__main__":
    sys.exit(main())
