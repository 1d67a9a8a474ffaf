"""Login sessions: one row per signed-in browser (`LoginSession`), whose secret the session cookie carries,
and the session's lifetime — an idle timeout and an absolute timeout, checked on every request.

Every request loads its user through its login session's row (`load_user`), so deleting the row ends that
session at its next request, on every instance: logging out ends this browser's, logging out everywhere, a
password change or a disabled account ends all of the user's.

The user a request loads (`current_user`) is a `SignedInUser`: their columns as plain values, read by one core
statement; what a page shows of them and every check of who they are reads those. A view that changes the user, or
hands them to a service that changes or stores them, takes the ORM row: `signed_in_user()`.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta

from flask import Flask, abort, current_app, flash, g, session
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import Row, bindparam, delete, select

from course.accounts.models import Account, LoginSession, User
from course.db_types import utcnow
from course.extensions import db

SEEN_REFRESH_SECONDS = 60  # rewrite the cookie at most once a minute


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def open_session(user: User) -> str:
    """A new login session for `user`; returns its secret (what the cookie will carry). Sessions of the user
    past the absolute lifetime are cleared away on the way."""
    oldest = utcnow() - timedelta(hours=current_app.config["SESSION_MAX_HOURS"])
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.created_at < oldest))
    secret = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, secret_digest=_digest(secret)))
    db.session.flush()
    user.login_secret = secret
    return secret


def close_session(secret: str | None) -> None:
    """End one login session (this browser's logout)."""
    if secret:
        db.session.execute(delete(LoginSession).where(LoginSession.secret_digest == _digest(secret)))


def close_all_sessions(user: User) -> None:
    """End every login session of `user`, on every device and instance."""
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


def close_other_sessions(user: User) -> None:
    """End every login session of `user` but the one it was loaded for (after a change to how they sign in:
    a session opened before it, by whoever, must sign in the new way)."""
    query = delete(LoginSession).where(LoginSession.user_id == user.id)
    if user.login_secret:
        query = query.where(LoginSession.secret_digest != _digest(user.login_secret))
    db.session.execute(query)


class SignedInUser(Account):
    """The user a request is signed in as (flask-login's `current_user`): their row's columns as plain values.

    Loading the row as an ORM object cost a twelfth of a page (the object built, put in the session's identity map
    and taken out again at its end); a page only reads who the user is. `signed_in_user()` gives the ORM row."""

    __slots__ = ("id", "email", "name", "role", "active", "language", "time_zone", "from_platform", "login_secret")

    def __init__(self, row: Row, login_secret: str) -> None:
        self.id, self.email, self.name, self.role, self.active, self.language, self.time_zone, self.from_platform = row
        self.login_secret = login_secret

    def __repr__(self) -> str:
        return f"<SignedInUser {self.id} {self.email} {self.role}>"


# Every request: built once. The columns of `SignedInUser`, in its order.
_users = User.__table__.c
_BY_SECRET = (
    select(
        _users.id,
        _users.email,
        _users.name,
        _users.role,
        _users.active,
        _users.language,
        _users.time_zone,
        _users.from_platform,
    )
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(LoginSession.secret_digest == bindparam("digest"), LoginSession.created_at >= bindparam("oldest"))
)


def load_user(secret: str) -> SignedInUser | None:
    """The active user of the login session whose secret the cookie carries (flask-login's user loader); None
    when the session was ended, is past the absolute lifetime, or the account is disabled."""
    oldest = utcnow() - timedelta(hours=current_app.config["SESSION_MAX_HOURS"])
    row = db.session.connection().execute(_BY_SECRET, {"digest": _digest(secret), "oldest": oldest}).first()
    if row is None or not row.active:
        return None
    return SignedInUser(row, secret)


def signed_in_user() -> User:
    """The signed-in user's ORM row, for a view that changes them or hands them to a service that does (or that
    stores them in another row). It is `current_user` for the rest of the request, so a page shown after the
    change shows the changed user. An API request's user is the row already (course/api/auth.py)."""
    user = current_user._get_current_object()
    if isinstance(user, User):
        return user
    if not isinstance(user, SignedInUser):
        abort(401)  # nobody is signed in: the views that ask are behind login_required
    row = db.session.get(User, user.id)
    if row is None:
        abort(401)  # deleted since this request loaded them
    row.login_secret = user.login_secret
    g._login_user = row  # flask-login's user of this request (flask_login.utils._get_user)
    return row


def mark_login() -> None:
    now = int(time.time())
    session["auth_at"] = now
    session["seen_at"] = now


def clear_session() -> None:
    """Empty the session (at login, logout and expiry), keeping the language this browser chose."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def init_session_timeouts(app: Flask) -> None:
    @app.before_request
    def enforce_timeouts() -> None:
        if not current_user.is_authenticated or "_user_id" not in session:
            return  # no login session to time out (an API request's user comes from its token: course/api/auth.py)
        now = int(time.time())
        idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
        absolute = current_app.config["SESSION_MAX_HOURS"] * 3600
        auth_at = session.get("auth_at", 0)
        seen_at = session.get("seen_at", 0)
        if now - seen_at > idle or now - auth_at > absolute:
            logout_user()
            clear_session()
            flash(_("Your session has expired. Please log in again."), "info")
            return
        if now - seen_at >= SEEN_REFRESH_SECONDS:
            session["seen_at"] = now
