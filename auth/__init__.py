"""Dashboard sign-in: users and roles, session cookies, CSRF checks, and the
access policy (``auth/policy.py``) that every request passes when ``--auth`` is on."""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from auth import share
from auth.policy import SESSION_LIFETIME, current_role, current_user, install_open_policy, install_policy
from auth.secret import load_secret_key
from auth.views import csrf_token, register_views
from data.users import count_users
from services import Services
from web.http import SECURITY_HEADERS

__all__ = ["current_role", "current_user", "csrf_token", "register_auth"]
log = logging.getLogger(__name__)


class _SessionInterface(SecureCookieSessionInterface):
    """Session cookies are ``Secure`` whenever the request came over HTTPS (behind a
    proxy: when it says so in X-Forwarded-Proto and ``--trusted-proxies`` is set)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(request.is_secure)


def register_auth(server: Flask, services: Services) -> None:
    settings = services.settings
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]
    server.config["PULSE_AUTH"] = settings.auth
    server.config.update(
        SESSION_COOKIE_NAME="pulse_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    server.session_interface = _SessionInterface()
    register_views(server, services)

    @server.after_request
    def _no_framing(response: Response) -> Response:
        headers = response.headers
        for name, value in SECURITY_HEADERS:
            headers.setdefault(name, value)
        return response

    services.signing_key = load_secret_key(settings)  # also for links mailed out with sign-in off
    if settings.auth:
        server.secret_key = services.signing_key
        share.install(server, services)  # before the policy, which reads the share link's scope
        install_policy(server, services)
        with services.db.read() as conn:
            if count_users(conn) == 0:
                log.warning(
                    "sign-in is on but there are no users: add one with 'python app.py user add NAME --role admin'"
                )
        if not settings.keys():
            log.info("sign-in is on and no API keys are set: ingest routes accept signed-in admins only")
    else:
        install_open_policy(server, settings)
        share.install(server, services)  # a revoked link says so, sign-in or not
