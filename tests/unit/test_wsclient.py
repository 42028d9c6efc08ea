"""The WebSocket test client keeps frames that arrive in the same read as the 101 response."""

from __future__ import annotations

import socket
import threading

from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from tests import wsclient


def test_frames_sent_with_the_handshake_are_received() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            ws = WSConnection(ConnectionType.SERVER)
            event = None
            while not isinstance(event, Request):
                ws.receive_data(conn.recv(4096))
                event = next(ws.events(), None)
            # One write: the 101, a message and a close frame reach the client in one read.
            conn.sendall(
                ws.send(AcceptConnection()) + ws.send(TextMessage(data="hello")) + ws.send(CloseConnection(code=1013))
            )
            conn.recv(100)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        client = wsclient.connect(f"ws://127.0.0.1:{port}/")
        assert client.receive(timeout=10) == "hello"
        client.thread.join(timeout=10)
        assert not client.connected and client.close_reason == 1013
    finally:
        listener.close()
        server.join(timeout=10)
