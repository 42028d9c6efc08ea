"""Rate limits (token bucket per API key or client address, 429 with
Retry-After), failed sign-ins per address, and the live-feed subscriber cap."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
import simple_websocket

from api.limits import SharedLimit, TokenBucket
from auth.passwords import hash_password
from data.rate_limits import DatabaseStorage
from data.users import add_user
from tests import wsclient
from tests.conftest import wait_until


class FrozenClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited(make_server_for: Any, sqlite_url: str) -> tuple[Any, FrozenClock]:
    server = make_server_for(sqlite_url, rate_limit=5, api_keys="k1,k2")
    clock = FrozenClock()
    server.app.server.extensions["pulseboard_limits"].clock = clock
    return server, clock


def statuses(server: Any, n: int, path: str = "/api/events", headers: dict[str, str] | None = None) -> list[int]:
    return [requests.get(server.url + path, headers=headers, timeout=30).status_code for _ in range(n)]


def test_after_the_burst_it_answers_429_with_retry_after(limited: tuple[Any, FrozenClock]) -> None:
    server, clock = limited
    assert statuses(server, 10) == [200] * 10  # a burst of twice the rate
    r = requests.get(server.url + "/api/overview", timeout=30)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json() == {
        "error": "too many requests: at most 5 a second (bursts of 10) per API key or client address; retry in 1 s"
    }
    # Writes count too, and nothing is stored when refused.
    r = requests.post(
        server.url + "/api/events", json={"type": "x"}, headers={"Authorization": "Bearer k1"}, timeout=30
    )
    assert r.status_code == 201  # k1 has its own bucket
    # Pages, static assets and health checks are not limited.
    for path in ("/health", "/assets/00-bootstrap-5.3.9.min.css", "/explore"):
        assert requests.get(server.url + path, timeout=30).status_code == 200, path
    clock.now += 1.0  # five tokens back
    assert statuses(server, 6) == [200] * 5 + [429]


def test_each_key_has_its_own_bucket_and_a_bad_key_counts_as_its_address(limited: tuple[Any, FrozenClock]) -> None:
    server, _clock = limited
    assert statuses(server, 11, headers={"Authorization": "Bearer k1"}) == [200] * 10 + [429]
    assert statuses(server, 11, headers={"Authorization": "Bearer k2"}) == [200] * 10 + [429]
    assert statuses(server, 6) == [200] * 6  # the address without a key
    assert statuses(server, 5, headers={"Authorization": "Bearer guessed"}) == [200] * 4 + [429]


def test_retry_after_says_when_a_token_is_back(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, rate_limit=0.25)  # one request at a time, one every 4 s
    server.app.server.extensions["pulseboard_limits"].clock = FrozenClock()
    assert statuses(server, 1) == [200]
    r = requests.get(server.url + "/api/events", timeout=30)
    assert r.status_code == 429 and r.headers["Retry-After"] == "4"


def test_rate_limit_zero_turns_it_off(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, rate_limit=0)
    assert "pulseboard_limits" not in server.app.server.extensions
    with requests.Session() as http:
        assert {http.get(server.url + "/api/events", timeout=30).status_code for _ in range(30)} == {200}


def test_buckets_forget_the_least_recent_key_beyond_their_size() -> None:
    clock = FrozenClock()
    bucket = TokenBucket(1.0, 1.0, clock=clock, max_keys=2)
    assert [bucket.take("a"), bucket.take("a")] == [0.0, 1.0]
    bucket.take("b")
    bucket.take("c")  # "a" is forgotten: a full bucket again
    assert bucket.take("a") == 0.0


def test_failed_sign_ins_are_limited_per_address(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, auth=True)
    with server.services.db.write() as conn:
        add_user(
            conn,
            username="ada",
            password_hash=hash_password("right-password"),
            role="admin",
            now=datetime.now(timezone.utc),
        )
    clock = FrozenClock()
    server.app.server.extensions["pulseboard_login_failures"].clock = clock
    http = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get(server.url + "/login", timeout=30).text).group(1)  # type: ignore[union-attr]

    def attempt(password: str) -> requests.Response:
        return http.post(
            server.url + "/login",
            data={"username": "ada", "password": password, "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )

    assert [attempt("guess").status_code for _ in range(10)] == [401] * 10
    r = attempt("right-password")
    assert (
        r.status_code == 429
        and r.headers["Retry-After"] == "6"
        and "Too many failed sign-ins; try again in 6 s." in r.text
    )
    clock.now += 6.0
    assert attempt("right-password").status_code == 303


def test_failed_sign_ins_in_a_shared_store_count_apart_from_the_api_and_give_back_successes(
    migrated_db: Any,
) -> None:
    clock = FrozenClock()
    clock.now = 1_800_000_000.0
    storage = DatabaseStorage(migrated_db, clock=clock)
    try:
        signin = SharedLimit(1 / 6, storage, burst=10, name="signin", clock=clock)  # as auth/views.py makes it
        api = SharedLimit(5.0, storage, clock=clock)  # --rate-limit 5: also bursts of 10
        key = ("addr", "10.0.0.7")
        assert (signin.burst, signin.window) == (10, 60)
        assert [signin.take(key) for _ in range(10)] == [0.0] * 10
        signin.refund(key)  # the tenth was a sign-in that did not fail
        assert signin.take(key) == 0.0
        assert signin.take(key) == 60.0  # refused until the minute's window ends
        assert api.take(key) == 0.0  # the same address's API requests count in a window of their own
        clock.now += 60.0
        assert signin.take(key) == 0.0
    finally:
        storage.dispose()


def ws(server: Any, path: str = "/ws") -> simple_websocket.Client:
    return wsclient.connect(server.url.replace("http://", "ws://") + path)


def test_live_clients_over_the_cap_get_a_clear_error(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, max_ws_clients=2)
    broker = server.services.live.broker
    first, second = ws(server), ws(server, "/ws/metrics")
    try:
        wait_until(lambda: broker.client_count == 2, message="two live clients")
        for path in ("/ws", "/ws/metrics"):
            third = ws(server, path)
            message = json.loads(third.receive(timeout=15))
            assert message == {
                "type": "error",
                "code": "too_many_clients",
                "message": "too many live clients (limit 2); try again later",
                "retry_after": 5,
            }
            with pytest.raises(simple_websocket.ConnectionClosed):
                third.receive(timeout=15)
        for path in ("/api/stream", "/realtime/stream"):
            r = requests.get(server.url + path, timeout=30)
            assert r.status_code == 503 and r.headers["Retry-After"] == "5"
            assert r.json() == {"error": "too many live clients (limit 2); try again later"}
        assert broker.client_count == 2
    finally:
        first.close()
    wait_until(lambda: broker.client_count == 1, message="a freed place")
    try:
        with requests.get(server.url + "/api/stream", stream=True, timeout=30) as r:
            assert r.status_code == 200 and next(r.iter_lines()) == b"retry: 2000"
            assert broker.client_count == 2
    finally:
        second.close()


def test_a_shared_limit_lets_bursts_of_twice_the_rate_in_per_window() -> None:
    from limits.storage import MemoryStorage

    from api.limits import SharedLimit

    limit = SharedLimit(5, MemoryStorage())
    assert (limit.burst, limit.window) == (10, 2)
    assert [limit.take(("key", 0)) for _ in range(10)] == [0.0] * 10
    assert 0 < limit.take(("key", 0)) <= 2 and limit.take(("addr", "127.0.0.1")) == 0.0
    slow = SharedLimit(0.25, MemoryStorage())  # one request every 4 s, as the token bucket
    assert (slow.burst, slow.window) == (1, 4)
    assert slow.take("k") == 0.0 and 3 < slow.take("k") <= 4


def test_a_shared_limit_lets_requests_through_while_its_store_is_away(caplog: pytest.LogCaptureFixture) -> None:
    from api.limits import SharedLimit
    from data.db import Database
    from data.rate_limits import DatabaseStorage
    from tests.conftest import free_port

    db = Database(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing")  # nothing listens there
    try:
        limit = SharedLimit(1, DatabaseStorage(db))
        with caplog.at_level("WARNING", logger="api.limits"):
            assert [limit.take(("key", 0)) for _ in range(3)] == [0.0, 0.0, 0.0]
        warnings = [r for r in caplog.records if "rate-limit store unavailable" in r.getMessage()]
        assert len(warnings) == 1  # once a minute, not once a request
    finally:
        db.dispose()
