"""Signed, expiring, single-use links for setting a password: for accounts created by CSV enrolment
("set-password", valid 7 days) and for password resets ("reset-password", valid PASSWORD_RESET_MAX_AGE)."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from course.accounts.models import User
from course.extensions import db

SET_PASSWORD = "set-password"  # noqa: S105 - a token purpose, not a password
RESET_PASSWORD = "reset-password"  # noqa: S105
SEVEN_DAYS = 7 * 24 * 3600


def _max_age(purpose: str) -> int:
    return SEVEN_DAYS if purpose == SET_PASSWORD else current_app.config["PASSWORD_RESET_MAX_AGE"]


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)


def _session_digest(user: User) -> str:
    """What a link holds of the user's session token: a digest, for the payload is signed, not secret, and the
    token itself is what the login cookie carries. Setting the password rotates the token: the link works once."""
    return hashlib.sha256(user.session_token.encode()).hexdigest()[:32]


def make_token(user: User, purpose: str = SET_PASSWORD) -> str:
    return _serializer(purpose).dumps({"u": user.id, "s": _session_digest(user)})


def make_set_password_token(user: User) -> str:
    return make_token(user, SET_PASSWORD)


def user_for_token(token: str, purpose: str = SET_PASSWORD) -> User | None:
    try:
        data = _serializer(purpose).loads(token, max_age=_max_age(purpose))
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict):
        return None
    user = db.session.get(User, data.get("u"))
    if user is None or not user.active or not _same_session(user, data):
        return None
    return user


def _same_session(user: User, data: dict) -> bool:
    if "s" in data:
        return hmac.compare_digest(_session_digest(user), str(data["s"]))
    # A link made before 2026-12-04 carries the token itself ("t"); such links expire within seven days of it.
    return hmac.compare_digest(user.session_token, str(data.get("t", "")))
