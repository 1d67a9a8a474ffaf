"""A login waiting for its second step: after the right password, an account with two-step login gets no login
session yet. The browser's (signed) session cookie holds who, since when, and where to go next, for
MFA_PENDING_SECONDS; the code page opens the login session only when the code is right.

The state is bound to the user's session token, so a password change or "log out everywhere" in between ends it.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from flask import current_app, session

from course.accounts.models import User
from course.accounts.sessions import clear_session
from course.extensions import db

PENDING = "mfa_pending"


@dataclass(frozen=True)
class PendingLogin:
    user: User
    next: str  # checked by the login page: a path on this site


def _token_digest(user: User) -> str:
    return hashlib.sha256(user.session_token.encode()).hexdigest()[:32]


def hold_login(user: User, target: str) -> None:
    """The password was right: a fresh session holding the pending login (nothing else but the language)."""
    clear_session()
    session[PENDING] = {"user": user.id, "at": int(time.time()), "token": _token_digest(user), "next": target}


def has_pending_login() -> bool:
    return PENDING in session


def pending_login() -> PendingLogin | None:
    """The login waiting for its code; None (and the state dropped) if there is none, it is older than
    MFA_PENDING_SECONDS, or the account was disabled or had its sessions ended since."""
    held = session.get(PENDING)
    if not isinstance(held, dict):
        return None
    fresh = time.time() - held.get("at", 0) <= current_app.config["MFA_PENDING_SECONDS"]
    user = db.session.get(User, held.get("user")) if fresh and isinstance(held.get("user"), int) else None
    if user is None or not user.active or held.get("token") != _token_digest(user):
        session.pop(PENDING, None)
        return None
    return PendingLogin(user, str(held.get("next") or ""))
