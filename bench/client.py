"""Client benchmark: how long ``Monitor.log_event`` holds the calling thread.

Per call, p50 / p99 / max over N calls (default 100,000), in three settings,
each printed beside a baseline measured the same way in the same run
(building the same dict and appending it to a list):

1. server up (``python app.py serve`` in a subprocess), a burst: the host
   logs as fast as it can, far faster than any server takes events, so the
   bounded queue fills and the host spills to the spool now and then;
2. server up, paced (``--rate`` events/s, below what the server takes): the
   steady state, where the queue never fills;
3. server down (nothing listens): the sender spools to SQLite and backs off;
4. server down with a small in-memory queue: the host itself spills to the
   spool whenever the queue is full (the worst case of the bounded queue).

Then the time until everything logged in (1) is stored. Measures only;
asserts nothing.

    .venv/bin/python bench/client.py [--events 100000] [--rate 2000 --paced-seconds 5]
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from typing import Any

from common import arg_parser, free_port, machine, percentile, pulseboard, started, workspace

from client import Monitor


def per_call_ns(n: int, call: Callable[[int], Any], rate: float | None = None) -> list[float]:
    """Nanoseconds each of ``n`` calls took (timer overhead included, as in the baseline);
    with ``rate``, calls start on a fixed schedule (the wait is not timed)."""
    clock = time.perf_counter_ns
    out = [0.0] * n
    step = int(1e9 / rate) if rate else 0
    start = clock()
    gc.disable()  # collections would land on random calls of both sides alike; keep them out of both
    try:
        for i in range(n):
            if step:
                due = start + i * step
                while clock() < due:
                    pass
            t0 = clock()
            call(i)
            out[i] = clock() - t0
    finally:
        gc.enable()
    return out


def baseline(n: int, rate: float | None = None) -> list[float]:
    sink: list[dict[str, Any]] = []

    def call(i: int) -> None:
        sink.append({"ts": time.time(), "source": "bench", "type": "tick", "message": "event", "attrs": {"i": i}})

    return per_call_ns(n, call, rate)


def logging_into(monitor: Monitor, n: int, rate: float | None = None) -> list[float]:
    context = {"i": 0}
    return per_call_ns(n, lambda i: monitor.log_event("tick", "event", context), rate)


def line(label: str, ns: list[float], base: list[float]) -> str:
    def fmt(x: float) -> str:
        return f"{x / 1000:8.2f} us"

    p50, p99, top = percentile(ns, 50), percentile(ns, 99), max(ns)
    b50, b99, btop = percentile(base, 50), percentile(base, 99), max(base)
    return (
        f"  {label:<34} p50 {fmt(p50)}  p99 {fmt(p99)}  max {fmt(top)}   | baseline p50 {fmt(b50)}  p99 {fmt(b99)}"
        f"  max {fmt(btop)}   | ratio p50 {p50 / b50:.1f}x  p99 {p99 / b99:.1f}x"
    )


def main(argv: list[str] | None = None) -> int:
    parser = arg_parser(__doc__)
    parser.add_argument("--events", type=int, default=100_000, help="calls per setting (paced: rate x seconds)")
    parser.add_argument("--rate", type=float, default=2000, help="events/s of the paced setting")
    parser.add_argument("--paced-seconds", type=float, default=5)
    args = parser.parse_args(argv)
    n = args.events
    m = machine()
    print(f"client log_event blocking time, {n:,} calls per setting; {m['cores']} cores, Python {m['python']}")
    with workspace() as (tmp, stack):
        server = started(stack, pulseboard(tmp / "data", "--log-level", "WARNING"))
        server.wait_ready()

        monitor = Monitor(server.url, source="bench-up", spool_dir=tmp / "spool")
        base = baseline(n)
        t0 = time.perf_counter()
        up = logging_into(monitor, n)
        flushed = monitor.flush(timeout=300)
        delivered_s = time.perf_counter() - t0
        stats = monitor.stats()
        monitor.close()
        print(line("server up, burst", up, base))

        paced_n = int(args.rate * args.paced_seconds)
        monitor = Monitor(server.url, source="bench-paced", spool_dir=tmp / "spool")
        base = baseline(paced_n, args.rate)
        paced = logging_into(monitor, paced_n, args.rate)
        monitor.flush(timeout=300)
        paced_stats = monitor.stats()
        monitor.close()
        print(
            line(f"server up, paced {args.rate:,.0f}/s", paced, base) + f"  [{paced_stats['events_spooled']:,} spooled]"
        )

        down_url = f"http://127.0.0.1:{free_port()}"
        monitor = Monitor(down_url, source="bench-down", spool_dir=tmp / "spool")
        base = baseline(n)
        down = logging_into(monitor, n)
        monitor.close()
        print(line("server down (spooling)", down, base))

        monitor = Monitor(down_url, source="bench-spill", spool_dir=tmp / "spool", max_queue=1000)
        base = baseline(n)
        spill = logging_into(monitor, n)
        monitor.close()
        print(line("server down, queue of 1,000 (spill)", spill, base))

        print(
            f"  server up: all {n:,} events {'stored' if flushed else 'NOT all stored'} {delivered_s:.2f} s after the "
            f"first call ({n / delivered_s:,.0f} events/s end to end; {stats['requests_sent']} requests, "
            f"{stats['events_stored']:,} stored, {stats['events_spooled']:,} went through the spool)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
