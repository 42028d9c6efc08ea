"""The spool's command line: inspect, export (CSV) or replay a client spool.

    python -m client.spool stats   [--source S | --file F]
    python -m client.spool export  [--source S | --file F] [--no-dead] OUT.csv
    python -m client.spool flush   [--source S | --file F] [--url URL] [--timeout S]
    python -m client.spool requeue [--source S | --file F]   # dead letters back in line

The CSV has one line per spooled event with the event's fields (``uid``
included), so ``python app.py import OUT.csv`` stores them on the server and
a later replay of the same spool stores nothing twice.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import Config
from .spoolcsv import export_csv
from .spooldb import Spool


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}.spool", description="Inspect, export or replay a Pulseboard client spool."
    )
    parser.add_argument("command", choices=("stats", "export", "flush", "requeue"))
    parser.add_argument("out", nargs="?", help="CSV file to write (export)")
    parser.add_argument("--source", help="the source whose spool to use [PULSE_SOURCE]")
    parser.add_argument("--file", help="the spool file itself (default: <spool dir>/spool-<source>.db)")
    parser.add_argument("--spool-dir", help="[PULSE_SPOOL_DIR]")
    parser.add_argument("--url", help="server to replay to (flush) [PULSE_URL]")
    parser.add_argument("--api-key", help="[PULSE_API_KEY]")
    parser.add_argument("--timeout", type=float, default=60.0, help="flush: give up after this many seconds")
    parser.add_argument("--no-dead", action="store_true", help="export: leave the dead letters out")
    args = parser.parse_intermixed_args(argv)
    config = Config.from_env().replace(url=args.url, api_key=args.api_key, source=args.source, spool_dir=args.spool_dir)
    path = args.file or str(config.spool_path())
    if args.command == "flush":
        from .monitor import Monitor

        monitor = Monitor(config.url, config.api_key, config.source, spool_path=path)
        ok = monitor.flush(args.timeout)
        stats = monitor.stats()
        monitor.close()
        print(json.dumps({"delivered_all": ok, **stats["spool"]}))
        return 0 if ok else 1
    if not Path(path).exists():
        print(f"no spool at {path}", file=sys.stderr)
        return 1
    spool = Spool(path)
    try:
        if args.command == "stats":
            print(json.dumps(spool.stats(), indent=2))
        elif args.command == "requeue":
            print(f"{spool.requeue_dead()} dead letters back in the spool")
        else:
            if not args.out:
                parser.error("export needs an output file")
            print(f"{export_csv(spool, args.out, include_dead=not args.no_dead)} lines written to {args.out}")
    finally:
        spool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
