"""Signed, expiring, single-use links for setting a password (new accounts from CSV, password reset)."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from course.auth.models import User
from course.extensions import db

SALT = "set-password"
MAX_AGE_SECONDS = 7 * 24 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_set_password_token(user: User) -> str:
    # The session token is part of the link: setting the password rotates it, so the link works once.
    return _serializer().dumps({"u": user.id, "t": user.session_token})


def user_for_token(token: str) -> User | None:
    try:
        data = _serializer().loads(token, max_age=MAX_AGE_SECONDS)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict):
        return None
    user = db.session.get(User, data.get("u"))
    if user is None or not user.active or user.session_token != data.get("t"):
        return None
    return user
