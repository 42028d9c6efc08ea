"""API keys: with keys configured every write route needs
``Authorization: Bearer <key>`` (any of the keys); reads stay open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.factories import totals, uid

KEYS = "k1,k2"


@pytest.fixture(scope="module")
def keyed(make_shared_server: Any, module_db_url: str) -> Any:
    server = make_shared_server(module_db_url, api_keys=KEYS)
    # Records the write routes act on, made with a key.
    auth = {"Authorization": "Bearer k1"}
    assert server.post("/api/sessions", json={"id": "sess-auth"}, headers=auth).status_code == 201
    assert server.post("/api/executions", json={"id": "exe-auth", "script": "x.py"}, headers=auth).status_code == 201
    return server


def write_routes() -> list[tuple[str, str, Any]]:
    """Every write route with a valid body (fresh ids, so each call writes)."""
    return [
        ("POST", "/api/events", {"type": "auth", "uid": uid()}),
        ("POST", "/api/sessions", {"id": uid("sess")}),
        ("POST", "/api/sessions/sess-auth/end", {}),
        ("POST", "/api/executions", {"id": uid("exe"), "script": "x.py", "exit_code": 0}),
        ("POST", "/api/executions/exe-auth/finish", {"exit_code": 0}),
        ("PUT", f"/api/components/{uid('cam')}", {"status": "online"}),
        ("POST", "/ingest/interaction", {"session_id": "sess-auth", "interaction_type": "click"}),
        ("POST", "/session/start", {"session_id": uid("sess"), "username": "ann"}),
        ("POST", "/session/end", {"session_id": "sess-auth"}),
    ]


ROUTE_IDS = [f"{m} {p.split('/')[1]}/{p.split('/')[2]}" for m, p, _ in write_routes()]
BAD_AUTH = {
    "none": {},
    "wrong-key": {"Authorization": "Bearer k3"},
    "key-prefix": {"Authorization": "Bearer k"},
    "keys-joined": {"Authorization": "Bearer k1,k2"},
    "empty-bearer": {"Authorization": "Bearer "},
    "basic-scheme": {"Authorization": "Basic k1"},
    "bare-key": {"Authorization": "k1"},
}


def call(server: Any, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    return server.http.request(method, server.url + path, json=body, headers=headers, timeout=30)


@pytest.mark.parametrize("route", range(len(ROUTE_IDS)), ids=ROUTE_IDS)
def test_every_write_route_refuses_a_missing_or_wrong_key_with_401(keyed: Any, route: int) -> None:
    method, path, body = write_routes()[route]
    before = totals(keyed)
    for name, headers in BAD_AUTH.items():
        r = call(keyed, method, path, body, headers)
        assert r.status_code == 401, (name, r.text)
        assert r.headers["Content-Type"] == "application/json"
        assert r.json() == {"error": "a valid API key is required: send 'Authorization: Bearer <key>'"}
    assert totals(keyed) == before


@pytest.mark.parametrize("route", range(len(ROUTE_IDS)), ids=ROUTE_IDS)
def test_every_write_route_accepts_either_key(keyed: Any, route: int) -> None:
    for key in ("k1", "k2"):
        method, path, body = write_routes()[route]
        r = call(keyed, method, path, body, {"Authorization": f"Bearer {key}"})
        assert r.status_code in (200, 201), (key, r.text)


def test_the_key_is_checked_before_the_body(keyed: Any) -> None:
    r = keyed.post("/api/events", data=b"not json", headers={"Content-Type": "text/plain"})
    assert r.status_code == 401


def test_the_bearer_scheme_is_case_insensitive(keyed: Any) -> None:
    r = keyed.post("/api/events", json={"type": "auth"}, headers={"Authorization": "bearer k2"})
    assert r.status_code == 201


@pytest.mark.parametrize(
    "path", ["/health", "/api/health", "/api/events", "/api/sessions", "/api/components", "/api/openapi.json"]
)
def test_reads_stay_open_without_a_key(keyed: Any, path: str) -> None:
    r = keyed.get(path)
    assert r.status_code == 200, r.text


def test_without_keys_configured_writes_need_none(shared_server: Any) -> None:
    r = shared_server.post("/api/events", json={"type": "open"}, headers={"Authorization": "Bearer anything"})
    assert r.status_code == 201


def test_keys_can_come_from_a_keys_file(make_server_for: Any, db_url: str, tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("# pulseboard keys\n\n  file-key-1  \nfile-key-2\n", encoding="utf-8")
    server = make_server_for(db_url, api_keys_file=str(keys_file), api_keys="inline-key")
    for key, status in (
        ("file-key-1", 201),
        ("file-key-2", 201),
        ("inline-key", 201),
        ("# pulseboard keys", 401),
        ("", 401),
    ):
        r = server.post("/api/events", json={"type": "filed"}, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == status, key
