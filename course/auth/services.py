"""Accounts: creating users, checking passwords, loading the user of a session."""

from __future__ import annotations

from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import bindparam, select

from course.auth.models import Role, User, new_session_token
from course.db_types import utcnow
from course.extensions import db

# Verifying against this keeps a login for an unknown email as slow as one for a known email.
_DUMMY_HASH_PASSWORD = "not-a-real-password"  # noqa: S105


class AccountError(ValueError):
    pass


def _hasher() -> PasswordHasher:
    hasher = current_app.extensions.get("password_hasher")
    if hasher is None:
        cfg = current_app.config
        hasher = PasswordHasher(
            time_cost=cfg["ARGON2_TIME_COST"],
            memory_cost=cfg["ARGON2_MEMORY_COST"],
            parallelism=cfg["ARGON2_PARALLELISM"],
        )  # argon2id is argon2-cffi's default type
        current_app.extensions["password_hasher"] = hasher
        current_app.extensions["password_dummy_hash"] = hasher.hash(_DUMMY_HASH_PASSWORD)
    return hasher


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(email: str, password: str, name: str = "", role: Role | str = Role.LEARNER) -> User:
    email = normalise_email(email)
    if find_user(email) is not None:
        raise AccountError("an account with this email already exists")
    user = User(
        email=email,
        name=name.strip() or email.split("@")[0],
        password_hash=hash_password(password),
        role=Role(role),
    )
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user if the email and password match an active account, else None (same cost either way)."""
    hasher = _hasher()
    user = find_user(email)
    stored = user.password_hash if user else current_app.extensions["password_dummy_hash"]
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    end_all_sessions(user)


def end_all_sessions(user: User) -> None:
    """Rotate the session token: every cookie that carries the old one stops working, on every instance."""
    user.session_token = new_session_token()


_BY_SESSION_TOKEN = select(User).where(User.session_token == bindparam("token"))  # every request: built once


def load_user(token: str) -> User | None:
    user = db.session.scalar(_BY_SESSION_TOKEN, {"token": token})
    return user if user is not None and user.active else None


def is_safe_next(target: str | None) -> bool:
    """Follow `next` only to a path on this site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
