"""How ``serve`` runs Pulseboard on gunicorn: a threaded worker that reads
every request's head (and a body of known, acceptable length) in its event
loop, with deadlines, before any thread is committed to it, and then runs
live-feed requests (WebSocket, SSE) on a pool of their own.

Ordinary requests (pages, the API, ``/health``) get the ``--threads`` pool;
open live streams hold threads of the live pool only, sized for
``--max-ws-clients``. A client that trickles its request line, headers or body
holds no thread at all: it waits in the event loop until it has sent the
whole request, and is answered ``408`` and closed when it takes longer than
``--header-timeout`` (head) or ``--body-timeout`` (body).
"""

from __future__ import annotations

import errno
import gc
import resource
import selectors
import socket
import time
from concurrent import futures
from functools import partial
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from settings import Settings

# Requests served by the live pool: paths that stay open as long as the client watches.
LIVE_PATHS = frozenset({"/ws", "/ws/metrics", "/api/stream", "/realtime/stream"})
LIVE_PREFIXES = ("/socket.io/",)  # Socket.IO websockets and long polls hold their request too
LIVE_SPARE = 16  # live-pool threads beyond the cap, to answer clients over it with 503/1013 at once
MAX_HEAD = 64 * 1024  # request line and headers; gunicorn's own limits apply after this
MAX_BUFFERED = 256 * 1024 * 1024  # bodies held by the event loop at once; beyond, a thread reads them
TIMEOUT_408 = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
TOO_LARGE_431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


GC_YOUNG = 20_000  # allocations between young-generation collections (Python's default: 700)


def settle_heap() -> None:
    """Before serving: move what start-up built (Dash, pandas, the app: a few
    hundred thousand objects that live as long as the process) out of the
    collector's sight, and collect the young generation less often. A request
    allocates thousands of short-lived objects (a 1,000-event batch: its
    models and rows); with defaults, the collections they set off scan the
    whole start-up heap again and again, a third of a batch's CPU."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])


def live_threads(settings: Settings) -> int:
    return settings.max_ws_clients + LIVE_SPARE


def worker_connections(settings: Settings) -> int:
    """Connections a worker holds at once: every live client, every request
    thread and headroom for requests still arriving or kept alive."""
    return live_threads(settings) + settings.threads + 512


def capacity_refusal(settings: Settings) -> str | None:
    """Why this process cannot honour ``--max-ws-clients`` (too few file
    descriptors or threads allowed), or None. Raises the soft descriptor
    limit to what is needed when the hard limit allows it."""
    # A socket per connection, plus the database, log and listening files.
    files = worker_connections(settings) + 128
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < files:
        if hard == resource.RLIM_INFINITY or hard >= files:
            resource.setrlimit(resource.RLIMIT_NOFILE, (files, hard))
        else:
            return (
                f"--max-ws-clients {settings.max_ws_clients} with --threads {settings.threads} needs {files} "
                f"open files per worker, but the limit is {hard} (raise it: ulimit -n / LimitNOFILE=, "
                "or lower --max-ws-clients)"
            )
    # A WebSocket holds two threads (the session and its reader).
    threads = (2 * live_threads(settings) + settings.threads + 32) * settings.workers
    tsoft, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    if tsoft != resource.RLIM_INFINITY and tsoft < threads:
        return (
            f"--max-ws-clients {settings.max_ws_clients} needs about {threads} threads, but the limit is {tsoft} "
            "(raise it: ulimit -u / LimitNPROC=, or lower --max-ws-clients)"
        )
    return None


class _Deadline:
    """The socket as gunicorn's parser reads it: each read waits only for what
    is left of the request's deadline, then fails as a reset connection (so
    the request ends and the connection closes, without a traceback)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline

    def recv(self, size: int) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise OSError(errno.ECONNRESET, "request body not received in time")
        self.sock.settimeout(remaining)
        try:
            return self.sock.recv(size)
        except TimeoutError:
            raise OSError(errno.ECONNRESET, "request body not received in time") from None
        finally:
            self.sock.settimeout(None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


class _Head:
    """What the event loop learnt of a request before handing it to a thread."""

    def __init__(self, data: bytes, deadline: float) -> None:
        self.data = bytearray(data)
        self.deadline = deadline
        self.head_end = -1
        self.path = ""
        self.want = 0  # bytes of body still to arrive in the loop (-1: a thread reads the body)


def _parse_head(head: _Head, max_body: int) -> None:
    end = head.data.find(b"\r\n\r\n")
    if end < 0:
        return
    head.head_end = end + 4
    lines = bytes(head.data[:end]).split(b"\r\n")
    parts = lines[0].split(b" ")
    target = parts[1].decode("latin-1") if len(parts) > 1 else ""
    if "://" in target:  # absolute-form
        target = "/" + target.split("://", 1)[1].partition("/")[2]
    head.path = target.split("?", 1)[0]
    length: int | None = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding" or (name == b"expect" and value == b"100-continue"):
            length = None  # chunked, or a client waiting for "100 Continue": a thread reads the body
    head.want = length if length is not None and length <= max_body else -1


def worker_class(settings: Settings) -> type[ThreadWorker]:
    header_timeout = settings.header_timeout
    body_timeout = settings.body_timeout
    max_body = settings.max_body_bytes
    live_pool_size = live_threads(settings)

    class PulseWorker(ThreadWorker):  # type: ignore[misc]
        """gunicorn's gthread worker with request heads read in the event loop
        and a second thread pool for the live feed."""

        def init_process(self) -> None:
            self.live_pool = futures.ThreadPoolExecutor(max_workers=live_pool_size, thread_name_prefix="live")
            self.heads: dict[Any, tuple[Any, _Head]] = {}
            self.buffered = 0
            super().init_process()

        def run(self) -> None:
            settle_heap()  # the app is loaded (and any post_worker_init has run): what remains is serving
            super().run()

        def handle_quit(self, sig: int, frame: Any) -> None:
            self.live_pool.shutdown(wait=False)
            super().handle_quit(sig, frame)

        # --- the head, read without a thread

        def enqueue_req(self, conn: Any) -> None:
            """Every request starts here: new connections, kept-alive ones that
            became readable and pipelined requests already buffered."""
            data = b""
            if conn.parser is not None:
                data = conn.parser.unreader.take_buffered()
            head = _Head(data, time.monotonic() + header_timeout)
            conn.sock.setblocking(False)
            self.heads[conn.sock] = (conn, head)
            if not self._advance(conn, head):
                self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))

        def _readable(self, conn: Any, client: Any) -> None:
            _, head = self.heads[conn.sock]
            try:
                chunk = conn.sock.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self._drop(conn)
                return
            head.data += chunk
            if head.head_end >= 0:
                self.buffered += len(chunk)
            if self._advance(conn, head):
                self.poller.unregister(conn.sock)

        def _advance(self, conn: Any, head: _Head) -> bool:
            """Dispatch the request when it is complete enough; True when it left the loop."""
            if head.head_end < 0:
                _parse_head(head, max_body)
                if head.head_end < 0:
                    if len(head.data) > MAX_HEAD:
                        self._answer(conn, TOO_LARGE_431)
                        return True
                    return False
                head.deadline = time.monotonic() + body_timeout
                self.buffered += len(head.data) - head.head_end
            live = head.path in LIVE_PATHS or head.path.startswith(LIVE_PREFIXES)
            body_here = len(head.data) - head.head_end
            if not live and head.want > body_here and self.buffered < MAX_BUFFERED:
                return False  # wait in the loop for the rest of the body
            self.heads.pop(conn.sock, None)
            self.buffered -= body_here
            conn.pulse_pre = bytes(head.data)
            conn.pulse_deadline = head.deadline
            pool = self.live_pool if live else self.tpool
            fs = pool.submit(self.handle, conn)
            fs.add_done_callback(lambda fut: self.method_queue.defer(self.finish_request, conn, fut))
            return True

        def _answer(self, conn: Any, raw: bytes) -> None:
            try:
                conn.sock.send(raw)
            except OSError:
                pass
            self._drop(conn, graceful=True)

        def _drop(self, conn: Any, graceful: bool = False) -> None:
            entry = self.heads.pop(conn.sock, None)
            if entry is not None and entry[1].head_end >= 0:
                self.buffered -= len(entry[1].data) - entry[1].head_end
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
            self.nr_conns -= 1
            conn.close(graceful=graceful)

        def murder_pending(self) -> None:
            super().murder_pending()
            now = time.monotonic()
            for conn, _ in [entry for entry in self.heads.values() if entry[1].deadline <= now]:
                self._answer(conn, TIMEOUT_408)

        # --- the request, in a thread

        def handle(self, conn: Any) -> Any:
            pre, conn.pulse_pre = getattr(conn, "pulse_pre", b""), b""
            conn.data_ready = True
            conn.sock.setblocking(True)
            if not conn.initialized:
                conn.init()
            unreader = conn.parser.unreader
            if pre:
                unreader.unread(pre)
            raw = unreader.sock.sock if isinstance(unreader.sock, _Deadline) else unreader.sock
            unreader.sock = _Deadline(raw, getattr(conn, "pulse_deadline", time.monotonic() + body_timeout))
            return super().handle(conn)

    return PulseWorker


def __getattr__(name: str) -> Any:
    """``gunicorn -k web.serving.PulseWorker 'app:create_server()'``: the worker,
    sized from the environment's settings as ``serve`` sizes it from its flags."""
    if name == "PulseWorker":
        from settings import load_settings

        return worker_class(load_settings())
    raise AttributeError(name)
