"""Share links: ``/boards/<uid>?share=<token>`` shows one board read-only,
without sign-in, for as long as its link is not revoked.

Opening the link checks the token (``data.boards.board_for_token``); a
revoked or unknown one answers a page that says so, with sign-in on or off.
With sign-in on, a valid token lets through exactly that board's page and
the Dash requests that draw it: the page's GET, Dash's layout and
dependencies, and ``/_dash-update-component`` posts whose outputs are the
board page's and whose inputs name no other board or page. Those posts
carry no ``share`` parameter, so opening the link sets a signed cookie
(``pulse_share``, HttpOnly, SameSite=Lax) holding the token; every request
that relies on it looks the token up again, so a revoked link stops at
once. The requests run with the role ``share``: no write, no star, no note.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer

from data import boards as store
from services import Services

COOKIE = "pulse_share"
PARAM = "share"
ROLE = "share"
BOARD_PATH = re.compile(r"^/boards/([a-z0-9][a-z0-9-]*)/?$")
# What the board page's callbacks write: the shell's page and navigation, the time bar, the board.
OUTPUTS = ("page", "time-range", "tb-", "timebar", "refresh", "nav-", "theme", "board-url", "bd-")
NOT_OUTPUTS = ("bd-list", "bd-message", "bd-changed")  # the list of every board is not the shared board
REVOKED = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Link revoked · Pulseboard</title>
<link rel="stylesheet" href="/assets/00-bootstrap-5.3.9.min.css"></head>
<body class="p-4"><main class="container" style="max-width: 40rem">
<h1 class="h3">This link was revoked</h1>
<p class="pb-share-revoked">The share link you opened no longer shows this board: whoever shared it
revoked it (or it never existed). Ask them for a new link, or <a href="/login">sign in</a>.</p>
</main></body></html>"""


def link(uid: str, token: str) -> str:
    """The share page's address (a path) for a board's token.

    >>> link("ops", "a-b_c")
    '/boards/ops?share=a-b_c'
    """
    return f"/boards/{uid}?{urlencode({PARAM: token})}"


def _serializer() -> URLSafeSerializer | None:
    secret = current_app.secret_key
    return URLSafeSerializer(str(secret), salt="pulse-share-link") if secret else None


def board_of(services: Services, token: str) -> str | None:
    """The uid of the board a live (not revoked) token shows."""
    with services.db.read() as conn:
        found = store.board_for_token(conn, token)
    return found.uid if found is not None else None


def check_link(services: Services) -> Response | None:
    """Before every request: the share page itself, its token checked."""
    match = BOARD_PATH.match(request.path)
    token = request.args.get(PARAM)
    if request.method not in ("GET", "HEAD") or match is None or not token:
        return None
    if board_of(services, token) != match.group(1):
        return Response(REVOKED, status=410, mimetype="text/html")
    g.pulse_share = match.group(1)
    g.pulse_share_token = token
    return None


def scope(services: Services) -> str | None:
    """The board this request may read through a share link (the page's token, or the cookie's)."""
    if g.get("pulse_share"):
        return str(g.pulse_share)
    raw, serializer = request.cookies.get(COOKIE), _serializer()
    if not raw or serializer is None:
        return None
    try:
        token = serializer.loads(raw)
    except BadSignature:
        return None
    return board_of(services, token) if isinstance(token, str) else None


def allows(uid: str, path: str, method: str, body: Any) -> bool:
    """Whether a request reading the shared board ``uid`` may go on.

    >>> allows("ops", "/boards/ops", "GET", None), allows("ops", "/boards/other", "GET", None)
    (True, False)
    >>> page = {"output": "page.children", "outputs": {"id": "page", "property": "children"},
    ...         "inputs": [{"id": "url", "property": "pathname", "value": "/explore"}]}
    >>> allows("ops", "/_dash-update-component", "POST", page)
    False
    >>> page["inputs"][0]["value"] = "/boards/ops"
    >>> allows("ops", "/_dash-update-component", "POST", page)
    True
    """
    if method in ("GET", "HEAD"):
        match = BOARD_PATH.match(path)
        return (match is not None and match.group(1) == uid) or path in ("/_dash-layout", "/_dash-dependencies")
    if path != "/_dash-update-component" or method != "POST" or not isinstance(body, dict):
        return False
    outputs = body.get("outputs")
    outputs = outputs if isinstance(outputs, list) else [outputs]
    for out in _flat(outputs):
        if not isinstance(out, dict) or not _name(out.get("id")).startswith(OUTPUTS):
            return False
        if _name(out.get("id")).startswith(NOT_OUTPUTS) or not _names_only(uid, {**out, "value": None}):
            return False
    return all(_names_only(uid, item) for item in _flat([*(body.get("inputs") or []), *(body.get("state") or [])]))


def _flat(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        out.extend(_flat(item) if isinstance(item, list) else [item])
    return out


def _name(id_: Any) -> str:
    if isinstance(id_, dict):
        return str(id_.get("type", ""))
    return str(id_ or "")


def _names_only(uid: str, item: Any) -> bool:
    """An input that names a page or a board names the shared board."""
    if not isinstance(item, dict):
        return False
    id_, prop, value = item.get("id"), item.get("property"), item.get("value")
    if isinstance(id_, dict) and "uid" in id_ and id_["uid"] != uid:
        return False
    if id_ == "url" and prop == "pathname":
        return isinstance(value, str) and value.rstrip("/") == f"/boards/{uid}"
    if id_ in ("bd-uid", "bd-board") and isinstance(value, dict):
        return value.get("uid") == uid
    return True


def install(server: Flask, services: Services) -> None:
    """The share page's check (before the access policy, which asks :func:`scope`), and its cookie."""

    @server.before_request
    def _share_link() -> Response | None:
        return check_link(services)

    @server.after_request
    def _share_cookie(response: Response) -> Response:
        token, serializer = g.get("pulse_share_token"), _serializer()
        if token and serializer is not None and response.status_code == 200:
            response.set_cookie(
                COOKIE, serializer.dumps(token), httponly=True, samesite="Lax", secure=request.is_secure, path="/"
            )
        return response
