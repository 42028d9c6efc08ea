"""Running one command: its output streamed through unchanged while
``PULSE_METRIC name=value`` lines on stdout are collected and the end of
stderr is kept; a timeout that kills its process group; termination signals
passed on; exit status, CPU time (``wait4``) and peak RSS (``/proc``)."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import IO, Any

log = logging.getLogger("pulseboard.client")

METRIC_LINE = re.compile(rb"^PULSE_METRIC\s+(.*?)\s*$")
METRIC_PAIR = re.compile(r"([^\s=]+)\s*=\s*(\S+)")
MAX_METRICS = 190  # the server keeps 200 per execution; the runner adds its own
EXIT_TIMEOUT = 124


@dataclasses.dataclass
class Outcome:
    returncode: int  # Popen-style: negative means killed by that signal
    duration_ms: float
    timed_out: bool = False
    error: str | None = None  # could not start the command
    peak_rss_mb: float | None = None
    cpu_user_s: float | None = None
    cpu_system_s: float | None = None
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    stderr_tail: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def status(self) -> str:
        return "timeout" if self.timed_out else "success" if self.ok else "failed"

    @property
    def exit_status(self) -> int:
        """What the runner itself exits with (shell conventions)."""
        if self.timed_out:
            return EXIT_TIMEOUT
        return 128 - self.returncode if self.returncode < 0 else self.returncode


class MetricParser:
    """Collects ``PULSE_METRIC name=value`` lines from the command's stdout."""

    def __init__(self) -> None:
        self.metrics: dict[str, float] = {}

    def __call__(self, line: bytes) -> None:
        match = METRIC_LINE.match(line.rstrip(b"\r"))
        if not match:
            return
        text = match.group(1).decode("utf-8", "replace")
        for name, raw in METRIC_PAIR.findall(text):
            try:
                value = float(raw)
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or len(name) > 200:
                log.warning(
                    "ignoring metric %r=%r: not a finite number with a name of at most 200 characters", name, raw
                )
            elif name in self.metrics or len(self.metrics) < MAX_METRICS:
                self.metrics[name] = value


class Tail:
    """The last lines of a stream, each cut to 500 characters."""

    def __init__(self, lines: int) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=max(lines, 1))

    def __call__(self, line: bytes) -> None:
        self.lines.append(line.rstrip(b"\r").decode("utf-8", "replace")[:500])


def _pump(src: IO[bytes], dst: IO[bytes] | None, on_line: Callable[[bytes], None]) -> None:
    """Copy ``src`` to ``dst`` as it comes (no line buffering) and hand complete lines to ``on_line``."""
    fd = src.fileno()
    partial = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        if dst is not None:
            try:
                dst.write(chunk)
                dst.flush()
            except (OSError, ValueError):  # our own output is gone (a closed pipe): keep draining the command
                dst = None
        *lines, partial = (partial + chunk).split(b"\n")
        partial = partial[-65536:]
        for line in lines:
            on_line(line)
    if partial:
        on_line(partial)
    src.close()


def _wait(proc: subprocess.Popen[bytes]) -> tuple[int, Any]:
    """Wait for the command; its exit status and resource usage (``wait4``: this child and its reaped children)."""
    if not hasattr(os, "wait4"):
        return proc.wait(), None
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:
        return proc.wait(), None
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage


class RssSampler:
    """Peak RSS of the command's process tree from ``/proc/<pid>/status`` (VmHWM), sampled.

    ``wait4``'s ``ru_maxrss`` alone is misleading on Linux: a child's figure
    starts at its parent's RSS when it was spawned (the runner's ~25 MB), so
    it is only trusted above that floor. The samples see each process's own
    high-water mark, missing at most growth in the last interval before exit.
    """

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.peak_kb = 0
        self.floor_kb = _status_kb("self", "VmHWM") or 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pulseboard-rss", daemon=True)
        if os.path.isdir(f"/proc/{pid}"):
            self._thread.start()

    def _run(self) -> None:
        interval = 0.005
        while True:
            for pid in _tree(self.pid):
                self.peak_kb = max(self.peak_kb, _status_kb(str(pid), "VmHWM") or 0)
            if self._stop.wait(interval):
                return
            interval = min(interval * 2, 0.02)  # quick at first: many commands are short

    def peak_mb(self, ru_maxrss_kb: int | None) -> float | None:
        """The sampled peak, or wait4's figure when it rises above the spawn floor;
        None for a command too short to sample that stayed below the floor."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(1.0)
        peak = self.peak_kb
        if ru_maxrss_kb is not None and (ru_maxrss_kb > self.floor_kb * 1.05 or not self.floor_kb):
            peak = max(peak, ru_maxrss_kb)
        return round(peak / 1024, 3) if peak else None


def _status_kb(pid: str, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(field.encode() + b":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _tree(root: int, limit: int = 200) -> list[int]:
    """``root`` and its descendants (Linux ``/proc/<pid>/task/<tid>/children``)."""
    found: list[int] = []
    todo = [root]
    while todo and len(found) < limit:
        pid = todo.pop()
        found.append(pid)
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return found


def run_once(
    cmd: Sequence[str], *, timeout: float | None = None, kill_grace: float = 5.0, tail_lines: int = 20
) -> Outcome:
    """Run ``cmd`` once, streaming its output through; see the module docstring."""
    own_group = timeout is not None and os.name == "posix"  # so that a timeout kills what it started too
    start = time.monotonic()
    try:
        proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=own_group)
    except OSError as exc:
        code = 127 if isinstance(exc, FileNotFoundError) else 126
        return Outcome(code, (time.monotonic() - start) * 1000, error=f"{type(exc).__name__}: {exc}")
    assert proc.stdout is not None and proc.stderr is not None
    rss = RssSampler(proc.pid)
    parser, tail = MetricParser(), Tail(tail_lines)
    pumps = [
        threading.Thread(target=_pump, args=(proc.stdout, _binary(sys.stdout), parser), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, _binary(sys.stderr), tail), daemon=True),
    ]
    for t in pumps:
        t.start()
    timed_out = threading.Event()

    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if own_group:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)

    def on_timeout() -> None:
        timed_out.set()
        send(signal.SIGTERM)
        killer = threading.Timer(kill_grace, send, args=(getattr(signal, "SIGKILL", signal.SIGTERM),))
        killer.daemon = True
        killer.start()
        timers.append(killer)

    timers: list[threading.Timer] = []
    if timeout is not None:
        timer = threading.Timer(timeout, on_timeout)
        timer.daemon = True
        timer.start()
        timers.append(timer)
    with _forwarding(send, own_group):
        returncode, usage = _wait(proc)
    duration_ms = (time.monotonic() - start) * 1000
    for t in timers:
        t.cancel()
    if timed_out.is_set() and own_group:
        send(getattr(signal, "SIGKILL", signal.SIGTERM))  # what the command left behind in its group
    for t in pumps:
        t.join(5.0)  # a daemon the command started may hold the pipes open: don't wait on it forever
    outcome = Outcome(
        returncode, duration_ms, timed_out=timed_out.is_set(), metrics=parser.metrics, stderr_tail=list(tail.lines)
    )
    maxrss_kb = None
    if usage is not None:
        maxrss_kb = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss  # bytes on macOS
        outcome.cpu_user_s = round(usage.ru_utime, 6)
        outcome.cpu_system_s = round(usage.ru_stime, 6)
    outcome.peak_rss_mb = rss.peak_mb(maxrss_kb)
    return outcome


def _binary(stream: Any) -> IO[bytes] | None:
    return getattr(stream, "buffer", None)


@contextlib.contextmanager
def _forwarding(send: Callable[[int], None], own_group: bool) -> Iterator[None]:
    """Pass termination signals on to the command while it runs (Ctrl-C reaches a
    command in our own process group by itself, so SIGINT is forwarded only to its own group)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = ["SIGTERM", "SIGHUP"] + (["SIGINT"] if own_group else [])
    sigs = [getattr(signal, n) for n in names if hasattr(signal, n)]

    def handler(signum: int, _frame: FrameType | None) -> None:
        send(signum)

    previous = {s: signal.signal(s, handler) for s in sigs}
    if not own_group:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, lambda *_: None)  # the command got it too; wait for it
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
