"""Accounts: creating users, checking and changing passwords, names, emails, roles and preferences, and
loading the user of a session. Services flush, never commit."""

from __future__ import annotations

from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from course import signals
from course.accounts.api_token_models import revoke_all_tokens
from course.accounts.models import Role, User, new_session_token
from course.accounts.sessions import close_all_sessions
from course.audit.log import Action, record
from course.db_types import utcnow
from course.extensions import db
from course.i18n import is_time_zone

# Verifying against this keeps a login for an unknown email as slow as one for a known email.
_DUMMY_HASH_PASSWORD = "not-a-real-password"  # noqa: S105


class AccountError(ValueError):
    """A refused account change; the message says why and nothing was changed."""


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
    """The user if the email and password match an active account, else None (same cost either way). Records
    a failure in the audit log (an unknown email: with no identifier); the login itself is recorded when its
    session opens (`record_login`), after a second factor if the account has one. The caller commits."""
    hasher = _hasher()
    user = find_user(email)
    stored = user.password_hash if user else current_app.extensions["password_dummy_hash"]
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        _login_failed(user, "wrong password" if user else "unknown account")
        return None
    if user is None or not user.active:
        _login_failed(user, "disabled" if user else "unknown account")
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def record_login(user: User, how: str) -> None:
    """The user is signed in (`how`: "password", "second factor", "password link")."""
    user.last_login_at = utcnow()
    record(Action.LOGIN, actor_id=user.id, target_user_id=user.id, details={"how": how})


def login_throttled(email: str) -> None:
    """Record a login refused before its password was checked: too many failures for the account typed."""
    _login_failed(find_user(email), "throttled")


def _login_failed(user: User | None, reason: str) -> None:
    record(Action.LOGIN_FAILED, target_user_id=user.id if user else None, details={"reason": reason})


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    end_all_sessions(user)


def check_password(user: User, password: str) -> bool:
    """Whether `password` is this user's current password (the account page asks for it before a change)."""
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def change_password(user: User, password: str) -> bool:
    """A new password, and a new session token (every session of the user ends), unless another request
    already rotated the token this one was sent with (the second of a double submit): then nothing changes
    and the answer is False. The database decides, so two instances cannot both apply it."""
    changed = db.session.execute(
        update(User)
        .where(User.id == user.id, User.session_token == user.session_token)
        .values(password_hash=hash_password(password), session_token=new_session_token())
        .execution_options(synchronize_session="fetch")
    )
    if changed.rowcount != 1:
        return False
    close_all_sessions(user)
    revoke_all_tokens(user.id)
    record(Action.PASSWORD_CHANGED, actor_id=user.id, target_user_id=user.id)
    return True


def rename(user: User, name: str) -> None:
    """A new display name. Receivers of `user_renamed` follow it (the user's completion certificates: a learner
    who corrects their name expects their certificate to carry it)."""
    user.name = name.strip()
    db.session.flush()
    signals.user_renamed.send(user.__class__, user=user)


def change_email(user: User, email: str) -> str:
    """Move the account to another email; returns the old one. AccountError if another account has it (the
    unique constraint decides under a race)."""
    email, old = normalise_email(email), user.email
    if email == old:
        return old  # nothing to do (a double submit, or the same address typed again)
    if find_user(email) is not None:
        raise AccountError("an account with this email already exists")
    try:
        with db.session.begin_nested():
            user.email = email
    except IntegrityError as exc:
        raise AccountError("an account with this email already exists") from exc
    record(Action.EMAIL_CHANGED, actor_id=user.id, target_user_id=user.id)
    return old


# -- the user's language and time zone -------------------------------------------------------------------------
def set_language(user: User, language: str) -> None:
    """The language of the user's pages, on every device (the caller checked it is one of LANGUAGES)."""
    user.language = language


def adopt_language(user: User, language: str | None) -> None:
    """At login: a language the visitor chose before logging in becomes the user's, if they have none yet."""
    if language and user.language is None:
        user.language = language


def set_preferences(user: User, language: str, time_zone: str | None) -> None:
    """The account page's choices. `time_zone` None: the site's (BABEL_DEFAULT_TIMEZONE)."""
    if time_zone is not None and not is_time_zone(time_zone):
        raise ValueError(f"unknown time zone {time_zone!r}")
    user.language = language
    user.time_zone = time_zone


# -- what an admin does -------------------------------------------------------------------------------------------
def change_role(admin: User, user: User, role: Role | str) -> None:
    """Give `user` another role; their sessions end, so the new role applies from a fresh login. An admin
    cannot change their own role (nobody could then undo a mistake)."""
    if user.id == admin.id:
        raise AccountError(_("You cannot change your own role or disable your own account."))
    if user.deleted_at is not None:
        raise AccountError(_("This account is deleted."))
    before = user.role
    user.role = Role(role)
    end_all_sessions(user)
    record(
        Action.ROLE_CHANGED,
        actor_id=admin.id,
        target_user_id=user.id,
        before={"role": before.value},
        after={"role": user.role.value},
    )


def set_active(admin: User, user: User, active: bool) -> None:
    """Disable (every session ends at its next request) or enable an account; an admin never disables their own."""
    if user.id == admin.id and not active:
        raise AccountError(_("You cannot change your own role or disable your own account."))
    if active and user.deleted_at is not None:
        raise AccountError(_("This account is deleted."))
    before = user.active
    user.active = active
    end_all_sessions(user)
    record(
        Action.ACCOUNT_ENABLED if active else Action.ACCOUNT_DISABLED,
        actor_id=admin.id,
        target_user_id=user.id,
        before={"active": before},
        after={"active": active},
    )


def end_all_sessions(user: User) -> None:
    """End every login session of the user, on every instance, every password link made before (they
    carry a digest of the session token, rotated here), and every API token."""
    user.session_token = new_session_token()
    close_all_sessions(user)
    revoke_all_tokens(user.id)


def is_safe_next(target: str | None) -> bool:
    """Follow `next` only to a path on this site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
