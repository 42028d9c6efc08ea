"""What the benchmarks in bench/ share: a real server in a subprocess on a free
port, keep-alive HTTP load from threads, recording WebSocket clients and
Chromium settings for the live benchmarks, percentiles, and figures printed
beside their baselines with the ratio and the target (DESIGN.md, Targets).

Benchmarks measure; they do not assert. Every subprocess started here is
stopped on exit, on an exception, on Ctrl-C and on SIGTERM; the subprocess
also gets SIGTERM if the benchmark process itself dies (Linux).

A bench runs as a script (``python bench/NAME.py``: bench/ is on ``sys.path``)
and imports this module before anything of the project's: importing it puts
the repository first on ``sys.path``, so that ``alerts``, ``client`` and the
other packages resolve to the project's, not to the bench of the same name.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import http.client
import itertools
import json
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

if sys.path[:1] != [str(ROOT)]:
    if str(ROOT) in sys.path:
        sys.path.remove(str(ROOT))
    sys.path.insert(0, str(ROOT))


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies (PR_SET_PDEATHSIG):
    called in a child between fork and exec, or first thing in a worker process."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: no such call
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


_die_with_parent = die_with_parent  # the name the benches used first


class Server:
    """A server command in its own process group, logging to a file."""

    def __init__(
        self, name: str, argv: Sequence[str], port: int, log_path: Path, *, env: dict[str, str] | None = None
    ) -> None:
        self.name, self.argv, self.port, self.log_path = name, list(argv), port, log_path
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )
        log.close()
        return self

    def wait_ready(self, path: str = "/health", timeout: float = 90.0) -> float:
        """Poll ``path`` until it answers 200; returns the seconds it took."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.proc is not None and self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"{self.name} exited with {code} before it was ready:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", path)
                if conn.getresponse().status == 200:
                    conn.close()
                    return time.perf_counter() - t0
                conn.close()
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready on port {self.port} after {timeout:.0f} s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        """User+system CPU of the server and its children (gunicorn workers) so far."""
        import psutil

        if self.proc is None:
            return 0.0
        total = 0.0
        try:
            root = psutil.Process(self.proc.pid)
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    total += t.user + t.system
        except psutil.Error:
            pass
        return total

    def worker_pids(self) -> list[int]:
        import psutil

        if self.proc is None:
            return []
        with contextlib.suppress(psutil.Error):
            return [c.pid for c in psutil.Process(self.proc.pid).children(recursive=True)]
        return []

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        # SIGINT: gunicorn's quick shutdown (and KeyboardInterrupt for a plain Python server).
        for sig, wait in ((signal.SIGINT, 5.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue


def pulseboard(data_dir: Path, *extra: str, port: int | None = None) -> Server:
    """``python app.py serve`` on a free port with its own data dir (not started)."""
    port = port or free_port()
    argv = [
        PYTHON,
        "app.py",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--log-level",
        "WARNING",
        "--rate-limit",
        "0",
    ]
    argv += extra
    return Server("pulseboard", argv, port, data_dir.parent / f"{data_dir.name}.log")


@contextlib.contextmanager
def workspace(keep: bool = False) -> Iterator[tuple[Path, contextlib.ExitStack]]:
    """A temp dir and an exit stack; servers pushed on the stack are stopped and the
    dir removed however the block ends. SIGTERM/SIGHUP end it like Ctrl-C."""

    def _interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = {s: signal.signal(s, _interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    tmp = Path(tempfile.mkdtemp(prefix="pulse-bench-"))
    try:
        with contextlib.ExitStack() as stack:
            yield tmp, stack
    finally:
        if keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        for s, h in old.items():
            signal.signal(s, h)


def started(stack: contextlib.ExitStack, server: Server) -> Server:
    stack.callback(server.stop)
    return server.start()


@contextlib.contextmanager
def py_spy(server: Server, out: Path | None, rate: int = 100, *, gil: bool = False) -> Iterator[None]:
    """Sample the server's worker with py-spy (collapsed stacks in ``out``) while
    the block runs; a no-op when ``out`` is None. Sampling steals some CPU.
    ``gil``: sample only the thread holding the GIL (where the one core a Python
    process can use goes)."""
    exe = shutil.which("py-spy") or str(Path(PYTHON).with_name("py-spy"))
    pids = server.worker_pids() or ([server.proc.pid] if server.proc else [])
    if out is None or not pids or not Path(exe).exists():
        if out is not None:
            print(f"  (py-spy not found at {exe}: no profile)")
        yield
        return
    argv = [exe, "record", "--pid", str(pids[0]), *(["--gil"] if gil else []), "--nonblocking"]
    argv += ["--rate", str(rate), "--format", "raw", "--output", str(out)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(0.5)  # let it attach
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        print(f"  profile: {out}")


_REPO_TOP = {p.name for p in ROOT.iterdir() if not p.name.startswith(".")}


def own_frame(frame: str) -> bool:
    """Whether a py-spy frame ``name (path:line)`` is in the repository's own code."""
    path = frame[frame.rfind("(") + 1 : frame.rfind(":")]
    top = path.split("/", 1)[0]
    return (top in _REPO_TOP and not path.startswith("/")) or (path.startswith(str(ROOT)) and "/.venv/" not in path)


def profile_counts(
    path: Path, keep: Callable[[list[str]], bool] | None = None
) -> tuple[int, dict[str, int], dict[str, int]]:
    """A py-spy raw (collapsed) profile read into (samples, samples of each of the
    repository's own frames - inclusive, samples of each leaf frame - self), over
    the stacks ``keep`` accepts (all by default)."""
    inclusive: dict[str, int] = {}
    leaf: dict[str, int] = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        if keep is not None and not keep(frames):
            continue
        total += n
        leaf[frames[-1]] = leaf.get(frames[-1], 0) + n
        for f in set(frames):
            if own_frame(f):
                inclusive[f] = inclusive.get(f, 0) + n
    return total, inclusive, leaf


def descendants_cpu(skip: Server | None = None) -> float:
    """CPU-seconds used so far by this process's live descendants (client
    processes, Chromium and its driver), leaving out ``skip`` and its workers."""
    import psutil

    not_these = {skip.proc.pid, *skip.worker_pids()} if skip is not None and skip.proc else set()
    total = 0.0
    for p in psutil.Process().children(recursive=True):
        if p.pid not in not_these:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
    return total


# ---------------------------------------------------------------- command line


def arg_parser(doc: str | None) -> argparse.ArgumentParser:
    """A bench's parser: the first paragraph of its docstring as the description."""
    return argparse.ArgumentParser(
        description=(doc or "").split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )


def dataset_options(parser: argparse.ArgumentParser, events: int) -> None:
    """``--events``, ``--db`` and ``--rebuild``: the cached dataset of ``bench/_dataset.py``."""
    parser.add_argument("--events", type=int, default=events, help=f"events in the dataset (default {events:,})")
    parser.add_argument("--db", type=Path, help="cached dataset file (default /tmp/pulseboard-bench-<N>.db)")
    parser.add_argument(
        "--rebuild", action="store_true", help="build the dataset again even when the cached one matches"
    )


def run_main(
    run: Callable[[argparse.Namespace], int], args: argparse.Namespace, interrupted: str = "interrupted"
) -> int:
    """Run a bench on its parsed ``args``: make its ``--py-spy`` folder first, and
    on Ctrl-C (or SIGTERM/SIGHUP, see :func:`workspace`) print ``interrupted``
    and return 130, once the ``with`` blocks have stopped what they started."""
    if getattr(args, "py_spy", None):
        args.py_spy.mkdir(parents=True, exist_ok=True)
    try:
        return run(args)
    except KeyboardInterrupt:
        print(f"\n{interrupted}", file=sys.stderr)
        return 130


# ---------------------------------------------------------------- HTTP load


@dataclasses.dataclass
class Load:
    """What a load run saw: per-request latencies (s), errors, wall time and CPU."""

    requests: int = 0
    errors: int = 0
    first_error: str = ""
    elapsed: float = 0.0
    latencies: list[float] = dataclasses.field(default_factory=list)
    bodies: list[bytes] = dataclasses.field(default_factory=list)  # responses, when kept
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def merge(self, other: Load) -> Load:
        """Add another run (e.g. a later round against the same server)."""
        self.requests += other.requests
        self.errors += other.errors
        self.first_error = self.first_error or other.first_error
        self.elapsed += other.elapsed
        self.latencies += other.latencies
        self.bodies += other.bodies
        self.server_cpu += other.server_cpu
        self.client_cpu += other.client_cpu
        return self

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)


HEADERS = {"Content-Type": "application/json", "Connection": "keep-alive"}


def _post(
    conn: http.client.HTTPConnection, server: Server, path: str, body: bytes, timeout: float
) -> tuple[http.client.HTTPConnection, bool, bytes, str]:
    """One keep-alive POST: ``(connection, ok, body, error)``; a broken
    connection is replaced and reported, a non-2xx answer reported."""
    try:
        conn.request("POST", path, body, HEADERS)
        resp = conn.getresponse()
        data = resp.read()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        return (
            http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout),
            False,
            b"",
            f"{type(exc).__name__}: {exc}",
        )
    ok = 200 <= resp.status < 300
    return conn, ok, data, "" if ok else f"HTTP {resp.status}: {data[:300]!r}"


def run_clients(
    server: Server,
    path: str,
    clients: int,
    next_body: Callable[[int, int], bytes | None],
    *,
    seconds: float | None = None,
    keep_bodies: bool = False,
    timeout: float = 60.0,
) -> Load:
    """``clients`` threads, each on one keep-alive connection, POST ``next_body(client,
    i)`` until it returns None (or ``seconds`` have passed). A non-2xx answer or a
    broken connection counts as an error (the connection is reopened)."""
    load = Load()
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    stop = threading.Event()
    ends: list[float] = []

    def client(cid: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
        lat: list[float] = []
        kept: list[bytes] = []
        errors, first = 0, ""
        barrier.wait()
        deadline = time.perf_counter() + seconds if seconds else float("inf")
        i = 0
        while not stop.is_set():
            body = next_body(cid, i)
            i += 1
            if body is None:
                break
            t0 = time.perf_counter()
            conn, ok, data, error = _post(conn, server, path, body, timeout)
            first = first or error
            t1 = time.perf_counter()
            lat.append(t1 - t0)
            errors += not ok
            if keep_bodies:
                kept.append(data)
            if t1 >= deadline:
                break
        conn.close()
        with lock:
            ends.append(time.perf_counter())
            load.latencies.extend(lat)
            load.bodies.extend(kept)
            load.errors += errors
            load.first_error = load.first_error or first

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    cpu0, scpu0 = _process_cpu(), server.cpu_seconds()
    barrier.wait()
    t0 = time.perf_counter()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    finally:
        stop.set()
    load.elapsed = max(ends, default=t0) - t0
    load.client_cpu, load.server_cpu = _process_cpu() - cpu0, server.cpu_seconds() - scpu0
    load.requests = len(load.latencies)
    return load


def run_fixed_rate(
    server: Server,
    path: str,
    rate: float,
    seconds: float,
    next_body: Callable[[int, int], bytes | None],
    *,
    clients: int = 32,
    timeout: float = 60.0,
) -> Load:
    """POST at a fixed ``rate`` a second for ``seconds`` (an open loop: request ``i``
    is due at ``start + i / rate`` whether or not earlier ones were answered),
    from up to ``clients`` keep-alive connections. Latency runs from when a
    request was due, so a server that falls behind shows it in full (no
    coordinated omission); a request for which no connection was free waits."""
    load = Load()
    lock = threading.Lock()
    counter = itertools.count()
    barrier = threading.Barrier(clients + 1)
    start: list[float] = []

    def client(cid: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
        lat: list[float] = []
        errors, first = 0, ""
        barrier.wait()
        t0 = start[0]
        while True:
            with lock:
                i = next(counter)
            due = t0 + i / rate
            if due - t0 >= seconds:
                break
            body = next_body(cid, i)
            if body is None:
                break
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            conn, ok, _, error = _post(conn, server, path, body, timeout)
            first = first or error
            lat.append(time.perf_counter() - due)
            errors += not ok
        conn.close()
        with lock:
            load.latencies.extend(lat)
            load.errors += errors
            load.first_error = load.first_error or first

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    cpu0, scpu0 = _process_cpu(), server.cpu_seconds()
    start.append(time.perf_counter() + 0.05)
    barrier.wait()
    for t in threads:
        while t.is_alive():
            t.join(0.2)
    load.elapsed = time.perf_counter() - start[0]
    load.client_cpu, load.server_cpu = _process_cpu() - cpu0, server.cpu_seconds() - scpu0
    load.requests = len(load.latencies)
    return load


def _process_cpu() -> float:
    t = os.times()
    return t.user + t.system


# ---------------------------------------------------------------- figures


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``"1.2 0.9 0.7"`` (``"?"`` where unknown)."""
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), linear between closest ranks."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


@contextlib.contextmanager
def timed(label: str) -> Iterator[dict[str, float]]:
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        yield out
    finally:
        out["seconds"] = time.perf_counter() - t0
        print(f"  [{label}: {out['seconds']:.1f} s]", flush=True)


def human(x: float, unit: str = "") -> str:
    if x != x:  # nan
        return "n/a"
    if unit == "ms":
        return f"{x:.1f} ms"
    if abs(x) >= 10_000:
        return f"{x / 1000:,.1f}k{unit and ' ' + unit}"
    return f"{x:,.0f}{unit and ' ' + unit}"


@dataclasses.dataclass
class Figure:
    what: str
    value: float
    unit: str
    baseline: str  # what it is compared to, with its figure
    ratio: float | None  # value / baseline, when the target is a ratio
    target: str
    ok: bool | None  # None: no target
    cpu_ratio: float | None = None  # the same ratio per CPU-second used: steadier on a busy machine

    def line(self) -> str:
        ratio = "" if self.ratio is None else f"  ratio {self.ratio:.2f}x"
        cpu = "" if self.cpu_ratio is None else f" (per CPU-second {self.cpu_ratio:.2f}x)"
        verdict = {True: "MET", False: "MISSED", None: ""}[self.ok]
        value = human(self.value, self.unit)
        return f"  {self.what}: {value}   vs {self.baseline}{ratio}{cpu}   target {self.target}  {verdict}"


def show(fig: Figure) -> Figure:
    print(fig.line(), flush=True)
    return fig


def banner(what: str, note: str = "") -> str:
    """The first line of a benchmark's output: what runs, on what, how loaded."""
    m = machine()
    return (
        f"Pulseboard {what} benchmark — {m['cores']} cores, Python {m['python']}, SQLite {m['sqlite']}, "
        f"load average {os.getloadavg()[0]:.1f}{note}"
    )


def machine() -> dict[str, str]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu or platform.processor(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "os": f"{platform.system()} {platform.release()}",
    }


class MachineLoad:
    """How busy the whole machine was between construction and ``report()``:
    benchmarks share it with other work, which skews wall-clock figures."""

    def __init__(self) -> None:
        self.t0, self.stat0 = time.perf_counter(), self._stat()

    @staticmethod
    def _stat() -> list[int]:
        with contextlib.suppress(OSError, ValueError):
            return [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        return []

    def report(self, own_cpu: float) -> str:
        """``own_cpu``: CPU-seconds used by the benchmark and its servers."""
        stat = self._stat()
        if not stat or not self.stat0:
            return f"load average {os.getloadavg()[0]:.1f}"
        d = [b - a for a, b in zip(self.stat0, stat)]
        hz = os.sysconf("SC_CLK_TCK")
        total = sum(d[:8]) or 1
        busy = (total - d[3] - d[4]) / hz  # all but idle and iowait (steal counts: the CPU was not ours)
        steal = d[7] / total if len(d) > 7 else 0.0
        cores = os.cpu_count() or 1
        wall = time.perf_counter() - self.t0
        other = max(0.0, busy - own_cpu - d[7] / hz)
        return (
            f"over {wall:.0f} s: this benchmark used {own_cpu:.0f} CPU-s, other processes ~{other:.0f} CPU-s, "
            f"steal {100 * steal:.0f}% of {cores} cores; load average now {os.getloadavg()[0]:.1f}"
        )


def table(figures: Sequence[Figure], title: str) -> str:
    rows = [("figure", "value", "baseline", "ratio", "target", "", "ratio per CPU-s")]
    for f in figures:
        rows.append(
            (
                f.what,
                human(f.value, f.unit),
                f.baseline,
                "" if f.ratio is None else f"{f.ratio:.2f}x",
                f.target,
                {True: "MET", False: "MISSED", None: ""}[f.ok],
                "" if f.cpu_ratio is None else f"{f.cpu_ratio:.2f}x",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = [title]
    for n, r in enumerate(rows):
        out.append("  " + " | ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if n == 0:
            out.append("  " + "-+-".join("-" * w for w in widths))
    m = machine()
    out.append(f"  machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}, SQLite {m['sqlite']}, {m['os']}")
    return "\n".join(out)


class Timing:
    """Wall-clock and CPU (process) milliseconds of repeated calls. On a busy
    machine the wall figures include waiting for a core; the CPU figures are
    what the calls cost, and come close to the wall time of an idle machine."""

    def __init__(self, name: str, wall: list[float], cpu: list[float], first: float, result: Any) -> None:
        self.name, self.wall, self.cpu, self.first = name, wall, cpu, first
        self.result = result  # of the last call

    @property
    def n(self) -> int:
        return len(self.wall)

    @property
    def p50(self) -> float:
        return statistics.median(self.wall)

    @property
    def p95(self) -> float:
        return percentile(self.wall, 95)

    @property
    def cpu50(self) -> float:
        return statistics.median(self.cpu)

    @property
    def cpu95(self) -> float:
        return percentile(self.cpu, 95)


def measure(name: str, fn: Callable[[], Any], *, repeat: int, budget_s: float, min_repeat: int = 3) -> Timing:
    """A first call (reported apart: cold caches, statement compilation), then
    up to ``repeat`` timed calls, fewer (at least ``min_repeat``) once they
    have taken ``budget_s`` seconds."""
    t0 = time.perf_counter()
    result = fn()
    first = (time.perf_counter() - t0) * 1000
    wall: list[float] = []
    cpu: list[float] = []
    started = time.perf_counter()
    while len(wall) < repeat:
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        if len(wall) >= min_repeat and time.perf_counter() - started > budget_s:
            break
    return Timing(name, wall, cpu, first, result)


# ---------------------------------------------------------------- live push: browser, WebSocket clients, bodies

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def connect_clients(make: Callable[[], Any], n: int, pipe: Any) -> list[Any]:
    """In a client process: ``n`` recording clients subscribed to ``all`` (three
    tries each), then ("ready", connected, subscribed, first failures) to the parent."""
    clients: list[Any] = []
    failures: list[str] = []
    for _ in range(n):
        for attempt in range(3):
            try:
                c = make()
                c.send('{"type": "subscribe", "topics": ["all"]}')
                clients.append(c)
                break
            except Exception as exc:
                if attempt == 2:
                    failures.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.2)
    deadline = time.time() + 60
    for c in clients:
        c.ready.wait(max(0.0, deadline - time.time()))
    pipe.send(("ready", len(clients), sum(c.ready.is_set() for c in clients), failures[:3]))
    return clients


def recorder_class() -> Any:
    """The recording WebSocket client class (imported lazily: only the live benchmarks need it)."""
    import orjson
    import simple_websocket

    class Recorder(simple_websocket.Client):  # type: ignore[misc]
        """A client that records, in its reader thread, every event id it receives and when
        (time.time() when the bytes carrying the frame were parsed). Like live.js, a gap in
        ``seq`` or a ``resync`` error asks for everything after the last complete id."""

        def __init__(self, url: str, deflate: bool = False) -> None:
            self.deflate = deflate  # offer permessage-deflate, as browsers do
            self.ids = array("q")
            self.times = array("d")
            self.frames = 0
            self.seq = 0
            self.safe_id = 0
            self.max_id = 0
            self.ready = threading.Event()
            self.resyncs = 0
            self.errors: list[str] = []
            super().__init__(url, receive_bytes=65536)

        def handshake(self) -> None:
            if not self.deflate:
                return super().handshake()  # type: ignore[no-any-return]
            from wsproto.events import AcceptConnection, Request
            from wsproto.extensions import PerMessageDeflate

            self.sock.send(
                self.ws.send(
                    Request(
                        host=self.host,
                        target=self.path,
                        subprotocols=self.subprotocols,
                        extra_headers=self.extra_headeers,
                        extensions=[PerMessageDeflate()],
                    )
                )
            )
            event = None
            while event is None:
                self.ws.receive_data(self.sock.recv(self.receive_bytes))
                event = next(self.ws.events(), None)
            if not isinstance(event, AcceptConnection):
                raise simple_websocket.ConnectionError(400)
            self.subprotocol = event.subprotocol
            self.connected = True
            return None

        def _thread(self) -> None:
            # Frames that came in the same read as the 101 response are parsed but not yet handled.
            self.connected = self._handle_events()
            super()._thread()

        def _handle_events(self) -> bool:
            keep: bool = super()._handle_events()
            buffered: list[str | bytes] = self.input_buffer
            if buffered:
                now = time.time()
                self.input_buffer: list[str | bytes] = []
                for raw in buffered:
                    self.on_message(raw, now)
            return keep

        def record(self, ids: list[int], now: float) -> None:
            """Keep the ids of one frame and when it arrived (a subclass may keep them otherwise)."""
            self.ids.extend(ids)
            self.times.extend(itertools.repeat(now, len(ids)))

        def on_message(self, raw: str | bytes, now: float) -> None:
            msg = orjson.loads(raw)
            kind = msg.get("type")
            if kind in ("initial_data", "realtime_update"):
                ids = [e["id"] for e in msg.get("events") or ()]
                if ids:
                    self.record(ids, now)
                    self.max_id = max(self.max_id, max(ids))
                if kind == "initial_data":
                    self.seq = msg.get("seq") or 0
                    self.safe_id = max(self.safe_id, msg.get("last_id") or 0, self.max_id)
                    self.max_id = max(self.max_id, msg.get("last_id") or 0)
                    self.ready.set()
                    return
                self.frames += 1
                gap = msg.get("seq") != self.seq + 1
                self.seq = msg.get("seq") or self.seq
                if gap:
                    self.resync()
                else:
                    self.safe_id = max(self.safe_id, msg.get("last_id") or 0)
            elif kind == "error":
                self.errors.append(str(msg.get("message")))
                if msg.get("resync"):
                    self.resync()

        def resync(self) -> None:
            self.resyncs += 1
            self.send(orjson.dumps({"type": "request_update", "after_id": self.safe_id}).decode())

    return Recorder


def make_bodies(count: int, batch: int) -> list[bytes]:
    """``count`` JSON request bodies of ``batch`` events each (3 sources, 10 entities, 5 % errors)."""
    rng = random.Random(11)
    out = []
    for r in range(count):
        events = [
            {
                "type": ("request", "scan", "transaction")[j % 3],
                "source": ("payments", "device-monitor", "tools")[j % 3],
                "entity": f"endpoint-{(r + j) % 10}",
                "user": f"user-{rng.randrange(200):03d}",
                "status": "ok" if rng.random() < 0.95 else "error",
                "value": round(rng.uniform(1, 100), 2),
                "duration_ms": round(rng.lognormvariate(4, 0.6), 2),
                "message": f"fan-out {r}-{j}",
            }
            for j in range(batch)
        ]
        out.append(json.dumps(events).encode())
    return out
