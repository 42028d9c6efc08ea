"""``/login`` (a form; POST signs in) and ``/logout`` (POST signs out, ending
every session of the user: the cookie of this browser, any copy of it, and
those of the user's other devices).

The form carries a CSRF token kept in the session (so no other site can sign
a browser in to an account of its choosing); failed sign-ins are limited per
client address, where ``--rate-limit-storage`` keeps the API's limits (so
with the database, on PostgreSQL by default, across all nodes: 10 failures a
minute there, where this process's own bucket refills one every 6 seconds).
With sign-in off both routes send the browser to the overview.
"""

from __future__ import annotations

import hmac
import math
import secrets
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, redirect, render_template_string, request, session

from api.limits import make_limit
from auth.passwords import verify_password
from auth.policy import same_origin, session_user, sign_in
from data.users import end_sessions, get_user
from services import Services

# Failed sign-ins per client address: 10 at once, then one more every 6 seconds (in a shared
# store: 10 in each window of a minute).
FAILURES_BURST, FAILURES_PER_SECOND = 10.0, 1 / 6

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <title>Sign in · Pulseboard</title>
  <link rel="stylesheet" href="/assets/00-bootstrap-5.3.9.min.css">
  <link rel="icon" href="/_favicon.ico">
  <style>
    body { min-height: 100vh; display: flex; align-items: center; justify-content: center; background: var(--bs-tertiary-bg); }
    .pb-signin { width: 100%; max-width: 380px; }
    .pb-logo { color: #0d6efd; }
  </style>
</head>
<body>
  <main class="pb-signin p-3">
    <div class="card shadow-sm">
      <div class="card-body p-4">
        <h1 class="h4 mb-1"><span class="pb-logo me-2">●</span>Pulseboard</h1>
        <p class="text-body-secondary mb-4">Sign in to see the dashboard.</p>
        {% if message %}<div class="alert alert-{{ level }} py-2" role="alert" id="signin-message">{{ message }}</div>{% endif %}
        <form method="post" action="/login" novalidate>
          <input type="hidden" name="csrf_token" value="{{ csrf }}">
          <input type="hidden" name="next" value="{{ next }}">
          <div class="mb-3">
            <label for="username" class="form-label">User name</label>
            <input class="form-control" id="username" name="username" value="{{ username }}" autocomplete="username" required autofocus>
          </div>
          <div class="mb-4">
            <label for="password" class="form-label">Password</label>
            <input class="form-control" id="password" name="password" type="password" autocomplete="current-password" required>
          </div>
          <button class="btn btn-primary w-100" type="submit">Sign in</button>
        </form>
      </div>
    </div>
    <p class="text-center text-body-secondary small mt-3">No account? An admin adds one with <code>python app.py user add NAME</code>.</p>
  </main>
</body>
</html>
"""


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path on this site only (never //host or /\\host).

    >>> safe_next("/explore?type=scan"), safe_next("//evil.example"), safe_next("https://evil.example"), safe_next(None)
    ('/explore?type=scan', '/', '/', '/')
    """
    if (
        not target
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(c in target for c in "\r\n\t")
    ):
        return "/"
    return target


def csrf_token() -> str:
    """This browser's CSRF token (made on first use, kept in its session)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _page(
    status: int = 200,
    *,
    message: str = "",
    level: str = "danger",
    username: str = "",
    next_: str = "/",
    headers: dict[str, str] | None = None,
) -> Response:
    html = render_template_string(PAGE, message=message, level=level, csrf=csrf_token(), next=next_, username=username)
    response = Response(html, status=status, mimetype="text/html", headers=headers)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def register_views(server: Flask, services: Services) -> None:
    bp = Blueprint("auth", __name__)
    failures = make_limit(services, FAILURES_PER_SECOND, FAILURES_BURST, name="signin")
    server.extensions["pulseboard_login_failures"] = failures

    def auth_on() -> bool:
        return bool(current_app.config.get("PULSE_AUTH"))

    @bp.get("/login")
    def login_form() -> Any:
        if not auth_on():
            return redirect("/", 303)
        next_ = safe_next(request.args.get("next"))
        if session_user(services) is not None:
            return redirect(next_, 303)
        return _page(next_=next_)

    @bp.post("/login")
    def login() -> Any:
        if not auth_on():
            return redirect("/", 303)
        form = request.form
        next_ = safe_next(form.get("next"))
        username = (form.get("username") or "").strip()[:100]
        expected = session.get("csrf")
        if not isinstance(expected, str) or not hmac.compare_digest(
            form.get("csrf_token", "").encode(), expected.encode()
        ):
            return _page(400, message="The sign-in form expired; please try again.", username=username, next_=next_)
        wait = failures.take(("addr", request.remote_addr))
        if wait:
            retry = max(1, math.ceil(wait))
            return _page(
                429,
                message=f"Too many failed sign-ins; try again in {retry} s.",
                username=username,
                next_=next_,
                headers={"Retry-After": str(retry)},
            )
        with services.db.read() as conn:
            user = get_user(conn, username) if username else None
        ok = verify_password(form.get("password") or "", user["password_hash"] if user else None)
        if not ok or user is None or user["disabled"]:
            return _page(401, message="Wrong user name or password.", username=username, next_=next_)
        # A successful sign-in gives its token back: only failures count.
        failures.refund(("addr", request.remote_addr))
        sign_in(user, services.now().timestamp(), secrets.token_urlsafe(32))
        return redirect(next_, 303)

    @bp.post("/logout")
    def logout() -> Any:
        if not auth_on():
            return redirect("/", 303)
        token = session.get("csrf")
        sent = request.form.get("csrf_token", "")
        from_us = same_origin() or (isinstance(token, str) and hmac.compare_digest(sent.encode(), token.encode()))
        if not from_us:
            return Response("cross-origin sign-out refused", status=403, mimetype="text/plain")
        if session_user(services) is not None:
            # The cookie is signed, not stored: a copy saved before sign-out must stop working too.
            with services.db.write() as conn:
                end_sessions(conn, g.pulse_uid)
        session.clear()
        return redirect("/login", 303)

    server.register_blueprint(bp)
