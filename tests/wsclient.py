"""A WebSocket test client that keeps the frames sent right after the handshake.

``simple_websocket.Client`` reads the 101 response and takes only its first
event; frames that arrived in the same read (the server's first message, or an
error and a close frame for a refused client) stay parsed but unhandled in
wsproto's buffer, and the reader thread then blocks on the socket. Handling
them before the first read keeps them.
"""

from __future__ import annotations

from typing import Any

import simple_websocket


class Client(simple_websocket.Client):  # type: ignore[misc]
    def _thread(self) -> None:
        self.connected = self._handle_events()
        super()._thread()


def connect(url: str, **kwargs: Any) -> Client:
    return Client(url, **kwargs)
