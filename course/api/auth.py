"""Who is calling the API: a personal access token in `Authorization: Bearer …`, and nothing else.

An /api request has no session at all (`ApiSessionInterface` opens none, so the session cookie is never read):
a browser's cookie cannot act through the API, which is why the API needs no CSRF token. The token is read by
flask-login's request loader (`load_api_user`), which answers None on every other request: a bearer header never
logs anyone in on a page. Failed lookups are limited per client address (`RATELIMIT_API_AUTH_FAILURES`), and each
request counts against its user's limit (`RATELIMIT_API`), in the UI's storage (Flask-Limiter's)."""

from __future__ import annotations

import copy
import time
from contextlib import suppress

from flask import Flask, Request, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from course.accounts import api_tokens, mfa
from course.accounts.models import User
from course.api.problems import fail, is_api_path
from course.ratelimit import api_auth_failures_wait, api_request_wait, count_api_auth_failure
from course.sql import writing

PUBLIC_ENDPOINTS = frozenset({"api.openapi", "api.docs"})


OPENED_KEPT = 1024  # session cookies a process keeps opened (a few hundred bytes each)


class ApiSessionInterface(SecureCookieSessionInterface):
    """The app's signed-cookie sessions, except under /api, where a request has none.

    A cookie is verified (its signature, with itsdangerous) and decoded once per process: the cookie's exact value
    is kept with what it held and when it was signed, and the next request sending the same value gets a copy
    of that, still refused once it is older than the session's lifetime. Only a value that verified is kept, so a
    changed cookie is verified like any other; the keys changing starts over. Opening the cookie was about 5 % of
    a page (docs/PERFORMANCE.md, "Round eight")."""

    _signing: tuple[tuple, URLSafeTimedSerializer | None, dict[str, tuple[int, dict]]] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask's serializer, built once for the app's keys (Flask builds it for every request that opens or saves
        a session; it holds nothing of a request)."""
        return self._signing_for(app)[1]

    def _signing_for(self, app: Flask) -> tuple[tuple, URLSafeTimedSerializer | None, dict[str, tuple[int, dict]]]:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        signing = self._signing
        if signing is None or signing[0] != keys:
            signing = self._signing = (keys, super().get_signing_serializer(app), {})
        return signing

    def open_session(self, app: Flask, request):  # type: ignore[override]
        if is_api_path(request.path):
            return self.make_null_session(app)
        _keys, serializer, opened = self._signing_for(app)
        value = request.cookies.get(self.get_cookie_name(app))
        if serializer is None or not value:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        kept = opened.get(value)
        if kept is None:
            try:
                data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
            except BadSignature:
                return self.session_class()
            kept = (int(signed_at.timestamp()), data)
            if len(opened) >= OPENED_KEPT:
                with suppress(KeyError, RuntimeError, StopIteration):  # another thread may be evicting too
                    del opened[next(iter(opened))]  # the oldest
            opened[value] = kept
        else:
            age = int(time.time()) - kept[0]  # as itsdangerous counts it
            if age > max_age or age < 0:
                return self.session_class()
        return self.session_class(_unshared(kept[1]))


_PLAIN = (str, int, float, bool, type(None))


def _unshared(data: dict) -> dict:
    """A request's own copy of a kept session, with its own lists and dicts (flashed messages are appended in
    place)."""
    return {key: value if type(value) in _PLAIN else copy.deepcopy(value) for key, value in data.items()}


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
