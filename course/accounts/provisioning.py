"""What an administrator does for an account's login: creating the account (with no usable password: its owner
chooses one from an emailed link) and sending a password link. Services flush, never commit; the caller sends
the email after committing."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from course.accounts.models import Role, User
from course.accounts.services import AccountError, find_user, normalise_email
from course.accounts.tokens import RESET_PASSWORD, SET_PASSWORD
from course.audit.log import Action, record
from course.extensions import db

# Not an argon2 hash, so every password check fails (argon2 raises InvalidHashError): the account has no password
# until its owner sets one from a link. The same mark as a deleted account's (course/privacy/deletion.py).
UNUSABLE_PASSWORD = "!"  # noqa: S105 - not a password


class EmailTaken(AccountError):
    """Another account has this email address."""


def create_account(admin: User, email: str, name: str, role: Role | str, language: str | None) -> User:
    """A new, active account with no usable password, recorded in the audit log. EmailTaken if another account
    has the address (the unique constraint decides under a race)."""
    email = normalise_email(email)
    if find_user(email) is not None:
        raise EmailTaken(_("An account with this email already exists."))
    user = User(email=email, name=name.strip(), password_hash=UNUSABLE_PASSWORD, role=Role(role), language=language)
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError as exc:
        raise EmailTaken(_("An account with this email already exists.")) from exc
    record(Action.ACCOUNT_CREATED, actor_id=admin.id, target_user_id=user.id, after={"role": user.role.value})
    return user


def has_password(user: User) -> bool:
    """Whether the account's owner has chosen a password (an account an admin created has none until then)."""
    return user.password_hash != UNUSABLE_PASSWORD


def password_link_for(user: User) -> str:
    """Which link an administrator's email carries: a set-password link (valid seven days) while the account has
    no password yet, a reset link otherwise. AccountError if no link would work: a deleted or disabled account."""
    if user.deleted_at is not None:
        raise AccountError(_("This account is deleted."))
    if not user.active:
        raise AccountError(_("This account is disabled. Enable it before you send it a password link."))
    return SET_PASSWORD if not has_password(user) else RESET_PASSWORD


def record_password_link_sent(admin: User, user: User, purpose: str, emailed: bool) -> None:
    """An administrator sent the account a password link (`purpose`); `emailed`: whether the mail server took it."""
    record(
        Action.PASSWORD_RESET_REQUESTED,
        actor_id=admin.id,
        target_user_id=user.id,
        details={"emailed": emailed, "link": purpose},
    )
