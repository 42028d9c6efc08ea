"""The runner: run a command and record it as an execution.

    python -m client.run --script NAME [--retry N] [--timeout S] [--url URL] -- CMD ARGS...

Each attempt is one execution (``attempt`` 1, 2, ...; ``retry_of`` links
them): start, end, duration, status (success / failed / timeout), exit code,
CPU time of the command and everything it waited for (``wait4``), its peak
RSS (``/proc`` samples, see ``process.RssSampler``), the last lines of stderr on
failure, and the metrics the command prints as ``PULSE_METRIC name=value``
lines (several pairs per line allowed). Runner figures are stored as the
metrics ``peak_rss_mb``, ``cpu_user_s`` and ``cpu_system_s``.

The command's stdout and stderr are streamed through unchanged and its exit
status is the runner's: the code it exited with, 128+N when killed by signal
N, 124 after ``--timeout`` (the command's process group gets SIGTERM, then
SIGKILL after ``--kill-grace``), 127/126 when it cannot be started. A server
that is down never fails the command: the records go to the spool.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import socket
import sys
import time
from collections.abc import Sequence
from typing import Any

from .config import Config
from .monitor import Monitor
from .process import Outcome, run_once

log = logging.getLogger("pulseboard.client")

TAIL_CHARS = 8000  # attrs are capped at 16 KB by the server


def record(
    monitor: Monitor,
    script: str,
    cmd: Sequence[str],
    *,
    retry: int = 0,
    retry_delay: float = 1.0,
    timeout: float | None = None,
    kill_grace: float = 5.0,
    tail_lines: int = 20,
) -> Outcome:
    """Run ``cmd`` up to ``retry + 1`` times, one execution per attempt; the last outcome."""
    attempts = retry + 1
    previous: str | None = None
    outcome = Outcome(0, 0.0)
    for attempt in range(1, attempts + 1):
        attrs: dict[str, Any] = {
            "command": shlex.join(cmd)[:1000],
            "host": socket.gethostname(),
            "attempts_allowed": attempts,
        }
        if previous:
            attrs["retry_of"] = previous
        run = monitor.execution(script, attempt=attempt, attrs=attrs).start()
        outcome = run_once(cmd, timeout=timeout, kill_grace=kill_grace, tail_lines=tail_lines)
        metrics = dict(outcome.metrics)
        for name in ("peak_rss_mb", "cpu_user_s", "cpu_system_s"):
            value = getattr(outcome, name)
            if value is not None:
                metrics.setdefault(name, value)
        done: dict[str, Any] = {}
        if outcome.returncode < 0:
            done["signal"] = -outcome.returncode
        if outcome.timed_out:
            done["timeout_s"] = timeout
        if outcome.error:
            done["error"] = outcome.error
        if not outcome.ok and outcome.stderr_tail:
            done["stderr_tail"] = "\n".join(outcome.stderr_tail)[-TAIL_CHARS:]
        run.finish(outcome.status, outcome.returncode, metrics=metrics, attrs=done)
        previous = run.id
        if outcome.ok or outcome.error or attempt == attempts:
            break
        time.sleep(retry_delay)
    return outcome


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"python -m {__package__}.run",
        description="Run a command and record it in Pulseboard as an execution.",
        epilog="Example: python -m client.run --script nightly-report --retry 2 --timeout 600 -- ./report.sh --full",
    )
    p.add_argument("--script", required=True, help="the script's name in Pulseboard")
    p.add_argument("--retry", type=int, default=0, metavar="N", help="retry up to N times after a failure")
    p.add_argument("--retry-delay", type=float, default=1.0, metavar="S", help="seconds between attempts (default 1)")
    p.add_argument("--timeout", type=float, metavar="S", help="kill the command after S seconds (status timeout)")
    p.add_argument("--kill-grace", type=float, default=5.0, metavar="S", help="SIGKILL this long after SIGTERM")
    p.add_argument("--url", help="server URL [PULSE_URL]")
    p.add_argument("--api-key", help="[PULSE_API_KEY]")
    p.add_argument("--source", help="source of the records (default: runner) [PULSE_SOURCE]")
    p.add_argument("--spool-dir", help="[PULSE_SPOOL_DIR]")
    p.add_argument("--tail", type=int, default=20, metavar="N", help="stderr lines kept on failure (default 20)")
    p.add_argument(
        "--flush-timeout", type=float, default=5.0, metavar="S", help="time to deliver the records at the end"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no runner messages on stderr")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    cmd = list(args.command)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        parser.error("no command given: put it after --")
    if args.retry < 0 or (args.timeout is not None and args.timeout <= 0):
        parser.error("--retry must be >= 0 and --timeout > 0")
    logging.basicConfig(level=logging.CRITICAL if args.quiet else logging.WARNING, format="pulseboard-run: %(message)s")
    config = Config.from_env(default_source="runner").replace(
        url=args.url, api_key=args.api_key, spool_dir=args.spool_dir, source=args.source
    )
    try:
        monitor = Monitor(
            config.url, config.api_key, config.source, spool_dir=config.spool_dir, close_timeout=args.flush_timeout
        )
    except ValueError as exc:
        parser.error(str(exc))
    try:
        outcome = record(
            monitor,
            args.script,
            cmd,
            retry=args.retry,
            retry_delay=args.retry_delay,
            timeout=args.timeout,
            kill_grace=args.kill_grace,
            tail_lines=args.tail,
        )
    finally:
        monitor.close()
    if outcome.error:
        log.warning("%s: %s", cmd[0], outcome.error)
    return outcome.exit_status


if __name__ == "__main__":
    sys.exit(main())
