"""api/fast_ingest.py: POST /api/events from a client is answered below Flask
exactly as the Flask route answers it (a browser's request, with an Origin,
still goes through Flask), and whatever it does not handle itself reaches the
route unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import count, event, stored_event, uid

IGNORED = {"date", "content-length", "server", "connection", "keep-alive"}


def answer(r: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
    headers = {k.lower(): v for k, v in r.headers.items() if k.lower() not in IGNORED}
    body = r.json()
    body.pop("ids", None)
    return r.status_code, headers, body


def requests_counted(server: Any, status: str) -> float:
    for family in text_string_to_metric_families(server.get("/metrics").text):
        for sample in family.samples:
            if (
                sample.name == "pulseboard_http_requests_total"
                and sample.labels.get("endpoint") == "/api/events"
                and sample.labels.get("status") == status
            ):
                return float(sample.value)
    return 0.0


def test_a_client_and_a_browser_get_the_same_answer_and_the_same_rows(server: Any) -> None:
    browser = {"Origin": server.url}  # same-origin: allowed, and answered by the Flask route
    ev = event("scan", source="s", value=2.5, attrs={"k": "v"}, ts="2026-01-01T00:00:00+01:00")
    fast = server.post("/api/events", json=[ev | {"uid": uid()}])
    slow = server.post("/api/events", json=[ev | {"uid": uid()}], headers=browser)
    assert answer(fast) == answer(slow) and fast.status_code == 201
    assert answer(fast)[1]["x-frame-options"] == "DENY" and answer(fast)[1]["content-type"] == "application/json"
    a, b = stored_event(server, fast.json()["ids"][0]), stored_event(server, slow.json()["ids"][0])
    assert {k: v for k, v in a.items() if k not in ("id", "uid")} == {
        k: v for k, v in b.items() if k not in ("id", "uid")
    }
    again = (
        server.post("/api/events", json=[ev | {"uid": "same"}]),
        server.post("/api/events", json=[ev | {"uid": "same"}]),
    )
    assert [r.status_code for r in again] == [201, 200] and again[1].json()["duplicates"] == 1
    assert again[0].json()["ids"] == again[1].json()["ids"]


def test_each_request_is_counted_once_in_the_metrics(server: Any) -> None:
    before = requests_counted(server, "201")
    server.post("/api/events", json=event("x"))
    server.post("/api/events", json=event("x"), headers={"Origin": server.url})
    assert requests_counted(server, "201") == before + 2


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b'[{"type": "x", "value": "abc"}]', 422, "event 0: field 'value'"),
        (b'[{"type": "x"}, {"type": "x\\u0000"}]', 422, "event 1: field 'type'"),
        (b'[{"type": "x", "value": NaN}]', 400, "field 'value'"),
        (b"[]", 400, "no events"),
        (b'{"type": "x", "ts": "soon"}', 422, "field 'ts'"),
    ],
)
def test_bodies_it_does_not_take_reach_the_route_and_get_its_errors(
    server: Any, data: bytes, status: int, words: str
) -> None:
    r = server.post("/api/events", data=data, headers={"Content-Type": "application/json"})
    assert r.status_code == status and words in r.json()["error"], r.text
    assert count(server) == 0


def test_a_batch_over_the_limit_reaches_the_route_and_is_refused(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, max_batch=2)
    r = server.post("/api/events", json=[event("x"), event("x"), event("x")])
    assert r.status_code == 413 and "at most 2" in r.json()["error"]
    assert count(server) == 0


def test_with_keys_set_only_a_valid_key_is_let_in(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, api_keys="k1,k2")
    assert server.post("/api/events", json=event("x")).status_code == 401
    assert server.post("/api/events", json=event("x"), headers={"Authorization": "Bearer nope"}).status_code == 401
    assert server.post("/api/events", json=event("x"), headers={"Authorization": "Bearer k2"}).status_code == 201
    assert count(server) == 1


def test_a_host_this_server_does_not_answer_to_is_refused(server: Any) -> None:
    r = server.post("/api/events", json=event("x"), headers={"Host": "evil.example"})
    assert r.status_code == 421 and count(server) == 0


def test_the_rate_limit_takes_one_token_per_request_whichever_path(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, rate_limit=2)  # bursts of 4
    codes = [server.post("/api/events", json=event("x")).status_code for _ in range(3)]
    codes.append(server.post("/api/events", data=b"[]", headers={"Content-Type": "application/json"}).status_code)
    refused = server.post("/api/events", json=event("x"))
    assert codes == [201, 201, 201, 400] and refused.status_code == 429 and "Retry-After" in refused.headers
