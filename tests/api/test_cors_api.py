"""``--cors-origins``: a page on a listed origin may call the API (with an API
key when sign-in is on); other origins get no CORS headers, and the
dashboard's cookie is never shared cross-origin."""

from __future__ import annotations

from typing import Any

import pytest

from settings import SettingsError, load_settings

LISTED = "http://status.example:3000"
OTHER = "http://evil.example"
KEY = "k-cors-1"


def preflight(server: Any, path: str, origin: str) -> Any:
    return server.http.options(
        server.url + path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=30,
    )


def test_a_listed_origin_may_post_an_event_and_read_it_back_with_sign_in_off(make_server_for: Any, db_url: str) -> None:
    server = make_server_for(db_url, cors_origins=LISTED)
    pre = preflight(server, "/api/events", LISTED)
    assert pre.status_code == 200
    assert pre.headers["Access-Control-Allow-Origin"] == LISTED
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    assert "authorization" in pre.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in pre.headers

    posted = server.post("/api/events", json={"type": "cors", "entity": "cors-1"}, headers={"Origin": LISTED})
    assert posted.status_code in (200, 201), posted.text
    assert posted.headers["Access-Control-Allow-Origin"] == LISTED
    read = server.get("/api/events?type=cors", headers={"Origin": LISTED})
    assert read.headers["Access-Control-Allow-Origin"] == LISTED
    assert [e["entity"] for e in read.json()["events"]] == ["cors-1"]


def test_an_unlisted_origin_gets_no_cors_headers_and_its_writes_are_refused(
    make_server_for: Any, sqlite_url: str
) -> None:
    server = make_server_for(sqlite_url, cors_origins=LISTED)
    assert "Access-Control-Allow-Origin" not in preflight(server, "/api/events", OTHER).headers
    posted = server.post("/api/events", json={"type": "cors", "entity": "cors-2"}, headers={"Origin": OTHER})
    assert posted.status_code == 403
    assert "cross-origin" in posted.json()["error"]
    assert "Access-Control-Allow-Origin" not in posted.headers
    assert server.get("/api/events?type=cors").json()["events"] == []


def test_without_the_setting_no_response_carries_cors_headers(sqlite_server: Any) -> None:
    read = sqlite_server.get("/api/events", headers={"Origin": LISTED})
    assert read.status_code == 200 and "events" in read.json()
    assert "Access-Control-Allow-Origin" not in read.headers
    posted = sqlite_server.post("/api/events", json={"type": "cors"}, headers={"Origin": LISTED})
    assert posted.status_code == 403


def test_with_sign_in_on_the_preflight_passes_and_the_key_authenticates(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, auth=True, api_keys=KEY, cors_origins=LISTED)
    pre = preflight(server, "/api/events", LISTED)
    assert pre.status_code == 200 and pre.headers["Access-Control-Allow-Origin"] == LISTED
    refused = server.get("/api/events", headers={"Origin": LISTED})
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == LISTED  # the page can read why
    auth = {"Origin": LISTED, "Authorization": f"Bearer {KEY}"}
    assert server.post("/api/events", json={"type": "cors", "entity": "cors-3"}, headers=auth).status_code in (200, 201)
    read = server.get("/api/events?type=cors", headers=auth)
    assert [e["entity"] for e in read.json()["events"]] == ["cors-3"]
    assert read.headers["Access-Control-Allow-Origin"] == LISTED


def test_pages_are_not_opened_to_other_origins(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, cors_origins="*")
    page = server.get("/", headers={"Origin": LISTED})
    assert "<title>Pulseboard</title>" in page.text
    assert "Access-Control-Allow-Origin" not in page.headers
    assert server.get("/health", headers={"Origin": LISTED}).headers["Access-Control-Allow-Origin"] == LISTED


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("status.example", "is not an origin"),
        ("*,http://a.example", "give it alone"),
        ("ftp://a.example", "not an origin"),
    ],
)
def test_a_malformed_origin_stops_the_start_naming_the_setting(raw: str, message: str) -> None:
    with pytest.raises(SettingsError, match=f"cors.origins.*{message}"):
        load_settings({"cors_origins": raw}, environ={})
