"""GET /api/openapi.json: a valid OpenAPI 3.1 document that lists every API
route of the app with its methods; every documented read route answers with
its documented content type; 4xx answers match the documented Error schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from tests.factories import board_doc
from tests.read_factories import every_kind, fixed_now, shared_server
from web.http import API_PREFIXES

NOW = fixed_now()
SESSION = "sess_20231201_143022"
PATH_VALUES = {
    "session_id": SESSION,
    "execution_id": "etl-01",
    "name": "type",
    "rule_id": "1",
    "alert_id": "1",
    "silence_id": "1",
    "schedule_id": "1",
    "schedule": "openapi",
    "filename": f"openapi-{NOW:%Y%m%dT%H%M%SZ}.csv",
    "uid": "openapi-board",
    "panel_id": "scans",
}
# Script-runner routes need a script; other routes ignore the parameter.
QUERY = {"script_path": "etl.py"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with shared_server(request, tmp_path_factory) as server:
        every_kind(server, NOW, SESSION)
        server.post("/api/boards", json=board_doc("openapi-board")).raise_for_status()
        yield server


@pytest.fixture(scope="module")
def spec(app_server: Any) -> dict[str, Any]:
    r = app_server.get("/api/openapi.json")
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_the_document_is_valid_openapi_3_1(sqlite_server: Any) -> None:
    # The document does not depend on the database, and validating it takes seconds: once is enough.
    spec = sqlite_server.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_api_route_of_the_app_is_documented_with_its_methods(app_server: Any, spec: dict[str, Any]) -> None:
    prefixes = (*API_PREFIXES, "/health")
    rules = list(app_server.app.server.url_map.iter_rules())
    routes: dict[str, set[str]] = {}
    for rule in rules:
        if not rule.rule.startswith(prefixes) or rule.endpoint.startswith("not_found_"):
            continue  # the pages, and the catch-alls that answer 404 JSON
        routes.setdefault(openapi_path(rule.rule), set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    assert len(routes) >= 40
    missing = {path: sorted(methods - set(spec["paths"].get(path, {}))) for path, methods in routes.items()}
    assert {path: m for path, m in missing.items() if m} == {}
    # ... and the document lists nothing the app does not serve.
    served = {(openapi_path(rule.rule), m.lower()) for rule in rules for m in rule.methods}
    assert {(path, method) for path, ops in spec["paths"].items() for method in ops} <= served


def test_path_parameters_are_declared(spec: dict[str, Any]) -> None:
    for path, operations in spec["paths"].items():
        names = re.findall(r"{([a-z_]+)}", path)
        for method, op in operations.items():
            declared = [p["name"] for p in op["parameters"] if p["in"] == "path"]
            assert declared == names, (method, path)
            if names:
                assert "404" in op["responses"], (method, path)


def documented_gets(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(path, ops["get"]) for path, ops in sorted(spec["paths"].items()) if "get" in ops]


def test_every_documented_read_route_answers_with_its_documented_content(app_server: Any, spec: dict[str, Any]) -> None:
    for path, op in documented_gets(spec):
        url = re.sub(r"{([a-z_]+)}", lambda m: PATH_VALUES[m.group(1)], path)
        content = op["responses"]["200"]["content"]
        with app_server.http.get(app_server.url + url, params=QUERY, timeout=30, stream=True) as r:
            assert r.status_code == 200, (path, r.status_code, r.text[:300] if "event-stream" not in content else "")
            mimetype = r.headers["Content-Type"].split(";")[0]
            assert mimetype in content, (path, mimetype)
            if mimetype == "application/json":
                assert isinstance(r.json(), dict), path


ERROR_SAMPLES = [
    ("get", "/api/query", {"params": {"metric": "bad"}}, 400),
    ("get", "/api/query.csv", {"params": {"bucket": "bad"}}, 400),
    ("get", "/api/events", {"params": {"limit": "x"}}, 400),
    ("get", "/api/heatmap", {"params": {"tz": "Mars/Olympus"}}, 400),
    ("get", "/api/revenue", {"params": {"user": "ann"}}, 400),
    ("get", "/api/metrics/history", {"params": {"script_path": "etl.py", "days": "0"}}, 400),
    ("get", "/metrics/{session_id}", {}, 404),
    ("get", "/interactions/{session_id}", {}, 404),
    ("get", "/api/execution/{execution_id}", {}, 404),
    ("get", "/api/dimensions/{name}", {}, 404),
    ("post", "/api/events", {"json": [{"type": "scan", "ts": "not a time"}]}, 422),
    ("post", "/api/events", {"data": b"{", "headers": {"Content-Type": "application/json"}}, 400),
    ("post", "/api/events", {"data": b"type=scan", "headers": {"Content-Type": "text/plain"}}, 415),
    ("post", "/api/sessions/{session_id}/end", {"json": {}}, 404),
    ("post", "/api/executions/{execution_id}/finish", {"json": {}}, 404),
    ("put", "/api/components/{name}", {"json": {"detail": "no status"}}, 422),
    ("post", "/session/end", {"json": {"session_id": "nope"}}, 404),
    ("post", "/ingest/interaction", {"json": {"session_id": "s"}}, 422),
    ("post", "/api/boards", {"json": {"uid": "Bad Uid", "title": "x"}}, 400),
    ("post", "/api/boards", {"data": b"uid: [", "headers": {"Content-Type": "application/yaml"}}, 400),
    ("get", "/api/boards/{uid}", {}, 404),
    ("put", "/api/boards/{uid}", {"json": {"uid": "nope", "title": "x", "version": 1}}, 404),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), ERROR_SAMPLES)
def test_error_answers_match_the_documented_error_schema(
    app_server: Any, spec: dict[str, Any], method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    url = path.replace("{session_id}", "nope").replace("{execution_id}", "nope").replace("{name}", "nope")
    url = url.replace("{uid}", "nope")
    r = app_server.http.request(method.upper(), app_server.url + url, timeout=30, **kwargs)
    assert r.status_code == status, r.text
    responses = spec["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document {status}"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Error"}
    jsonschema.validate(r.json(), spec["components"]["schemas"]["Error"])
    assert r.json()["error"]


def test_unknown_api_paths_answer_404_json(app_server: Any) -> None:
    for path in ("/api/nope", "/metrics/a/b", "/interactions/a/b", "/ingest/nope", "/session/nope"):
        r = app_server.get(path)
        assert r.status_code == 404, path
        jsonschema.validate(
            r.json(), {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
        )
