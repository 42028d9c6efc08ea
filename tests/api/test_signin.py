"""Dashboard sign-in (``--auth``): pages, the read API, Dash's routes and the
live feed need a session or an API key; roles; CSRF; sign-out; expiry."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import simple_websocket

from auth.passwords import hash_password
from auth.policy import current_role, current_user
from auth.secret import load_secret_key
from data.users import add_user, set_disabled, set_password, set_role
from settings import SettingsError, load_settings
from tests import wsclient
from tests.factories import totals, uid

KEY = "ingest-key-1"
PASSWORDS = {"ada": "ada-admin-pw", "vic": "vic-viewer-pw"}
SIGN_IN_NEEDED = {"error": "sign in, or send a valid API key as 'Authorization: Bearer <key>'"}
CROSS_ORIGIN = {
    "error": "cross-origin request refused: state-changing requests must come from the dashboard's own pages"
}


def add(server: Any, name: str, password: str, role: str) -> None:
    with server.services.db.write() as conn:
        add_user(conn, username=name, password_hash=hash_password(password), role=role, now=datetime.now(timezone.utc))


@pytest.fixture(scope="module")
def secured(make_shared_server: Any, module_db_url: str) -> Any:
    server = make_shared_server(module_db_url, auth=True, api_keys=KEY)

    def probe() -> Any:  # what a route added later (here: an alert-rules write) sees
        return {"user": current_user(), "role": current_role()}

    # Routes registered like another module's would be, without touching the policy.
    server.app.server.add_url_rule("/api/rules/probe", "probe_rules", probe, methods=["POST"])
    server.app.server.add_url_rule("/api/unlisted-write", "probe_unlisted", probe, methods=["POST"])
    add(server, "ada", PASSWORDS["ada"], "admin")
    add(server, "vic", PASSWORDS["vic"], "viewer")
    return server


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(server: Any, name: str, password: str | None = None, **extra: str) -> requests.Session:
    http = requests.Session()
    http.headers["Origin"] = server.url
    form = http.get(server.url + "/login", timeout=30)
    data = {"username": name, "password": password or PASSWORDS[name], "csrf_token": csrf_of(form.text), **extra}
    r = http.post(server.url + "/login", data=data, allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.text[:500]
    return http


def test_pages_redirect_to_the_sign_in_form(secured: Any) -> None:
    for path, target in (
        ("/", "/login?next=/"),
        ("/explore?type=scan", "/login?next=/explore%3Ftype%3Dscan"),
        ("/explore?type=scan&source=a", "/login?next=/explore%3Ftype%3Dscan%26source%3Da"),
    ):
        r = requests.get(secured.url + path, headers={"Accept": "text/html"}, allow_redirects=False, timeout=30)
        assert (r.status_code, r.headers["Location"]) == (302, target)
    form = requests.get(secured.url + "/login?next=/explore", timeout=30)
    assert form.status_code == 200 and 'name="next" value="/explore"' in form.text
    assert "/assets/00-bootstrap-5.3.9.min.css" in form.text and form.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "path",
    [
        "/api/overview",
        "/api/events",
        "/api/openapi.json",
        "/_dash-layout",
        "/_dash-dependencies",
        "/metrics",
        "/api/stream",
    ],
)
def test_the_read_api_and_dash_routes_answer_401_json_without_a_session(secured: Any, path: str) -> None:
    r = requests.get(secured.url + path, timeout=30)
    assert r.status_code == 401
    assert r.headers["Content-Type"] == "application/json" and r.json() == SIGN_IN_NEEDED


@pytest.mark.parametrize("path", ["/health", "/api/health", "/login", "/assets/00-bootstrap-5.3.9.min.css"])
def test_health_sign_in_and_static_assets_stay_open(secured: Any, path: str) -> None:
    r = requests.get(secured.url + path, timeout=30)
    assert r.status_code == 200 and r.content


def test_a_wrong_password_or_unknown_user_shows_an_error_and_signs_nobody_in(secured: Any) -> None:
    http = requests.Session()
    token = csrf_of(http.get(secured.url + "/login", timeout=30).text)
    for name, password in (("ada", "not-her-password"), ("nobody", "ada-admin-pw"), ("ada", "")):
        r = http.post(
            secured.url + "/login", data={"username": name, "password": password, "csrf_token": token}, timeout=30
        )
        assert r.status_code == 401 and "Wrong user name or password." in r.text
        assert f'value="{name}"' in r.text  # the name is kept in the form, escaped
    r = http.post(
        secured.url + "/login",
        data={"username": '"><script>alert(1)</script>', "password": "x", "csrf_token": token},
        timeout=30,
    )
    assert "<script>alert(1)" not in r.text and 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in r.text
    assert http.get(secured.url + "/api/overview", timeout=30).json() == SIGN_IN_NEEDED


def test_the_right_password_signs_in_with_a_safe_cookie(secured: Any) -> None:
    http = requests.Session()
    token = csrf_of(http.get(secured.url + "/login", timeout=30).text)
    r = http.post(
        secured.url + "/login",
        data={"username": "vic", "password": PASSWORDS["vic"], "csrf_token": token, "next": "/revenue"},
        allow_redirects=False,
        timeout=30,
    )
    assert (r.status_code, r.headers["Location"]) == (303, "/revenue")
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("pulse_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see test_the_cookie_is_secure_behind_a_tls_proxy
    body = http.get(secured.url + "/api/overview", timeout=30).json()
    assert "kpis" in body
    page = http.get(secured.url + "/explore", headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200 and "_dash-config" in page.text
    assert "Sign out" in http.get(secured.url + "/_dash-layout", timeout=30).text


def test_the_sign_in_form_needs_its_csrf_token(secured: Any) -> None:
    http = requests.Session()
    http.get(secured.url + "/login", timeout=30)
    for token in ("", "forged-token"):
        r = http.post(
            secured.url + "/login",
            data={"username": "ada", "password": PASSWORDS["ada"], "csrf_token": token},
            timeout=30,
        )
        assert r.status_code == 400 and "form expired" in r.text
    assert http.get(secured.url + "/api/overview", timeout=30).status_code == 401


def test_after_sign_in_it_only_goes_to_paths_on_this_site(secured: Any) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        http = requests.Session()
        token = csrf_of(http.get(secured.url + "/login", timeout=30).text)
        r = http.post(
            secured.url + "/login",
            data={"username": "vic", "password": PASSWORDS["vic"], "csrf_token": token, "next": target},
            allow_redirects=False,
            timeout=30,
        )
        assert r.headers["Location"] == "/", target


def test_an_api_key_reads_without_a_session_and_a_bad_key_does_not(secured: Any) -> None:
    r = requests.get(secured.url + "/api/overview", headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
    assert r.status_code == 200 and "kpis" in r.json()
    r = requests.get(secured.url + "/api/overview", headers={"Authorization": "Bearer wrong"}, timeout=30)
    assert r.status_code == 401 and r.json() == {
        "error": "a valid API key is required: send 'Authorization: Bearer <key>'"
    }


def test_a_viewer_cannot_write_rules_and_an_admin_can(secured: Any) -> None:
    viewer, admin = sign_in(secured, "vic"), sign_in(secured, "ada")
    r = viewer.post(secured.url + "/api/rules/probe", json={}, timeout=30)
    assert r.status_code == 403 and r.json() == {"error": "this needs the admin role; vic is a viewer"}
    r = admin.post(secured.url + "/api/rules/probe", json={}, timeout=30)
    assert r.status_code == 200 and r.json() == {"user": "ada", "role": "admin"}
    # A write route nobody listed is for admins too.
    assert viewer.post(secured.url + "/api/unlisted-write", json={}, timeout=30).status_code == 403
    assert admin.post(secured.url + "/api/unlisted-write", json={}, timeout=30).json() == {
        "user": "ada",
        "role": "admin",
    }
    # API keys read and ingest, but do not administer.
    r = requests.post(secured.url + "/api/rules/probe", json={}, headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
    assert r.status_code == 403 and r.json() == {"error": "API keys may read and ingest; this needs a signed-in admin"}


def test_ingest_takes_a_key_or_an_admin_session(secured: Any) -> None:
    before = totals(secured)
    r = requests.post(secured.url + "/api/events", json={"type": "signin"}, timeout=30)
    assert r.status_code == 401 and r.json() == {
        "error": "a valid API key is required: send 'Authorization: Bearer <key>'"
    }
    r = sign_in(secured, "vic").post(secured.url + "/api/events", json={"type": "signin"}, timeout=30)
    assert r.status_code == 403 and r.json() == {"error": "ingest needs an API key or the admin role; vic is a viewer"}
    assert totals(secured) == before
    r = sign_in(secured, "ada").post(secured.url + "/api/events", json={"type": "signin", "uid": uid()}, timeout=30)
    assert r.status_code == 201 and r.json()["stored"] == 1
    r = requests.post(
        secured.url + "/api/events",
        json={"type": "signin", "uid": uid()},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=30,
    )
    assert r.status_code == 201 and r.json()["stored"] == 1


def test_a_cross_origin_post_with_a_valid_session_is_refused(secured: Any) -> None:
    admin = sign_in(secured, "ada")
    before = totals(secured)
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "", "Referer": "http://evil.example/page"},
        {"Origin": secured.url.replace("127.0.0.1", "localhost")},
    ):
        for path, body in (
            ("/api/rules/probe", {}),
            ("/api/events", {"type": "csrf"}),
            ("/_dash-update-component", {"output": "x"}),
        ):
            r = admin.post(secured.url + path, json=body, headers=headers, timeout=30)
            assert r.status_code == 403 and r.json() == CROSS_ORIGIN, (headers, path)
    assert totals(secured) == before
    # No Origin at all, as from a script replaying the cookie: refused too; a same-origin Referer passes.
    bare = requests.Session()
    bare.cookies.update(admin.cookies)
    assert bare.post(secured.url + "/api/rules/probe", json={}, timeout=30).json() == CROSS_ORIGIN
    r = bare.post(secured.url + "/api/rules/probe", json={}, headers={"Referer": secured.url + "/explore"}, timeout=30)
    assert r.json() == {"user": "ada", "role": "admin"}
    # A Bearer key is not an ambient credential: no Origin needed.
    r = requests.post(
        secured.url + "/api/events",
        json={"type": "csrf", "uid": uid()},
        headers={"Authorization": f"Bearer {KEY}", "Origin": "http://evil.example"},
        timeout=30,
    )
    assert r.status_code == 201


def test_sign_out_ends_the_session_and_refuses_other_sites(secured: Any) -> None:
    http = sign_in(secured, "vic")
    r = http.post(secured.url + "/logout", headers={"Origin": "http://evil.example"}, allow_redirects=False, timeout=30)
    assert r.status_code == 403 and r.text == "cross-origin sign-out refused"
    assert http.get(secured.url + "/api/overview", timeout=30).status_code == 200
    r = http.post(secured.url + "/logout", allow_redirects=False, timeout=30)
    assert (r.status_code, r.headers["Location"]) == (303, "/login")
    assert http.get(secured.url + "/api/overview", timeout=30).json() == SIGN_IN_NEEDED


def ws_url(server: Any, path: str = "/ws") -> str:
    return server.url.replace("http://", "ws://") + path


def cookie_header(http: requests.Session) -> str:
    return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


@pytest.mark.parametrize("path", ["/ws", "/ws/metrics"])
def test_websockets_need_a_session_or_a_key(secured: Any, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        with pytest.raises(simple_websocket.ConnectionError) as refused:
            wsclient.connect(ws_url(secured, path), headers=headers)
        assert refused.value.status_code == 401
    session = sign_in(secured, "vic")
    with pytest.raises(simple_websocket.ConnectionError) as refused:  # someone else's page using the cookie
        wsclient.connect(
            ws_url(secured, path), headers={"Cookie": cookie_header(session), "Origin": "http://evil.example"}
        )
    assert refused.value.status_code == 403
    # simple_websocket sends "Host: 127.0.0.1" without the port; a browser's Origin names the same host as its Host.
    for headers in (
        {"Authorization": f"Bearer {KEY}"},
        {"Cookie": cookie_header(session), "Origin": "http://127.0.0.1"},
    ):
        ws = wsclient.connect(ws_url(secured, path), headers=headers)
        try:
            if path == "/ws":
                ws.send('{"type": "subscribe", "topics": ["all"]}')
            message = ws.receive(timeout=15)
            assert (
                message is not None
                and '"type":"' + ("initial_data" if path == "/ws" else "metrics_update") + '"' in message
            )
        finally:
            ws.close()


@pytest.mark.parametrize("path", ["/api/stream", "/realtime/stream"])
def test_event_streams_need_a_session_or_a_key(secured: Any, path: str) -> None:
    r = requests.get(secured.url + path, timeout=30)
    assert r.status_code == 401 and r.json() == SIGN_IN_NEEDED
    for http, headers in ((requests.Session(), {"Authorization": f"Bearer {KEY}"}), (sign_in(secured, "vic"), {})):
        with http.get(secured.url + path, headers=headers, stream=True, timeout=30) as r:
            assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream")
            assert next(r.iter_lines()) == b"retry: 2000"


def test_a_session_ends_after_its_lifetime_a_password_change_or_disabling(secured: Any) -> None:
    name = uid("tmp")
    add(secured, name, "temporary-pw", "viewer")
    http = sign_in(secured, name, "temporary-pw")
    assert http.get(secured.url + "/api/overview", timeout=30).status_code == 200
    clock = secured.services.clock
    try:
        secured.services.clock = lambda: datetime.now(timezone.utc) + timedelta(hours=13)
        assert http.get(secured.url + "/api/overview", timeout=30).json() == SIGN_IN_NEEDED
    finally:
        secured.services.clock = clock
    http = sign_in(secured, name, "temporary-pw")
    with secured.services.db.write() as conn:
        set_password(conn, name, hash_password("a-new-password"))
    assert http.get(secured.url + "/api/overview", timeout=30).json() == SIGN_IN_NEEDED
    http = sign_in(secured, name, "a-new-password")
    with secured.services.db.write() as conn:
        set_disabled(conn, name, True)
    assert http.get(secured.url + "/api/overview", timeout=30).json() == SIGN_IN_NEEDED


def test_the_cookie_is_secure_behind_a_tls_proxy(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url, auth=True, trusted_proxies=1)
    add(server, "ada", PASSWORDS["ada"], "admin")
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "dash.example.org"}
    form = requests.get(server.url + "/login", headers=proxy, timeout=30)
    assert "; Secure" in form.headers["Set-Cookie"]  # so the client here (plain HTTP) must be handed it
    r = requests.post(
        server.url + "/login",
        data={"username": "ada", "password": PASSWORDS["ada"], "csrf_token": csrf_of(form.text)},
        headers={**proxy, "Cookie": form.headers["Set-Cookie"].split(";")[0]},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 303 and "; Secure" in r.headers["Set-Cookie"]
    # The Origin a browser sends through that proxy is the proxy's public one.
    cookie = {"Cookie": r.headers["Set-Cookie"].split(";")[0]}
    r = requests.post(
        server.url + "/api/unlisted-write",
        headers={**proxy, **cookie, "Origin": "https://dash.example.org"},
        timeout=30,
    )
    assert r.status_code == 404 and r.json()["error"] == "no such API route; see /api/openapi.json"  # past the policy
    r = requests.post(server.url + "/api/unlisted-write", headers={**proxy, **cookie, "Origin": server.url}, timeout=30)
    assert r.status_code == 403 and r.json() == CROSS_ORIGIN


def test_the_secret_key_is_made_once_kept_private_and_reused(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": str(tmp_path), "auth": True}, environ={})
    first = load_secret_key(settings)
    assert load_secret_key(settings) == first and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert (
        load_secret_key(load_settings({"data_dir": str(tmp_path)}, environ={"PULSE_SECRET_KEY": "k" * 20})) == "k" * 20
    )
    with pytest.raises(SettingsError, match="at least 16 characters"):
        load_secret_key(load_settings({"data_dir": str(tmp_path)}, environ={"PULSE_SECRET_KEY": "short"}))


def test_with_sign_in_off_nothing_asks_for_it(make_server_for: Any, sqlite_url: str) -> None:
    server = make_server_for(sqlite_url)
    r = server.get("/login", allow_redirects=False)
    assert (r.status_code, r.headers["Location"]) == (303, "/")
    assert server.post("/logout", allow_redirects=False).headers["Location"] == "/"
    assert "kpis" in server.get("/api/overview").json()
    assert server.post("/api/events", json={"type": "open"}).status_code == 201  # a client that names no origin
    # A browser on another site is refused even so (DNS rebinding, CSRF without a session).
    assert (
        server.post("/api/events", json={"type": "open"}, headers={"Origin": "http://evil.example"}).status_code == 403
    )
    assert "Sign out" not in server.get("/_dash-layout").text


def saved_cookie(http: requests.Session) -> dict[str, str]:
    """The session cookie as an attacker (or a backup of the browser profile) would keep it."""
    return {"pulse_session": http.cookies["pulse_session"]}


def reads_with(server: Any, cookie: dict[str, str]) -> int:
    return requests.get(server.url + "/api/events", cookies=cookie, timeout=30).status_code


def test_a_cookie_saved_before_sign_out_is_refused_afterwards(secured: Any) -> None:
    name = uid("out")
    add(secured, name, "sign-out-pw-1", "viewer")
    http = sign_in(secured, name, "sign-out-pw-1")
    other_device = sign_in(secured, name, "sign-out-pw-1")
    cookie = saved_cookie(http)
    assert reads_with(secured, cookie) == 200
    assert http.post(secured.url + "/logout", allow_redirects=False, timeout=30).status_code == 303
    assert reads_with(secured, cookie) == 401
    assert other_device.get(secured.url + "/api/events", timeout=30).status_code == 401  # every session of the user
    again = sign_in(secured, name, "sign-out-pw-1")
    assert again.get(secured.url + "/api/events", timeout=30).status_code == 200


def test_a_cookie_saved_before_disable_does_not_come_back_with_enable(secured: Any) -> None:
    name = uid("dis")
    add(secured, name, "disable-pw-1", "viewer")
    cookie = saved_cookie(sign_in(secured, name, "disable-pw-1"))
    with secured.services.db.write() as conn:
        set_disabled(conn, name, True)
    assert reads_with(secured, cookie) == 401
    with secured.services.db.write() as conn:
        set_disabled(conn, name, False)
    assert reads_with(secured, cookie) == 401
    assert reads_with(secured, saved_cookie(sign_in(secured, name, "disable-pw-1"))) == 200


def test_a_cookie_saved_before_a_password_or_role_change_is_refused(secured: Any) -> None:
    name = uid("pw")
    add(secured, name, "password-pw-1", "viewer")
    cookie = saved_cookie(sign_in(secured, name, "password-pw-1"))
    with secured.services.db.write() as conn:
        set_password(conn, name, hash_password("password-pw-2"))
    assert reads_with(secured, cookie) == 401
    cookie = saved_cookie(sign_in(secured, name, "password-pw-2"))
    with secured.services.db.write() as conn:
        set_role(conn, name, "admin")
    assert reads_with(secured, cookie) == 401


def test_the_user_commands_end_sessions(secured: Any, module_db_url: str, tmp_path: Path) -> None:
    import io
    import sys

    from app import main

    name = uid("cli")
    add(secured, name, "command-pw-1", "viewer")
    common = ["--db", module_db_url, "--data-dir", str(tmp_path)]

    def user(*args: str) -> None:
        stdin, sys.stdin = sys.stdin, io.StringIO("command-pw-1\n")
        try:
            assert main(["user", *args, *common]) == 0
        finally:
            sys.stdin = stdin

    for args in (["role", name, "admin"], ["passwd", name, "--password-stdin"]):
        cookie = saved_cookie(sign_in(secured, name, "command-pw-1"))
        user(*args)
        assert reads_with(secured, cookie) == 401, args
    cookie = saved_cookie(sign_in(secured, name, "command-pw-1"))
    user("disable", name)
    user("enable", name)
    assert reads_with(secured, cookie) == 401


def test_users_active_is_readable_by_viewers_and_keys(secured: Any) -> None:
    viewer = sign_in(secured, "vic")
    assert viewer.get(secured.url + "/api/users/active", timeout=30).status_code == 200
    r = requests.get(secured.url + "/api/users/active", headers={"Authorization": f"Bearer {KEY}"}, timeout=30)
    assert r.status_code == 200
    assert viewer.get(secured.url + "/api/users", timeout=30).status_code in (403, 404)


def test_the_sign_in_redirect_keeps_every_filter(secured: Any) -> None:
    path = "/explore?type=scan&source=lab a&entity=x%26y"
    r = requests.get(secured.url + path, headers={"Accept": "text/html"}, allow_redirects=False, timeout=30)
    http = requests.Session()
    form = http.get(secured.url + r.headers["Location"], timeout=30)
    next_ = re.search(r'name="next" value="([^"]+)"', form.text)
    assert next_ is not None
    data = {
        "username": "vic",
        "password": PASSWORDS["vic"],
        "csrf_token": csrf_of(form.text),
        "next": html.unescape(next_.group(1)),
    }
    done = http.post(secured.url + "/login", data=data, allow_redirects=False, timeout=30)
    assert done.status_code == 303
    assert done.headers["Location"] == "/explore?type=scan&source=lab%20a&entity=x%26y"


def test_the_origin_must_name_the_same_scheme(secured: Any) -> None:
    http = sign_in(secured, "ada")
    https_origin = secured.url.replace("http://", "https://")
    r = http.post(secured.url + "/api/rules/probe", headers={"Origin": https_origin}, timeout=30)
    assert r.status_code == 403 and r.json() == CROSS_ORIGIN
    assert http.post(secured.url + "/api/rules/probe", timeout=30).status_code == 200
