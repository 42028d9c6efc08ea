"""Hostile input, on SQLite and PostgreSQL: bodies too large, too deep, not
UTF-8, with NaN or Infinity, strings and keys past the column limits,
timestamps in year 1 and 9999, SQL and HTML in every string field, and read
parameters asking for too much.

Each case asserts the exact status, that the JSON error names the field or
parameter, and that nothing of a rejected request was written.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from data.models import EVENTS
from tests.factories import JSON, event, stored_events, totals, uid

HOSTILE = (
    "'; DROP TABLE events; --",
    '" OR 1=1 --',
    "Robert'); DELETE FROM rollups WHERE ('1'='1",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "javascript:alert(3)",
    '"><svg onload=alert(4)>',
    "{{7*7}} ${7*7} %s %n \\x00 \\u0000",  # backslashes as text (a real NUL is refused: 422)
)
STRING_FIELDS = ("source", "type", "entity", "user", "session_id", "execution_id", "status", "message", "uid")


def post_raw(server: Any, data: bytes, path: str = "/api/events") -> requests.Response:
    return server.post(path, data=data, headers=JSON)  # type: ignore[no-any-return]


def refused(server: Any, response: requests.Response, status: int, *names: str) -> dict[str, Any]:
    """Assert a JSON error with ``status`` whose message names each of ``names``."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body: dict[str, Any] = response.json()
    for name in names:
        assert name in body["error"], body
    return body


# ------------------------------------------------------------------ bodies


def test_a_body_over_max_body_is_413_json_and_stores_nothing(shared_server: Any) -> None:
    before = totals(shared_server)
    limit = shared_server.services.settings.max_body_bytes
    events = [event("big", message="m" * 9000, uid=uid()) for _ in range(limit // 9000 + 2)]
    data = json.dumps(events).encode()
    assert len(data) > limit
    refused(shared_server, post_raw(shared_server, data), 413, "request body larger than 5 MB")
    assert totals(shared_server) == before


def test_attrs_nested_10000_levels_is_400_not_a_recursion_error(shared_server: Any) -> None:
    before = totals(shared_server)
    data = ('{"type": "deep", "attrs": ' + '{"a": ' * 10_000 + "1" + "}" * 10_000 + "}").encode()
    body = refused(shared_server, post_raw(shared_server, data), 400, "malformed JSON")
    assert "depth limit exceeded" in body["error"]
    assert totals(shared_server) == before
    # Under the parser's limit, attrs still has its own: 6 levels is too deep, naming the field.
    six = {"type": "deep", "attrs": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}}
    body = refused(shared_server, shared_server.post("/api/events", json=six), 422, "field 'attrs'", "5 levels")
    assert body["errors"][0]["field"] == "attrs"
    assert totals(shared_server) == before


@pytest.mark.parametrize(
    "data",
    [b'{"type": "\xff\xfe"}', b'{"type": "ok", "message": "caf\xe9"}', b'\xef\xbb\xbf\x80{"type": "x"}'],
    ids=["ff-fe", "latin1", "bom-then-garbage"],
)
def test_invalid_utf8_is_400_and_stores_nothing(shared_server: Any, data: bytes) -> None:
    before = totals(shared_server)
    body = refused(shared_server, post_raw(shared_server, data), 400, "malformed JSON")
    assert "utf-8" in body["error"].lower()
    assert totals(shared_server) == before


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize(
    ("template", "index", "field"),
    [
        ('{{"type": "x", "value": {c}}}', None, "value"),
        ('[{{"type": "x"}}, {{"type": "x", "duration_ms": {c}}}]', 1, "duration_ms"),
        ('{{"events": [{{"type": "x", "attrs": {{"k": [1, {c}]}}}}]}}', 0, "attrs.k.1"),
    ],
    ids=["value", "batch-duration", "attrs"],
)
def test_nan_and_infinity_are_400_naming_the_field(
    shared_server: Any, constant: str, template: str, index: int | None, field: str
) -> None:
    """Python's json module reads NaN and Infinity; JSON has no such numbers.
    Pulseboard refuses them (it does not store null in their place)."""
    before = totals(shared_server)
    data = template.format(c=constant).encode()
    body = refused(shared_server, post_raw(shared_server, data), 400, f"field '{field}'", constant)
    error = {"field": field, "message": f"{constant} is not a JSON number; send a finite number or null"}
    assert body["errors"] == [error if index is None else {"index": index} | error]
    assert totals(shared_server) == before


def test_nan_in_an_execution_metric_is_400_naming_it(shared_server: Any) -> None:
    before = totals(shared_server)
    data = b'{"script": "etl.py", "metrics": {"rows": NaN}}'
    refused(shared_server, post_raw(shared_server, data, "/api/executions"), 400, "field 'metrics.rows'", "NaN")
    assert totals(shared_server) == before


# ------------------------------------------------------------------ strings


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("source", 100),
        ("type", 100),
        ("entity", 200),
        ("user", 200),
        ("session_id", 100),
        ("execution_id", 100),
        ("status", 50),
        ("uid", 100),
        ("message", 10_000),
    ],
)
def test_a_string_over_its_column_limit_is_422_naming_the_field(shared_server: Any, field: str, limit: int) -> None:
    """On PostgreSQL the columns enforce these lengths: the API refuses first, so never a 500."""
    before = totals(shared_server)
    good = event("long", **{field: "x" * limit}) if field != "type" else event("x" * limit)
    too_long = event("long", **{field: "x" * (limit + 1)}) if field != "type" else event("x" * (limit + 1))
    r = shared_server.post("/api/events", json=[good, too_long])
    body = refused(shared_server, r, 422, f"field '{field}'", "nothing was stored")
    assert body["errors"][0] == {
        "index": 1,
        "field": field,
        "message": f"String should have at most {limit} characters",
    }
    assert totals(shared_server) == before
    # Exactly at the limit fits, on both databases.
    stored = shared_server.post("/api/events", json=good)
    assert stored.status_code == 201, stored.text


def test_a_huge_attrs_key_is_422_naming_attrs_and_a_long_one_is_stored_verbatim(shared_server: Any) -> None:
    before = totals(shared_server)
    r = shared_server.post("/api/events", json=event("keys", attrs={"k" * 20_000: 1}))
    refused(shared_server, r, 422, "field 'attrs'", "16384 bytes")
    assert totals(shared_server) == before
    key, marker = "k" * 5000 + "<script>alert(1)</script>", uid()
    r = shared_server.post("/api/events", json=event("keys", attrs={key: "v" * 5000}, uid=marker))
    assert r.status_code == 201, r.text
    assert stored_events(shared_server, EVENTS.c.uid == marker)[0]["attrs"] == {key: "v" * 5000}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/executions", {"script": "s" * 201}, "script"),
        ("/api/components/camera", {"status": "online", "detail": "d" * 10_001}, "detail"),
        ("/api/components/camera", {"status": "s" * 51}, "status"),
        ("/api/sessions", {"username": "u" * 201}, "username"),
        ("/api/sessions", {"id": "i" * 101}, "id"),
    ],
    ids=["execution-script", "component-detail", "component-status", "session-user", "session-id"],
)
def test_record_strings_over_their_limits_are_422_naming_the_field(
    shared_server: Any, path: str, body: dict[str, Any], field: str
) -> None:
    before = totals(shared_server)
    method = shared_server.put if path.startswith("/api/components") else shared_server.post
    refused(shared_server, method(path, json=body), 422, f"field '{field}'")
    assert totals(shared_server) == before


def test_a_component_name_over_100_characters_is_400_naming_it(shared_server: Any) -> None:
    before = totals(shared_server)
    refused(
        shared_server, shared_server.put("/api/components/" + "c" * 101, json={"status": "on"}), 400, "component name"
    )
    assert totals(shared_server) == before


# ------------------------------------------------------------------ timestamps


@pytest.mark.parametrize(
    "ts",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-05:00",
        -1,
        1e20,
        -1e20,
        "1e400",
    ],
    ids=[
        "year-1",
        "year-1-east",
        "year-9999",
        "year-9999-west",
        "epoch-negative",
        "epoch-1e20",
        "epoch-minus-1e20",
        "huge-string",
    ],
)
def test_timestamps_out_of_range_are_422_naming_ts(shared_server: Any, ts: Any) -> None:
    before = totals(shared_server)
    r = shared_server.post("/api/events", json=[event("ok"), event("when", ts=ts)])
    body = refused(shared_server, r, 422, "event 1: field 'ts'", "nothing was stored")
    assert body["errors"][0]["field"] == "ts" and body["errors"][0]["index"] == 1
    assert totals(shared_server) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/sessions", {"ts": "0001-01-01T00:00:00Z"}, "ts"),
        ("/api/executions", {"script": "etl.py", "started_at": "9999-12-31T23:59:59Z"}, "started_at"),
        ("/api/executions", {"script": "etl.py", "finished_at": 1e20}, "finished_at"),
    ],
    ids=["session-year-1", "execution-year-9999", "execution-epoch-1e20"],
)
def test_record_timestamps_out_of_range_are_422_naming_the_field(
    shared_server: Any, path: str, body: dict[str, Any], field: str
) -> None:
    before = totals(shared_server)
    refused(shared_server, shared_server.post(path, json=body), 422, f"field '{field}'")
    assert totals(shared_server) == before


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1e20", "-1e20", "nan", "inf"])
def test_read_timestamps_out_of_range_are_400_naming_the_parameter(shared_server: Any, name: str, value: str) -> None:
    for path in ("/api/events", "/api/query", "/api/revenue"):
        refused(shared_server, shared_server.get(path, params={name: value}), 400, f"parameter '{name}'")


# ------------------------------------------------------------------ SQL and HTML


@pytest.mark.parametrize("payload", HOSTILE)
def test_sql_and_html_in_every_string_field_are_stored_and_read_back_verbatim(shared_server: Any, payload: str) -> None:
    marker = uid()
    fields = {name: payload for name in STRING_FIELDS} | {"uid": marker + payload[:60]}
    body = event(payload, **{k: v for k, v in fields.items() if k != "type"}, attrs={payload: payload, "k": [payload]})
    r = shared_server.post("/api/events", json=body)
    assert r.status_code == 201, r.text
    (event_id,) = r.json()["ids"]
    # Read back through the API, filtered by the hostile value itself (bound, never spliced into SQL).
    params = {"source": payload, "entity": payload, "limit": 5}
    if "," not in payload:
        listed = shared_server.get("/api/events", params=params).json()["events"]
        assert [e["id"] for e in listed] == [event_id]
    got = shared_server.get("/api/events", params={"after_id": event_id - 1, "limit": 1}).json()["events"][0]
    assert got["id"] == event_id
    for name in STRING_FIELDS:
        if name != "uid":  # the API does not show uids; the stored row is checked below
            assert got[name] == body[name], name
    assert got["attrs"] == {payload: payload, "k": [payload]}
    # The tables are all still there.
    assert shared_server.get("/api/overview").status_code == 200
    row = stored_events(shared_server, EVENTS.c.id == event_id)[0]
    assert {name: row[name] for name in STRING_FIELDS} == {name: body[name] for name in STRING_FIELDS}


@pytest.mark.parametrize("payload", HOSTILE[:4] + HOSTILE[6:7])
def test_sql_and_html_in_record_fields_are_stored_verbatim(shared_server: Any, payload: str) -> None:
    run = shared_server.post(
        "/api/executions", json={"script": payload, "status": payload, "attrs": {payload: payload}}
    )
    assert run.status_code == 201, run.text
    assert (run.json()["script"], run.json()["status"]) == (payload, payload)
    component = shared_server.put(
        "/api/components/hostile", json={"status": payload, "detail": payload, "source": payload}
    )
    assert component.status_code == 200, component.text
    assert (component.json()["status"], component.json()["detail"]) == (payload, payload)
    session = shared_server.post(
        "/api/sessions", json={"id": uid("s"), "username": payload, "attrs": {"note": payload}}
    )
    assert session.status_code == 201, session.text
    assert session.json()["user"] == payload


# ------------------------------------------------------------------ read parameters


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/api/events", {"limit": "1000000000"}, "limit"),
        ("/api/events", {"limit": "-1"}, "limit"),
        ("/api/events", {"limit": "ten"}, "limit"),
        ("/api/events", {"after_id": "-1"}, "after_id"),
        ("/api/events", {"after_id": "99999999999999999999999"}, "after_id"),
        ("/api/sessions", {"limit": "5001"}, "limit"),
        ("/api/dimensions/source", {"limit": "1e9"}, "limit"),
        ("/api/query", {"window": "bogus"}, "window"),
        ("/api/query", {"window": "-5min"}, "window"),
        ("/api/query", {"window": "0"}, "window"),
        ("/api/query", {"window": "401d"}, "window"),
        ("/api/query", {"window": "1e308"}, "window"),
        ("/api/query", {"window": "nan"}, "window"),
        ("/api/query", {"since": "2024-01-01", "until": "2023-01-01"}, "since"),
        ("/api/query", {"since": "2020-01-01", "until": "2024-01-01"}, "since"),
        ("/api/timings", {"window": "100000w"}, "window"),
        ("/api/heatmap", {"window": "9999999999d"}, "window"),
        ("/api/revenue", {"since": "1990-01-01"}, "since"),
        ("/api/metrics/history", {"script_path": "etl.py", "metric_name": "rows", "days": "401"}, "days"),
        ("/api/metrics/aggregated", {"script_path": "etl.py", "days": "1e9"}, "days"),
        ("/api/analysis/anomalies", {"script_path": "etl.py", "days": "inf"}, "days"),
        ("/api/users/active", {"minutes": "99999999"}, "minutes"),
    ],
)
def test_bad_read_parameters_are_400_naming_the_parameter(
    shared_server: Any, path: str, params: dict[str, str], name: str
) -> None:
    refused(shared_server, shared_server.get(path, params=params), 400, f"parameter '{name}'")


@pytest.fixture(scope="module")
def short_queries(make_shared_server: Any, module_db_url: str) -> Any:
    """A server whose queries may span at most 30 days (``--max-query-days 30``)."""
    return make_shared_server(module_db_url, max_query_days=30)


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/api/query", {"window": "31d"}, "window"),
        ("/api/query.csv", {"window": "5w"}, "window"),
        ("/api/revenue", {"since": "2024-01-01T00:00:00Z", "until": "2024-02-15T00:00:00Z"}, "since"),
        ("/api/timings", {"window": "745h"}, "window"),
        ("/api/metrics/history", {"script_path": "etl.py", "metric_name": "rows", "days": "31"}, "days"),
        ("/api/analysis/trend", {"script_path": "etl.py", "metric_name": "rows", "days": "30.5"}, "days"),
    ],
)
def test_max_query_days_bounds_every_time_range(
    short_queries: Any, path: str, params: dict[str, str], name: str
) -> None:
    body = refused(short_queries, short_queries.get(path, params=params), 400, f"parameter '{name}'")
    assert "30" in body["error"], body


def test_a_range_within_max_query_days_is_answered(short_queries: Any) -> None:
    r = short_queries.get("/api/query", params={"window": "30d", "metric": "count", "bucket": "none"})
    assert r.status_code == 200, r.text
    query = r.json()["query"]
    span = datetime.fromisoformat(query["until"]) - datetime.fromisoformat(query["since"])
    assert span == timedelta(days=30), query


def test_a_nul_character_is_422_naming_the_field(shared_server: Any) -> None:
    before = totals(shared_server)
    body = refused(
        shared_server, shared_server.post("/api/events", json=event("nul", message="a\x00b")), 422, "field 'message'"
    )
    assert body["errors"][0]["message"] == "must not contain NUL characters"
    assert totals(shared_server) == before


@pytest.mark.parametrize(
    "method,path",
    [
        ("DELETE", "/api/exports/schedules/{id}"),
        ("GET", "/api/exports/schedules/{id}"),
        ("GET", "/api/rules/{id}"),
        ("POST", "/api/alerts/{id}/ack"),
        ("DELETE", "/api/silences/{id}"),
    ],
)
@pytest.mark.parametrize("id_", ["999999999999999999999999999999", "2147483648", "-1"])
def test_an_id_beyond_the_id_columns_is_a_404_json(shared_server: Any, method: str, path: str, id_: str) -> None:
    r = shared_server.http.request(method, shared_server.url + path.format(id=id_), timeout=30)
    assert r.status_code == 404, r.text
    assert "error" in r.json()


# ------------------------------------------------- sign-in off: Host and Origin

EVIL_ORIGIN = "http://attacker.example:8073"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def state_changing_routes(server: Any) -> list[tuple[str, str]]:
    """Every (method, path) of the app that changes state, with ids filled in."""
    import re

    found = []
    for rule in server.app.server.url_map.iter_rules():
        path = re.sub(r"<[^>]+>", "1", rule.rule)
        found += [(method, path) for method in sorted((rule.methods or set()) & WRITES)]
    return found


def test_with_sign_in_off_a_rebinding_page_cannot_create_a_webhook_rule(sqlite_server: Any) -> None:
    rule = {"name": "rebound", "metric": "count", "op": ">", "threshold": 1, "notify": ["http://169.254.169.254/"]}
    for headers in ({"Host": "attacker.example:8073", "Origin": EVIL_ORIGIN}, {"Origin": EVIL_ORIGIN}):
        r = sqlite_server.post("/api/rules", json=rule, headers=headers)
        assert r.status_code in (403, 421), r.text
    assert "rebound" not in sqlite_server.get("/api/rules").text


def test_with_sign_in_off_every_state_changing_route_refuses_a_foreign_host_or_origin(sqlite_server: Any) -> None:
    routes = state_changing_routes(sqlite_server)
    assert len(routes) >= 20 and ("POST", "/api/events") in routes
    local = sqlite_server.url
    for method, path in routes:
        for headers, status in (
            ({"Origin": EVIL_ORIGIN}, 403),
            ({"Referer": EVIL_ORIGIN + "/page"}, 403),
            ({"Origin": local.replace("http://", "https://")}, 403),  # the scheme counts too
            ({"Origin": "null"}, 403),
            ({"Host": "attacker.example:8073"}, 421),
        ):
            r = sqlite_server.http.request(method, local + path, headers=headers, json={}, timeout=30)
            assert r.status_code == status, (method, path, headers, r.status_code)
    # The dashboard's own pages and clients that name no origin still write.
    assert sqlite_server.post("/api/events", json={"type": "ok"}, headers={"Origin": local}).status_code == 201
    assert sqlite_server.post("/api/events", json={"type": "ok"}).status_code == 201


@pytest.mark.parametrize("path", ["/ws", "/ws/metrics"])
def test_with_sign_in_off_a_websocket_from_a_foreign_host_or_origin_is_refused(sqlite_server: Any, path: str) -> None:
    import socket
    from urllib.parse import urlsplit

    port = urlsplit(sqlite_server.url).port
    assert port is not None

    def handshake(host: str, origin: str) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
            )
            return sock.recv(200).split(b"\r\n", 1)[0]

    local = f"127.0.0.1:{port}"
    assert handshake(local, EVIL_ORIGIN).startswith(b"HTTP/1.1 403")
    assert handshake("attacker.example:8073", "http://attacker.example:8073").startswith(b"HTTP/1.1 421")
    assert handshake(local, f"http://{local}").startswith(b"HTTP/1.1 101")


# ------------------------------------------------------------------ low findings


@pytest.mark.parametrize(
    "path",
    [
        "/_dash-component-suites/dash/..%2f..%2fapp.py",
        "/_dash-component-suites/dash/dash-renderer/build/nope.js",
        "/_dash-component-suites/nothing/x.js",
    ],
)
def test_a_bad_dash_asset_path_is_404_without_a_traceback(
    sqlite_server: Any, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    r = sqlite_server.get(path)
    assert r.status_code == 404
    assert "Traceback" not in r.text and "app.py" not in r.text
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


@pytest.mark.parametrize("path", ["/", "/api/events", "/health", "/_dash-layout", "/no-such-page", "/api/nope"])
def test_every_response_forbids_framing(sqlite_server: Any, path: str) -> None:
    r = sqlite_server.get(path, headers={"Accept": "text/html"})
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def test_huge_values_are_refused_so_sums_stay_finite(server: Any) -> None:
    for body, field in (
        ([{"type": uid("big"), "value": 1.7e308}, {"type": "big", "value": 1.7e308}], "value"),
        ({"type": uid("big"), "duration_ms": 1e300}, "duration_ms"),
    ):
        r = server.post("/api/events", json=body)
        assert r.status_code == 422 and field in r.json()["error"], r.text
        assert r.json()["errors"][0]["field"] == field


@pytest.mark.parametrize("attrs", [{"k": "a\x00b"}, {"a\x00b": 1}, {"k": ["x\x00"]}])
def test_nul_in_attrs_keys_and_values_is_refused(server: Any, attrs: dict[str, Any]) -> None:
    kind = uid("nul")
    r = server.post("/api/events", json={"type": kind, "attrs": attrs})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "attrs", r.text
    assert server.get("/api/events", params={"type": kind}).json()["count"] == 0
