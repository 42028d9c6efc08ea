"""Who may do what, in one table, enforced before every request when
dashboard sign-in (``--auth``) is on.

A request is made either by an API client with ``Authorization: Bearer <key>``
(reads and ingest; never administration) or by a browser with a session
cookie (a user with the role ``viewer`` or ``admin``). The first rule of
:data:`POLICY` that matches the path and method says what the request needs;
a path no rule matches needs a signed-in user to read and an admin to write,
so a write route added later is closed until it is listed here.

The app's own printer (web.pdf, for PDFs of pages) reaches it through a
loopback server of its own that lets in only the printing browser; its
requests read as a viewer's and may change nothing.

Requests from a session that change state (any method but GET/HEAD/OPTIONS,
and WebSocket handshakes) must come from the dashboard's own origin: the
``Origin`` header (or, without one, the ``Referer``) must name this scheme and
host. Requests with a Bearer key carry no ambient credential and are not checked.

With sign-in off (:func:`install_open_policy`) there is no credential to
steal, but a page elsewhere could still drive the dashboard through the
visitor's browser (DNS rebinding): the ``Host`` must be a loopback name, the
bound address or one of ``--allowed-hosts``, and a state-changing request or
WebSocket handshake that names an origin must name this one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import ipaddress
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, Response, current_app, g, redirect, request, session

from auth import share
from data.users import get_user_by_id
from services import Services
from settings import Settings
from web.cors import cors_allowed, is_preflight
from web.http import API_PREFIXES, error_response, presented_key
from web.pdf import PRINTER_ENVIRON

OPEN, VIEWER, INGEST, ADMIN = "open", "viewer", "ingest", "admin"
READ = frozenset({"GET", "HEAD"})
WRITE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ANY = READ | WRITE
SESSION_LIFETIME = timedelta(hours=12)  # from sign-in; then sign in again


@dataclasses.dataclass(frozen=True)
class Rule:
    pattern: str  # "/api/rules": that path and below it; "/assets/*": any path starting so
    methods: frozenset[str]
    needs: str  # open | viewer | ingest (an API key or an admin) | admin

    def matches(self, path: str, method: str) -> bool:
        """Whether the rule covers a request; a ``/*/`` inside the pattern stands for one path segment.

        >>> rule = Rule("/api/boards/*/shares", WRITE, ADMIN)
        >>> [rule.matches(p, "POST") for p in ("/api/boards/ops/shares", "/api/boards/ops/shares/t1", "/api/boards/ops")]
        [True, True, False]
        """
        if method not in self.methods:
            return False
        if "/*/" in self.pattern:
            head, _, rest = self.pattern.partition("/*/")
            if not path.startswith(head + "/"):
                return False
            _, slash, tail = path[len(head) + 1 :].partition("/")
            return bool(slash) and Rule("/" + rest, self.methods, self.needs).matches("/" + tail, method)
        if self.pattern.endswith("*"):
            return path.startswith(self.pattern[:-1])
        return path == self.pattern or path.startswith(self.pattern + "/")


POLICY: tuple[Rule, ...] = (
    Rule("/health", READ, OPEN),
    Rule("/api/health", READ, OPEN),
    Rule("/login", READ | {"POST"}, OPEN),  # the form carries its own CSRF token
    Rule("/logout", frozenset({"POST"}), OPEN),  # same-origin checked by the view
    Rule("/exports/unsubscribe", READ | {"POST"}, OPEN),  # a report mail's signed link (jobs.reports)
    Rule("/assets/*", READ, OPEN),
    Rule("/_dash-component-suites/*", READ, OPEN),  # Dash's JavaScript bundles
    Rule("/_favicon.ico", READ, OPEN),
    # Every Dash callback posts here, reads included; callbacks that change state check the role themselves.
    Rule("/_dash-update-component", frozenset({"POST"}), VIEWER),
    # Ingest: an API key (or a signed-in admin).
    Rule("/api/events", frozenset({"POST"}), INGEST),
    Rule("/api/sessions", frozenset({"POST"}), INGEST),
    Rule("/api/executions", frozenset({"POST"}), INGEST),
    Rule("/api/components", frozenset({"PUT"}), INGEST),
    Rule("/ingest", frozenset({"POST"}), INGEST),
    Rule("/session", frozenset({"POST"}), INGEST),
    # Administration: alert rules, silences, alert actions, export schedules, backups, users and keys.
    Rule("/api/rules*", WRITE, ADMIN),
    Rule("/api/silences*", WRITE, ADMIN),
    Rule("/api/alerts/*", WRITE, ADMIN),
    Rule("/api/exports*", WRITE, ADMIN),
    Rule("/api/backup*", ANY, ADMIN),  # a backup holds password hashes: not for viewers
    Rule("/api/users/active", READ, VIEWER),  # who is online: a documented read route
    Rule("/api/users*", ANY, ADMIN),
    Rule("/api/keys*", ANY, ADMIN),
    # Boards: share links are an admin's; any signed-in user makes boards, and changes
    # those they own (an admin any board): the views check the owner.
    Rule("/api/boards/*/shares", ANY, ADMIN),
    Rule("/api/boards", WRITE, VIEWER),
    Rule("/api/annotations", WRITE, VIEWER),
    # The payments app's admin analytics: an API key or a signed-in admin reads; clearing the caches needs an admin.
    Rule("/admin/api", READ, INGEST),
    Rule("/admin/*", ANY, ADMIN),
)


def needs(path: str, method: str) -> str:
    """What a request needs.

    >>> needs("/api/rules/3", "DELETE"), needs("/api/rules", "GET"), needs("/assets/x.css", "GET")
    ('admin', 'viewer', 'open')
    >>> needs("/api/new-write-route", "POST")
    'admin'
    """
    if method == "OPTIONS":
        return OPEN  # CORS preflights carry no credentials and change nothing
    for rule in POLICY:
        if rule.matches(path, method):
            return rule.needs
    return VIEWER if method in READ else ADMIN


@dataclasses.dataclass(frozen=True)
class Principal:
    name: str
    role: str  # viewer | admin


def password_version(password_hash: str) -> str:
    """Stored in the session: changing the password ends every session made with the old one."""
    secret = str(current_app.secret_key).encode()
    return hmac.new(secret, password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def sign_in(user: dict[str, Any], now_epoch: float, csrf: str) -> None:
    session.clear()  # a fresh session: nothing from before sign-in survives it
    session.permanent = True
    session.update(
        uid=user["id"],
        ver=password_version(user["password_hash"]),
        gen=int(user.get("session_gen") or 0),
        iat=int(now_epoch),
        csrf=csrf,
    )


def session_user(services: Services) -> Principal | None:
    """The signed-in user of this request, or None (and the cookie cleared) when the
    session is missing, expired, for a removed or disabled user, or made before the user's
    session generation last moved (sign-out, disable, a role or password change)."""
    uid = session.get("uid")
    if not isinstance(uid, int):
        return None
    with services.db.read() as conn:
        user = get_user_by_id(conn, uid)
    iat = session.get("iat")
    age = services.now().timestamp() - iat if isinstance(iat, int) else None
    if (
        user is None
        or user["disabled"]
        or age is None
        or not 0 <= age < SESSION_LIFETIME.total_seconds() + 60  # 60: clock skew between workers
        or session.get("gen") != int(user.get("session_gen") or 0)
        or not hmac.compare_digest(str(session.get("ver", "")), password_version(user["password_hash"]))
    ):
        session.clear()
        return None
    g.pulse_uid = user["id"]
    return Principal(user["username"], user["role"])


def same_origin() -> bool:
    """Whether ``Origin`` (or else ``Referer``) names this scheme and host: the request came from our own pages."""
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.scheme == request.scheme and parts.netloc.lower() == request.host.lower()


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def host_allowed(host: str, settings: Settings) -> bool:
    """Whether a ``Host`` header names this server without sign-in: ``localhost``
    (or a name under it), a loopback address, the bound address, or ``--allowed-hosts``.

    >>> s = Settings(allowed_hosts="dash.example")
    >>> [host_allowed(h, s) for h in ("127.0.0.1:8050", "[::1]:80", "localhost", "dash.example:8050", "evil.example")]
    [True, True, True, True, False]
    """
    name = _host_name(host.strip().lower()).rstrip(".")
    if not name:
        return False
    if name == "localhost" or name.endswith(".localhost") or name in settings.hosts():
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or (name == settings.host and not address.is_unspecified)


def check_open_request(settings: Settings) -> Response | None:
    """The before-request hook with sign-in off: a foreign ``Host`` or ``Origin`` is refused."""
    if not host_allowed(request.host, settings):
        return error_response(
            421, "this Host is not served here without sign-in; list it in --allowed-hosts, or turn on --auth"
        )
    websocket = request.headers.get("Upgrade", "").lower() == "websocket"
    if request.method not in READ | {"OPTIONS"} or websocket:
        named = request.headers.get("Origin") or request.headers.get("Referer")
        # A browser always names the origin of a cross-site write or socket; other clients name none.
        # An origin listed in --cors-origins is one the operator trusts to call the API.
        origin = request.headers.get("Origin")
        listed = origin is not None and request.path.startswith(API_PREFIXES) and cors_allowed(origin, settings)
        if named is not None and not same_origin() and not listed:
            return error_response(
                403, "cross-origin request refused: state-changing requests must come from the dashboard's own pages"
            )
    return None


def _wants_json(path: str) -> bool:
    if request.method not in READ or path.startswith((*API_PREFIXES, "/_dash-", "/metrics", "/ws")):
        return True
    return request.headers.get("Upgrade", "").lower() == "websocket" or "text/html" not in request.headers.get(
        "Accept", ""
    )


def _unauthenticated(path: str, need: str) -> Response:
    if need == INGEST:
        return error_response(401, "a valid API key is required: send 'Authorization: Bearer <key>'")
    if _wants_json(path):
        return error_response(401, "sign in, or send a valid API key as 'Authorization: Bearer <key>'")
    target = request.full_path if request.query_string else path
    # Encoded whole: "&" in the query would otherwise end the next parameter.
    return redirect(f"/login?next={quote(target, safe='/')}", 302)  # type: ignore[return-value]


def check_request(services: Services) -> Response | None:
    """The before-request hook: None lets the request on, a response refuses it."""
    path, method = request.path, request.method
    need = needs(path, method)
    if need == OPEN or (is_preflight() and services.settings.origins()):
        return None  # a preflight carries no credentials; Flask-CORS answers it
    if request.environ.get(PRINTER_ENVIRON):  # the app's own printer (web.pdf): it reads as a viewer
        if need in (ADMIN, INGEST):
            return error_response(403, "the printer only reads")
        g.pulse_user, g.pulse_role = "pulseboard-printer", VIEWER
        return None
    if presented_key() is not None:
        if need == ADMIN:
            return error_response(403, "API keys may read and ingest; this needs a signed-in admin")
        g.pulse_user, g.pulse_role = "api-key", "key"
        return None
    if request.headers.get("Authorization"):
        return error_response(401, "a valid API key is required: send 'Authorization: Bearer <key>'")
    user = session_user(services)
    if user is None:
        shared = share.scope(services)
        if shared is not None and share.allows(shared, path, method, _dash_body(path)):
            g.pulse_user, g.pulse_role = None, share.ROLE  # reads the shared board only; no write
            return None
        return _unauthenticated(path, need)
    websocket = request.headers.get("Upgrade", "").lower() == "websocket"
    if (method not in READ or websocket) and not same_origin():
        return error_response(
            403, "cross-origin request refused: state-changing requests must come from the dashboard's own pages"
        )
    if need in (ADMIN, INGEST) and user.role != "admin":
        what = "this needs the admin role" if need == ADMIN else "ingest needs an API key or the admin role"
        return error_response(403, f"{what}; {user.name} is a {user.role}")
    g.pulse_user, g.pulse_role = user.name, user.role
    return None


def _dash_body(path: str) -> Any:
    return request.get_json(silent=True, cache=True) if path == "/_dash-update-component" else None


def install_policy(server: Flask, services: Services) -> None:
    @server.before_request
    def _policy() -> Response | None:
        return check_request(services)


def install_open_policy(server: Flask, settings: Settings) -> None:
    @server.before_request
    def _open_policy() -> Response | None:
        return check_open_request(settings)


def current_role() -> str:
    """The role of this request's user for code that changes state (Dash callbacks):
    ``admin`` when sign-in is off (everyone is), else ``admin``, ``viewer`` or ``key``;
    the app's own printer is a viewer either way (a printed page shows no edit controls)."""
    if request.environ.get(PRINTER_ENVIRON):
        return VIEWER
    if not current_app.config.get("PULSE_AUTH"):
        return "admin"
    return str(g.get("pulse_role") or "")


def current_user() -> str | None:
    """The signed-in user's name, or None (sign-in off, or an API client)."""
    name = g.get("pulse_user")
    return name if isinstance(name, str) and g.get("pulse_role") in ("viewer", "admin") else None
