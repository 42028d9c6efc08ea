"""``python -m demo --db PATH [--days 7] [--seed 7] [--live SECONDS] [--scale 1]``:
backfill a database with demo history (timed), then optionally stream live
events for a while. Prints what was stored."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from data.db import DatabaseError
from settings import SettingsError, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description="Fill a Pulseboard database with demo data.")
    parser.add_argument("--db", required=True, help="SQLite path or SQLAlchemy URL")
    parser.add_argument("--days", type=int, default=7, help="days of history (default 7)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--live", type=float, default=0.0, help="then stream live events for this many seconds")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="live rates as a multiple of the history's (default 1)"
    )
    args = parser.parse_args(argv)

    from app import create_app
    from demo import Simulator, backfill

    try:
        services = create_app(load_settings({"db": args.db}, environ={})).server.extensions["pulseboard"]
    except (SettingsError, DatabaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        started, cpu = time.perf_counter(), time.process_time()
        counts = backfill(services, days=args.days, now=services.now(), seed=args.seed)
        wall, used = time.perf_counter() - started, time.process_time() - cpu
        if counts:
            print(f"backfill: {sum(counts.values())} events in {wall:.1f} s ({used:.1f} s CPU): {counts}")
        else:
            print("backfill: skipped (the database already holds demo data)")
        if args.live > 0:
            sim = Simulator(services, seed=args.seed, scale=args.scale)
            sim.start()
            try:
                time.sleep(args.live)
            finally:
                sim.stop()
            print(f"live: {sim.stored} events in {args.live:.0f} s")
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
