"""Session lifetime: an idle timeout and an absolute timeout, checked on every request.

The session cookie also carries the user's session token (see User.get_id), so a logout everywhere, a
disabled account or a password change ends the session on every instance at its next request.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, flash, session
from flask_babel import gettext as _
from flask_login import current_user, logout_user

SEEN_REFRESH_SECONDS = 60  # rewrite the cookie at most once a minute


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
        if not current_user.is_authenticated:
            return
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
