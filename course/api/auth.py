"""Who is calling the API: a personal access token in `Authorization: Bearer …`, and nothing else.

An /api request has no session at all (`ApiSessionInterface` opens none, so the session cookie is never read):
a browser's cookie cannot act through the API, which is why the API needs no CSRF token. The token is read by
flask-login's request loader (`load_api_user`), which answers None on every other request: a bearer header never
logs anyone in on a page. Failed lookups are limited per client address (`RATELIMIT_API_AUTH_FAILURES`), and each
request counts against its user's limit (`RATELIMIT_API`), in the UI's storage (Flask-Limiter's)."""

from __future__ import annotations

from flask import Flask, Request, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from itsdangerous import URLSafeTimedSerializer

from course.accounts import api_tokens, mfa
from course.accounts.models import User
from course.api.problems import fail, is_api_path
from course.ratelimit import api_auth_failures_wait, api_request_wait, count_api_auth_failure
from course.sql import writing

PUBLIC_ENDPOINTS = frozenset({"api.openapi", "api.docs"})


class ApiSessionInterface(SecureCookieSessionInterface):
    """The app's signed-cookie sessions, except under /api, where a request has none."""

    _signing: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask's serializer, built once for the app's keys (Flask builds it for every request that opens or saves
        a session; it holds nothing of a request)."""
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        signing = self._signing
        if signing is None or signing[0] != keys:
            signing = self._signing = (keys, super().get_signing_serializer(app))
        return signing[1]

    def open_session(self, app: Flask, request):  # type: ignore[override]
        if is_api_path(request.path):
            return self.make_null_session(app)
        return super().open_session(app, request)


def load_api_user(incoming: Request) -> User | None:
    """flask-login's request loader: the user of an /api request's live bearer token (the token and its scopes
    in `g`), else None, with why in `g.api_refusal` for `authenticate` to answer. None on every other request."""
    if not is_api_path(incoming.path) or incoming.endpoint in PUBLIC_ENDPOINTS:
        return None
    scheme, _, secret = incoming.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        g.api_refusal = "missing"
        return None
    if wait := api_auth_failures_wait(incoming.remote_addr):
        g.api_refusal, g.api_wait = "throttled", wait
        return None
    found = api_tokens.authenticate(secret.strip())
    if found is None:
        count_api_auth_failure(incoming.remote_addr)
        g.api_refusal = "unknown"
        return None
    g.api_token, user = found
    g.api_scopes = api_tokens.granted(g.api_token, user)
    return user


def unauthorised(detail: str) -> None:
    fail(401, detail, slug="unauthorised", headers={"WWW-Authenticate": 'Bearer realm="api"'})


def authenticate() -> None:
    """The blueprint's `before_request`: the caller in `g.api_user` (flask-login's `current_user` too, so the
    audit log names them), or a 401 problem (429 after too many failed tokens from this address); then the
    user's rate limit (a 429 problem with Retry-After)."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    user = current_user._get_current_object()
    if not user.is_authenticated:
        refusal = g.get("api_refusal")
        if refusal == "throttled":
            _too_many(g.api_wait, "Too many unknown tokens from this address.")
        if refusal == "missing":
            unauthorised("Send a personal access token: Authorization: Bearer fc_pat_…")
        unauthorised("This token is unknown, expired or revoked.")
    g.api_user = user
    g.api_needs_two_step = mfa.needs_setup(user)  # staff without their app: no staff scope works (spec.py)
    if wait := api_request_wait(user.id):
        _too_many(wait, "Too many requests.")
    if api_tokens.use_is_due(g.api_token):
        with writing():
            api_tokens.mark_used(g.api_token.id)


def _too_many(wait: int, why: str) -> None:
    fail(429, f"{why} Try again in {wait} seconds.", headers={"Retry-After": str(wait)})
