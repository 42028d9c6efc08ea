"""HTTP to the server over one keep-alive connection (``http.client``).

A failure to connect or a connection dropped before an answer raises
:class:`TransportError`; any HTTP answer, error statuses included, is
returned. A request on a reused connection that the server had already closed
is retried once on a fresh one: the server never saw it.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import socket
import urllib.parse
from typing import Any

USER_AGENT = "pulseboard-client/1.0"


class TransportError(OSError):
    """No HTTP answer: the server is unreachable, or the connection broke."""


@dataclasses.dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def error_message(self) -> str:
        """The server's ``error`` text (Pulseboard's error shape), else the start of the body."""
        try:
            value = self.json()
        except ValueError:
            value = None
        if isinstance(value, dict) and isinstance(value.get("error"), str):
            return f"HTTP {self.status}: {value['error']}"
        return f"HTTP {self.status}: {self.body[:300].decode('utf-8', 'replace')}"

    def retry_after(self) -> float | None:
        raw = self.headers.get("retry-after")
        try:
            return max(0.0, float(raw)) if raw else None
        except ValueError:
            return None


class Transport:
    """Not thread-safe: one per thread that talks to the server."""

    def __init__(self, url: str, api_key: str | None = None, *, timeout: float = 10.0) -> None:
        parsed = urllib.parse.urlsplit(url if "://" in url else "http://" + url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self.scheme = parsed.scheme
        self.host = parsed.hostname
        self.port = parsed.port
        self.prefix = parsed.path.rstrip("/")  # behind a proxy at /pulse/, say
        self.timeout = timeout
        self.headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self._conn: http.client.HTTPConnection | None = None
        self._used = False

    def connection(self, timeout: float | None = None) -> http.client.HTTPConnection:
        """A new connection (not the kept one), e.g. for a long-lived stream."""
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=self.timeout if timeout is None else timeout)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        all_headers = dict(self.headers)
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        for attempt in (1, 2):
            reused = self._conn is not None and self._used
            if self._conn is None:
                self._conn = self.connection()
                self._used = False
            try:
                self._conn.request(method, self.prefix + path, body=body, headers=all_headers)
                resp = self._conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if reused and attempt == 1:
                    continue  # the server closed an idle keep-alive connection
                raise TransportError(f"{type(exc).__name__}: {exc}") from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                reason = "timed out" if isinstance(exc, socket.timeout) else f"{type(exc).__name__}: {exc}"
                raise TransportError(f"{self.url}: {reason}") from None
            self._used = True
            if resp.will_close:
                self.close()
            return Answer(resp.status, data, {k.lower(): v for k, v in resp.getheaders()})
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
