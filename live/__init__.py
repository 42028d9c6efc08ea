"""Live push: the broker, the cross-process tail, and the WebSocket and SSE
endpoints that carry the feed to browsers and scripts."""

from __future__ import annotations

import os
import threading

from data.db import Database
from live.broker import Broker
from live.tail import Tail


class Live:
    """The per-process live machinery, started on first use in the process
    that serves (so a forking server starts it in its worker, not the master)."""

    def __init__(
        self, db: Database, *, poll_interval: float = 0.25, queue_size: int = 20_000, max_clients: int = 1000
    ) -> None:
        self.broker = Broker(queue_size=queue_size, max_subscribers=max_clients)
        self.tail = Tail(db, self.broker, poll_interval=poll_interval)
        self._lock = threading.Lock()
        self.stopping = threading.Event()

    def ensure_started(self) -> None:
        if self.tail.running and self.tail.pid == os.getpid():
            return
        with self._lock:
            if not (self.tail.running and self.tail.pid == os.getpid()):
                self.stopping.clear()
                self.tail.start()

    def wake(self) -> None:
        self.tail.wake()

    def stop(self) -> None:
        self.stopping.set()
        self.broker.close()
        self.tail.stop()
