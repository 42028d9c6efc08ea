"""Rate-limit checks per second: in the process beside a shared PostgreSQL store.

    .venv/bin/python bench/rate_limits.py [--seconds 2] [--threads 1,4]

Measured, each for ``--seconds`` on this machine:

* in-process baselines: the token bucket of ``--rate-limit-storage memory``
  (``core.limits.TokenBucket.take``) and the ``limits`` library's fixed
  window in its memory storage;
* the shared store: the same fixed window in ``data.rate_limits.DatabaseStorage``
  on a throw-away PostgreSQL server (``initdb`` on a temp dir, as the tests
  start it), from 1 and from 4 threads (each thread is a node's request
  thread: one ``INSERT … ON CONFLICT … RETURNING`` per check), over 50 keys.

The figure to compare with is Pulseboard's own request rate: a single-event
POST costs ~2,300 µs of CPU (DESIGN.md), so ~430 requests a second per core.
Benchmarks measure; they do not assert.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable

import common  # noqa: F401 - puts the repository first on sys.path

from core.limits import TokenBucket


def rate(check: Callable[[int], object], seconds: float, threads: int = 1) -> float:
    """Checks per second of ``check(i)`` called in a loop from ``threads`` threads."""
    done = [0] * threads
    stop = time.perf_counter() + seconds

    def loop(slot: int) -> None:
        i = 0
        while time.perf_counter() < stop:
            check(i)
            i += 1
        done[slot] = i

    workers = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--threads", default="1,4")
    args = parser.parse_args()
    from limits import RateLimitItemPerSecond
    from limits.storage import MemoryStorage
    from limits.strategies import FixedWindowRateLimiter

    item = RateLimitItemPerSecond(400, 2)  # --rate-limit 200
    keys = [f"key:{k}" for k in range(50)]
    bucket = TokenBucket(200.0, 400.0)
    memory = FixedWindowRateLimiter(MemoryStorage())
    figures = {
        "token bucket, in process": rate(lambda i: bucket.take(keys[i % 50]), args.seconds),
        "limits fixed window, memory": rate(lambda i: memory.hit(item, keys[i % 50]), args.seconds),
    }
    from data.db import Database
    from data.rate_limits import DatabaseStorage
    from tests.conftest import PostgresServer

    pg = PostgresServer()
    try:
        pg.start()
        db = Database(pg.new_database())
        shared = FixedWindowRateLimiter(DatabaseStorage(db))
        for n in (int(t) for t in args.threads.split(",")):
            figures[f"limits fixed window, PostgreSQL, {n} thread(s)"] = rate(
                lambda i: shared.hit(item, keys[i % 50]), args.seconds, threads=n
            )
        db.dispose()
    finally:
        pg.stop()
    base = figures["token bucket, in process"]
    for name, value in figures.items():
        print(f"{name:<48} {value:>12,.0f} checks/s  ({value / base:.4f} x the token bucket)")


if __name__ == "__main__":
    main()
