"""Where heavy, independent pieces of analytics run: in this process, or on a
Dask cluster (``--dask-scheduler tcp://HOST:8786``).

A caller reads its data first, hands :meth:`Compute.map` a picklable module
level function and plain inputs (pandas frames, lists, detector states, never
a database connection), and writes what comes back itself. :class:`Local`
runs the calls here, one after the other; :class:`Cluster` submits them to
the scheduler and gathers the results in the order of the inputs. Both run
the same function on the same inputs, so the results are the same.

``distributed`` is imported only when a cluster is used: Pulseboard starts
and runs without it.

>>> LOCAL.map(abs, [-2, 3])
[2, 3]
>>> chunked(list(range(5)), 2)
[[0, 1], [2, 3], [4]]
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

RETRY_SECONDS = 60.0  # after a failed connection, the work runs here this long before the next attempt


class Local:
    """Runs every call in this process (the default)."""

    remote = False

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        return [fn(item) for item in items]

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "Local()"


class Cluster:
    """Runs calls on the Dask cluster whose scheduler is at ``address``.

    The client connects on first use. While the scheduler cannot be reached
    the calls run in this process (the same results, one warning in the log),
    and the connection is tried again after :data:`RETRY_SECONDS`. An error
    raised by the function itself is raised here as it would be locally.
    """

    remote = True

    def __init__(self, address: str, *, timeout: float = 10.0) -> None:
        self.address = address
        self.timeout = timeout
        self._client: Any = None
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def client(self) -> Any:
        """The connected ``distributed.Client``, or None while it cannot connect."""
        with self._lock:
            if self._client is not None or time.monotonic() < self._retry_at:
                return self._client
            from distributed import Client  # lazy: only a configured cluster needs the package

            try:
                self._client = Client(  # type: ignore[no-untyped-call]
                    self.address, timeout=self.timeout, set_as_default=False
                )
            except (OSError, TimeoutError) as exc:
                self._retry_at = time.monotonic() + RETRY_SECONDS
                log.warning(
                    "Dask scheduler %s unreachable (%s); computing in-process for %.0f s",
                    self.address,
                    exc,
                    RETRY_SECONDS,
                )
            return self._client

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        items = list(items)
        client = self.client() if items else None
        if client is None:
            return [fn(item) for item in items]
        # pure=False: equal inputs are still separate tasks (no key collisions between callers).
        futures = client.map(fn, items, pure=False)
        return list(client.gather(futures))

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __repr__(self) -> str:
        return f"Cluster({self.address!r})"


Compute = Local | Cluster
LOCAL = Local()


def executor(address: str) -> Compute:
    """:class:`Cluster` for a scheduler address, :data:`LOCAL` for ``""``."""
    return Cluster(address) if address else LOCAL


def chunked(items: Sequence[T], size: int) -> list[list[T]]:
    """``items`` in consecutive lists of ``size`` (the last may be shorter):
    one task per chunk keeps the per-task overhead of a cluster small."""
    size = max(1, size)
    return [list(items[i : i + size]) for i in range(0, len(items), size)]
