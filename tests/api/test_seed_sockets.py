"""The replaced dashboards' socket events (live/rooms.py, live/socketio.py):
a macro session's ``initial_data`` and ``realtime_update`` and the admin
room's ``status`` and ``live_update``, on ``/ws`` as JSON and over Socket.IO
(websocket and polling), under the sign-in policy and the live-client cap."""

from __future__ import annotations

import itertools
import json
import queue
import time
from typing import Any

import pytest
import requests
import socketio

from tests import wsclient
from tests.conftest import wait_until

_names = itertools.count(1)
TRANSPORTS = ["websocket", "polling"]


def new_session(prefix: str) -> str:
    return f"sess_{prefix}_{next(_names)}_{time.monotonic_ns()}"


def interaction(session_id: str, boxes: float, ms: float, button: str = "Num5", **extra: Any) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "interaction_type": "macro_execution",
        "button_key": button,
        "execution_time_ms": ms,
        "total_boxes": boxes,
        **extra,
    }


def post_interaction(server: Any, body: dict[str, Any]) -> int:
    r = server.post("/ingest/interaction", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["interaction_id"])


class WsClient:
    """``/ws`` with JSON messages."""

    def __init__(self, server: Any) -> None:
        self.ws = wsclient.connect(server.url.replace("http://", "ws://") + "/ws")

    def send(self, message: Any) -> None:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def emit(self, kind: str, payload: dict[str, Any] | None = None) -> None:
        self.send({"type": kind, **(payload or {})})

    def next(self, timeout: float = 10) -> dict[str, Any]:
        raw = self.ws.receive(timeout=timeout)
        assert raw is not None, "no message within the timeout"
        return json.loads(raw)  # type: ignore[no-any-return]

    def close(self) -> None:
        self.ws.close()


class SioClient:
    """python-socketio's client: each event the server emits, as the message it carries."""

    def __init__(self, server: Any, transport: str, headers: dict[str, str] | None = None) -> None:
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.refusal: dict[str, Any] | None = None
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", self._received)
        self.client.on("connect_error", self._refused)
        self.client.connect(server.url, transports=[transport], headers=headers or {}, wait_timeout=10)

    def _received(self, event: str, data: Any = None) -> None:
        assert isinstance(data, dict) and data["type"] == event, (event, data)
        self.messages.put(data)

    def _refused(self, data: Any = None) -> None:
        self.refusal = data

    def emit(self, kind: str, payload: Any = None) -> None:
        if payload is None:
            self.client.emit(kind)  # as an unchanged page does: socket.emit('join_admin_room')
        else:
            self.client.emit(kind, payload)

    def next(self, timeout: float = 10) -> dict[str, Any]:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no message within the timeout") from None

    def close(self) -> None:
        # python-engineio's polling client skips sending its close packet when it
        # disconnects while a POST is in flight (then the server's poll is held until
        # the next ping): let what was emitted go out first.
        self.client.eio.queue.join()
        self.client.disconnect()


def connect(server: Any, transport: str) -> WsClient | SioClient:
    return WsClient(server) if transport == "ws" else SioClient(server, transport)


def updates_until(client: WsClient | SioClient, count: int) -> list[dict[str, Any]]:
    """``realtime_update`` messages until they hold ``count`` interactions."""
    frames: list[dict[str, Any]] = []
    while sum(f["count"] for f in frames) < count:
        message = client.next()
        assert message["type"] == "realtime_update", message
        frames.append(message)
    return frames


@pytest.mark.parametrize("transport", ["ws", *TRANSPORTS])
def test_a_joined_session_gets_its_data_then_its_new_interactions_with_metrics(
    shared_server: Any, transport: str
) -> None:
    session_id, other = new_session("join"), new_session("other")
    assert shared_server.post("/session/start", json={"session_id": session_id, "username": "ann"}).status_code == 201
    first = post_interaction(shared_server, interaction(session_id, 5, 1000, degradation_counts={"smudge": 1}))
    client = connect(shared_server, transport)
    try:
        client.emit("join_session", {"session_id": session_id})
        initial = client.next()
        assert initial["type"] == "initial_data" and initial["session_id"] == session_id
        # The metrics as GET /metrics/<session_id> gives them, the interactions as GET /interactions does.
        expected = shared_server.get(f"/metrics/{session_id}").json()
        assert initial["metrics"]["total_boxes"] == expected["total_boxes"] == 5
        assert initial["metrics"]["total_executions"] == 1 and initial["metrics"]["user"] == "ann"
        assert initial["metrics"]["execution_time"] == expected["execution_time"]
        assert initial["metrics"]["categories"] == expected["categories"]
        listed = shared_server.get(f"/interactions/{session_id}").json()["interactions"]
        assert [e["id"] for e in initial["interactions"]] == [e["id"] for e in listed]
        assert initial["interactions"][0]["id"] == first and initial["interactions"][0]["type"] == "macro_execution"
        assert initial["last_id"] >= first

        post_interaction(shared_server, interaction(other, 100, 10))  # another session's: never sent here
        ids = [
            post_interaction(shared_server, interaction(session_id, 3, 500, button="Num1")),
            post_interaction(shared_server, interaction(session_id, 4, 1500, degradation_counts={"glare": 2})),
        ]
        frames = updates_until(client, 2)
        received = [e for f in frames for e in f["interactions"]]
        assert [e["id"] for e in received] == ids
        assert [(e["entity"], e["value"], e["duration_ms"]) for e in received] == [
            ("Num1", 3.0, 500.0),
            ("Num5", 4.0, 1500.0),
        ]
        assert all(f["session_id"] == session_id and f["last_id"] == f["interactions"][-1]["id"] for f in frames)
        metrics = frames[-1]["metrics"]
        assert metrics["total_boxes"] == 12 and metrics["total_executions"] == 3
        assert metrics["execution_time"]["min"] == 500 and metrics["execution_time"]["max"] == 1500
        assert {b["entity"]: b["count"] for b in metrics["buttons"]} == {"Num5": 2, "Num1": 1}
        assert {c["category"]: c["count"] for c in metrics["categories"]} == {"smudge": 1, "glare": 2}
        assert metrics["total_boxes"] == shared_server.get(f"/metrics/{session_id}").json()["total_boxes"]

        # request_update: the session's data again, complete.
        client.emit("request_update")
        again = client.next()
        assert again["type"] == "initial_data" and again["metrics"]["total_boxes"] == 12
        listed = shared_server.get(f"/interactions/{session_id}").json()["interactions"]
        assert [e["id"] for e in again["interactions"]] == [e["id"] for e in listed]
        assert [e["id"] for e in listed[:3]] == [*reversed(ids), first]
    finally:
        client.close()


@pytest.mark.parametrize("transport", ["ws", *TRANSPORTS])
def test_leaving_the_session_stops_its_updates(shared_server: Any, transport: str) -> None:
    session_id = new_session("leave")
    leaving, staying = connect(shared_server, transport), WsClient(shared_server)
    try:
        for client in (leaving, staying):
            client.emit("join_session", {"session_id": session_id})
            initial = client.next()
            assert initial["type"] == "initial_data" and initial["metrics"] is None  # no event yet
            assert initial["interactions"] == []
        first = post_interaction(shared_server, interaction(session_id, 2, 100))
        for client in (leaving, staying):
            assert [e["id"] for f in updates_until(client, 1) for e in f["interactions"]] == [first]
        leaving.emit("leave_session")
        second = post_interaction(shared_server, interaction(session_id, 2, 100))
        # Once the member still joined has it, the hub has handed it to every member.
        assert [e["id"] for f in updates_until(staying, 1) for e in f["interactions"]] == [second]
        leaving.emit("request_live_update")  # answered at once: nothing of the session came before it
        answer = leaving.next()
        assert answer["type"] == "error" and "join_admin_room" in answer["message"]
        if transport == "ws":
            # Out of the session and with no topics, request_update is Pulseboard's again.
            leaving.emit("request_update")
            pulse = leaving.next()
            assert pulse["type"] == "initial_data" and "kpis" in pulse and "session_id" not in pulse
    finally:
        leaving.close()
        staying.close()


def test_request_update_follows_the_topics_once_a_session_socket_subscribes(shared_server: Any) -> None:
    session_id = new_session("both")
    client = WsClient(shared_server)
    try:
        client.emit("join_session", {"session_id": session_id})
        assert client.next()["type"] == "initial_data"
        client.emit("subscribe", {"topics": [f"session:{session_id}"]})
        subscribed = client.next()
        assert subscribed["type"] == "initial_data" and subscribed["topics"] == [f"session:{session_id}"]
        client.emit("request_update")
        pulse = client.next()
        assert pulse["type"] == "initial_data" and "kpis" in pulse and "session_id" not in pulse
    finally:
        client.close()


def seed_admin_data(server: Any) -> None:
    r = server.post(
        "/api/events",
        json=[
            {"type": "payment", "value": 10.0, "status": "completed", "user": "ann"},
            {"type": "payment", "value": 20.0, "status": "completed", "user": "bob"},
            {"type": "payment", "value": 5.0, "status": "failed", "user": "bob"},
            {"type": "request", "entity": "/api/convert", "duration_ms": 100.0, "status": "200"},
            {"type": "request", "entity": "/api/convert", "duration_ms": 300.0, "status": "200"},
            {"type": "cpu_percent", "source": "vectorcraft", "entity": "web-1", "value": 42.5},
            {"type": "memory_percent", "source": "vectorcraft", "entity": "web-1", "value": 61.0},
            {"type": "disk_percent", "source": "vectorcraft", "entity": "web-1", "value": 70.0},
        ],
    )
    assert r.status_code in (200, 201), r.text


def assert_live_update(server: Any, message: dict[str, Any], *, completed: int) -> None:
    assert message["type"] == "live_update" and message["room"] == "admin"
    data = message["data"]
    assert message["timestamp"] == data["timestamp"]
    # What GET /admin/api/metrics/live answers.
    route = server.get("/admin/api/metrics/live").json()
    assert set(data) == set(route) >= {"system", "response_times", "active_users", "transactions"}
    for key in ("response_times", "active_users", "transactions"):
        assert data[key] == route[key], key
    system = data["system"]
    assert (system["host"], system["cpu_percent"], system["memory_percent"], system["disk_percent"]) == (
        "web-1",
        42.5,
        61.0,
        70.0,
    )
    times = data["response_times"]
    assert (times["requests"], times["avg_ms"], times["max_ms"]) == (2, 200.0, 300.0)
    [endpoint] = times["endpoints"]
    assert endpoint["endpoint"] == "/api/convert" and endpoint["requests"] == 2
    assert data["active_users"] == 2
    flow = data["transactions"]
    assert flow["completed"]["count"] == completed and flow["failed"] == {"count": 1, "amount": 5.0}
    assert flow["total"]["count"] == completed + 1
    assert flow["success_rate"] == round(100 * completed / (completed + 1), 2)


@pytest.mark.parametrize("transport", ["ws", *TRANSPORTS])
def test_the_admin_room_gets_status_and_live_updates(server: Any, transport: str) -> None:
    seed_admin_data(server)
    client = connect(server, transport)
    try:
        client.emit("join_admin_room")
        status = client.next()
        assert status == {
            "type": "status",
            "status": "joined",
            "room": "admin",
            "message": "joined the admin room: live updates every 5 s",
            "interval_seconds": 5.0,
        }
        assert_live_update(server, client.next(), completed=2)
        # Asked: at once, with what was stored meanwhile.
        assert server.post("/api/events", json={"type": "payment", "value": 7.5, "status": "completed"}).ok
        client.emit("request_live_update")
        asked = client.next()
        sent_at = time.monotonic()
        assert_live_update(server, asked, completed=3)
        # Unasked: the next one after 5 s.
        pushed = client.next(timeout=15)
        assert pushed["type"] == "live_update" and time.monotonic() - sent_at >= 4.5
        client.emit("leave_admin_room")
        left = client.next()
        assert (left["type"], left["status"], left["room"]) == ("status", "left", "admin")
        client.emit("request_live_update")
        error = client.next()
        assert error["type"] == "error" and "join_admin_room" in error["message"]
    finally:
        client.close()


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({}, "None"),
        ({"session_id": 42}, "42"),
        ({"session_id": ""}, "''"),
        ({"session_id": "no spaces allowed"}, "'no spaces allowed'"),
        ({"session_id": "x" * 101}, "1 to 100"),
    ],
)
def test_a_bad_session_id_gets_an_error_naming_it_on_ws(
    shared_server: Any, payload: dict[str, Any], named: str
) -> None:
    client = WsClient(shared_server)
    try:
        client.emit("join_session", payload)
        error = client.next()
        assert error["type"] == "error" and error["event"] == "join_session"
        assert "'session_id'" in error["message"] and named in error["message"]
        # The socket goes on: a good join is answered.
        client.emit("join_session", {"session_id": new_session("after")})
        assert client.next()["type"] == "initial_data"
        client.send("not json")
        assert client.next()["type"] == "error"
    finally:
        client.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_bad_socketio_events_get_an_error_naming_what_is_wrong(shared_server: Any, transport: str) -> None:
    client = SioClient(shared_server, transport)
    try:
        client.emit("join_session", "sess_as_a_bare_string")
        error = client.next()
        assert error["type"] == "error" and "'session_id'" in error["message"]
        client.emit("request_update")
        error = client.next()
        assert error["event"] == "request_update" and "join_session" in error["message"]
        client.emit("subscribe", {"topics": ["all"]})
        error = client.next()
        assert error["message"].startswith("unknown event 'subscribe'; send one of join_admin_room, join_session")
        client.emit("join_session", {"session_id": new_session("ok")})
        assert client.next()["type"] == "initial_data"
    finally:
        client.close()


def test_a_socketio_connection_counts_against_the_live_client_cap(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, max_ws_clients=1)
    first = SioClient(server, "websocket")
    try:
        assert server.services.live.broker.client_count == 1
        with pytest.raises(socketio.exceptions.ConnectionError):
            SioClient(server, "polling")
        ws = WsClient(server)  # /ws is refused too while the Socket.IO client holds the place
        refused = ws.next()
        assert refused["type"] == "error" and refused["code"] == "too_many_clients"
    finally:
        first.close()
    wait_until(lambda: server.services.live.broker.client_count == 0, message="the place freed")
    again = SioClient(server, "polling")
    try:
        again.emit("join_session", {"session_id": new_session("cap")})
        assert again.next()["type"] == "initial_data"
    finally:
        again.close()


def test_a_refused_socketio_connection_says_why(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, max_ws_clients=1)
    holder = SioClient(server, "websocket")
    client = socketio.Client(reconnection=False)
    refusals: list[Any] = []
    client.on("connect_error", lambda data=None: refusals.append(data))
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(server.url, transports=["polling"], wait_timeout=10)
    finally:
        holder.close()
    [refusal] = refusals
    assert refusal["message"] == "too many live clients (limit 1); try again later"
    assert refusal["data"]["code"] == "too_many_clients" and refusal["data"]["retry_after"] == 5


KEY = "socket-key-1"


def test_with_sign_in_a_socketio_connection_needs_a_key_or_a_session(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, auth=True, api_keys=KEY)
    for transport in TRANSPORTS:
        client = socketio.Client(reconnection=False)
        refusals: list[Any] = []
        client.on("connect_error", lambda data=None, seen=refusals: seen.append(data))
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(server.url, transports=[transport], wait_timeout=10)
        assert refusals and refusals[0]["data"]["status"] == 401, refusals
        assert "API key" in refusals[0]["message"]
        assert server.services.live.broker.client_count == 0
        keyed = SioClient(server, transport, headers={"Authorization": f"Bearer {KEY}"})
        try:
            keyed.emit("join_session", {"session_id": new_session("key")})
            assert keyed.next()["type"] == "initial_data"
        finally:
            keyed.close()
    with pytest.raises(socketio.exceptions.ConnectionError):
        SioClient(server, "websocket", headers={"Authorization": "Bearer wrong"})
    assert requests.get(server.url + "/health", timeout=10).status_code == 200


def test_under_gunicorn_both_transports_carry_a_session(process_server: Any) -> None:
    server = process_server()
    http = requests.Session()

    class Posting:
        url = server.url

        def post(self, path: str, **kw: Any) -> requests.Response:
            return http.post(server.url + path, timeout=30, **kw)

    session_id = new_session("gunicorn")
    clients = [SioClient(Posting(), transport) for transport in TRANSPORTS] + [WsClient(Posting())]
    try:
        for client in clients:
            client.emit("join_session", {"session_id": session_id})
            assert client.next()["type"] == "initial_data"
        ids = [post_interaction(Posting(), interaction(session_id, k + 1, 100 * (k + 1))) for k in range(3)]
        for client in clients:
            frames = updates_until(client, 3)
            assert [e["id"] for f in frames for e in f["interactions"]] == ids
            assert frames[-1]["metrics"]["total_boxes"] == 6
        clients[0].emit("join_admin_room")
        assert clients[0].next()["status"] == "joined"
        assert clients[0].next()["type"] == "live_update"
    finally:
        for client in clients:
            client.close()
        http.close()
