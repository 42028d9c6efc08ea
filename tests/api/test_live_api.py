"""/ws and /api/stream: protocol, topics, resume, overflow, shutdown."""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Any

import requests
import simple_websocket

from live.broker import Broker, parse_topics
from tests import wsclient


def connect(server: Any) -> simple_websocket.Client:
    return wsclient.connect(server.url.replace("http://", "ws://") + "/ws")


def receive(ws: simple_websocket.Client, timeout: float = 10) -> dict[str, Any]:
    raw = ws.receive(timeout=timeout)
    assert raw is not None, "no message within the timeout"
    return json.loads(raw)  # type: ignore[no-any-return]


def collect(ws: simple_websocket.Client, count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while len(events) < count:
        message = receive(ws)
        assert message["type"] == "realtime_update"
        events += message["events"]
    return events


def test_it_sends_initial_data_then_frames_of_new_events(sqlite_server: Any) -> None:
    sqlite_server.post("/api/events", json=[{"type": "old"}])
    ws = connect(sqlite_server)
    try:
        ws.send(json.dumps({"type": "subscribe", "topics": ["all"]}))
        initial = receive(ws)
        assert initial["type"] == "initial_data"
        assert [e["type"] for e in initial["events"]] == ["old"]
        assert initial["kpis"]["events_today"] == 1
        ids = sqlite_server.post("/api/events", json=[{"type": "new", "value": i} for i in range(3)]).json()["ids"]
        events = collect(ws, 3)
        assert [e["id"] for e in events] == ids
        assert [e["value"] for e in events] == [0, 1, 2]
    finally:
        ws.close()


def test_a_burst_arrives_once_in_order_in_numbered_frames(sqlite_server: Any) -> None:
    ws = connect(sqlite_server)
    try:
        ws.send(json.dumps({"type": "subscribe", "topics": ["all"]}))
        initial = receive(ws)
        assert initial["type"] == "initial_data" and initial["events"] == []
        posted: list[int] = []

        def send() -> None:
            with requests.Session() as http:
                for k in range(50):
                    r = http.post(
                        sqlite_server.url + "/api/events",
                        json=[{"type": "b", "value": k * 20 + j} for j in range(20)],
                        timeout=30,
                    )
                    posted.extend(r.json()["ids"])

        sender = threading.Thread(target=send)
        sender.start()
        frames: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        while len(events) < 1000:
            frames.append(receive(ws))
            events += frames[-1]["events"]
        sender.join()
        # Every stored event exactly once, in id order, with what was sent.
        assert len(posted) == 1000
        assert [e["id"] for e in events] == posted
        assert [e["value"] for e in events] == list(range(1000))
        # Each frame: numbered 1, 2, 3, ... with its events' count and its last id.
        assert [f["type"] for f in frames] == ["realtime_update"] * len(frames)
        assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
        assert all(f["count"] == len(f["events"]) > 0 for f in frames)
        assert all(f["last_id"] == f["events"][-1]["id"] for f in frames)
        # Frames do not overlap: each starts after the one before ended.
        assert all(later["events"][0]["id"] > earlier["last_id"] for earlier, later in zip(frames, frames[1:]))
        # Nothing repeated after the burst: the next frame holds only the next event.
        (end,) = sqlite_server.post("/api/events", json=[{"type": "end"}]).json()["ids"]
        after = receive(ws)
        assert after["seq"] == len(frames) + 1 and [e["id"] for e in after["events"]] == [end]
    finally:
        ws.close()


def test_topics_filter_what_a_client_receives(sqlite_server: Any) -> None:
    ws = connect(sqlite_server)
    try:
        ws.send(json.dumps({"type": "subscribe", "topics": ["source:scanner"]}))
        assert receive(ws)["type"] == "initial_data"
        sqlite_server.post(
            "/api/events", json=[{"type": "x", "source": "other"}, {"type": "scan", "source": "scanner"}]
        )
        events = collect(ws, 1)
        assert [e["source"] for e in events] == ["scanner"]
    finally:
        ws.close()


def test_it_rejects_bad_messages_and_topics_with_an_error(sqlite_server: Any) -> None:
    ws = connect(sqlite_server)
    try:
        ws.send("not json")
        assert receive(ws) == {
            "type": "error",
            "message": "expected a JSON message of type subscribe, unsubscribe or request_update",
        }
        ws.send(json.dumps({"type": "subscribe", "topics": ["planet:mars"]}))
        error = receive(ws)
        assert error["type"] == "error" and "planet" in error["message"]
    finally:
        ws.close()


def test_request_update_after_an_id_replays_what_came_after(sqlite_server: Any) -> None:
    ids = sqlite_server.post("/api/events", json=[{"type": "e", "value": i} for i in range(5)]).json()["ids"]
    ws = connect(sqlite_server)
    try:
        ws.send(json.dumps({"type": "subscribe", "topics": ["all"], "after_id": ids[1]}))
        initial = receive(ws)
        assert [e["id"] for e in initial["events"]] == ids[2:]
    finally:
        ws.close()


def test_a_full_queue_tells_the_client_to_resync_without_blocking_others() -> None:
    broker = Broker(queue_size=10)
    slow = broker.subscribe(parse_topics(["all"]))
    fast = broker.subscribe(parse_topics(["all"]))
    broker.publish([{"id": i, "type": "t"} for i in range(1, 8)])
    assert fast.take(0)[0] and slow.take(0)[0]
    broker.publish([{"id": i, "type": "t"} for i in range(8, 20)])
    events, overflowed = slow.take(0)
    assert overflowed and events == []
    broker.publish([{"id": 20, "type": "t"}])
    assert [e["id"] for e in slow.take(0)[0]] == [20]


def test_sse_resumes_after_last_event_id_without_loss(sqlite_server: Any) -> None:
    ids = sqlite_server.post("/api/events", json=[{"type": "e", "value": i} for i in range(10)]).json()["ids"]
    with requests.get(
        sqlite_server.url + "/api/stream", headers={"Last-Event-ID": str(ids[3])}, stream=True, timeout=10
    ) as r:
        assert r.headers["Content-Type"].startswith("text/event-stream")
        seen: list[int] = []
        data: list[dict[str, Any]] = []
        lines = r.iter_lines(decode_unicode=True)
        for line in lines:
            if line.startswith("id: "):
                seen.append(int(line[4:]))
            elif line.startswith("data: "):
                data.append(json.loads(line[6:]))
                if len(data) == 6:
                    break
        more = sqlite_server.post("/api/events", json=[{"type": "later"}]).json()["ids"]
        for line in lines:
            if line.startswith("id: "):
                seen.append(int(line[4:]))
                break
    assert seen == ids[4:] + more
    assert [d["value"] for d in data] == [4, 5, 6, 7, 8, 9]


def test_sse_rejects_a_bad_topic_naming_the_parameter(sqlite_server: Any) -> None:
    r = sqlite_server.get("/api/stream?topics=bogus")
    assert r.status_code == 400
    assert "topics" in r.json()["error"]


def test_stopping_the_server_leaves_no_live_thread_behind(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url)
    ws = connect(server)
    ws.send(json.dumps({"type": "subscribe", "topics": ["all"]}))
    receive(ws)
    threads = list(server.services.live.tail._threads)
    assert threads and all(t.is_alive() for t in threads)
    server.stop()
    with contextlib.suppress(simple_websocket.ConnectionClosed):
        assert ws.receive(timeout=5) is None  # the server closed the socket
    assert not ws.connected
    assert not any(t.is_alive() for t in threads)
    assert server.services.live.broker.client_count == 0


def test_the_tool_usage_stream_sends_per_tool_history_every_second(sqlite_server: Any) -> None:
    sqlite_server.post(
        "/api/events",
        json=[
            {"type": "borrow", "source": "tools", "entity": "MATLAB", "user": "ann", "attrs": {"overage": True}},
            {"type": "borrow", "source": "tools", "entity": "MATLAB", "user": "bob"},
        ],
    )
    with requests.get(sqlite_server.url + "/realtime/stream?source=tools", stream=True, timeout=10) as r:
        for line in r.iter_lines(decode_unicode=True):
            if line.startswith("data: "):
                body = json.loads(line[6:])
                break
    assert body["tools"] == ["MATLAB"]
    [point] = body["tool_metrics"]["MATLAB"]
    assert point["count"] == 2 and point["users"] == ["ann", "bob"] and point["overage_count"] == 1


def test_the_script_runner_socket_pushes_metrics(sqlite_server: Any) -> None:
    sqlite_server.post(
        "/api/executions", json={"script": "etl.py", "duration_ms": 900, "exit_code": 0, "metrics": {"rows": 7}}
    )
    ws = wsclient.connect(sqlite_server.url.replace("http://", "ws://") + "/ws/metrics")
    try:
        message = receive(ws)
    finally:
        ws.close()
    assert message["type"] == "metrics_update"
    assert [s["script"] for s in message["scripts"]] == ["etl.py"]
    assert message["recent_executions"][0]["metrics"] == {"rows": 7.0}


def test_with_two_workers_every_client_gets_every_event_once(process_server: Any) -> None:
    server = process_server("--workers", "2")
    clients = [wsclient.connect(server.url.replace("http://", "ws://") + "/ws") for _ in range(6)]
    try:
        for ws in clients:
            ws.send(json.dumps({"type": "subscribe", "topics": ["all"]}))
            assert receive(ws)["type"] == "initial_data"
        ids: list[int] = []
        with requests.Session() as http:
            for k in range(10):  # spread over both workers' connections
                ids += http.post(
                    server.url + "/api/events", json=[{"type": "w", "value": k * 5 + j} for j in range(5)], timeout=30
                ).json()["ids"]
        for ws in clients:
            assert [e["id"] for e in collect(ws, len(ids))] == ids
    finally:
        for ws in clients:
            ws.close()


def test_overlapping_frames_repeat_the_frames_before_them_and_number_initial_data(sqlite_server: Any) -> None:
    ws = connect(sqlite_server)
    try:
        ws.send(json.dumps({"type": "subscribe", "topics": ["all"], "overlap": 3}))
        initial = receive(ws)
        assert (initial["type"], initial["seq"]) == ("initial_data", 1)  # counted, so a skipped one shows
        frames = []
        ids: list[int] = []
        for k in range(4):  # one event a frame: each POST waits for its frame
            ids += sqlite_server.post("/api/events", json=[{"type": "o", "value": k}]).json()["ids"]
            frames.append(receive(ws))
        assert [f["seq"] for f in frames] == [2, 3, 4, 5]
        assert [f["from_seq"] for f in frames] == [2, 2, 2, 3]  # at most 3 frames: its own and 2 before
        assert [[e["id"] for e in f["events"]] for f in frames] == [ids[:1], ids[:2], ids[:3], ids[1:4]]
        assert [f["count"] for f in frames] == [1, 2, 3, 3] and frames[-1]["last_id"] == ids[-1]
        # A replay starts the window afresh: the next frame does not reach back past it.
        ws.send(json.dumps({"type": "request_update", "after_id": ids[-1]}))
        replay = receive(ws)
        assert (replay["type"], replay["seq"], replay["events"]) == ("initial_data", 6, [])
        new = sqlite_server.post("/api/events", json=[{"type": "o", "value": 9}]).json()["ids"]
        after = receive(ws)
        assert (after["seq"], after["from_seq"], [e["id"] for e in after["events"]]) == (7, 7, new)
    finally:
        ws.close()


def test_a_bad_overlap_is_an_error_naming_it(sqlite_server: Any) -> None:
    ws = connect(sqlite_server)
    try:
        ws.send(json.dumps({"type": "subscribe", "topics": ["all"], "overlap": 99}))
        message = receive(ws)
        assert message["type"] == "error" and message["message"].startswith("overlap:")
    finally:
        ws.close()
