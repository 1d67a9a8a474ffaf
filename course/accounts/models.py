"""Accounts."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Enum, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from course.db_types import UTCDateTime, utcnow
from course.extensions import db


class Role(enum.StrEnum):
    LEARNER = "learner"
    INSTRUCTOR = "instructor"
    ADMIN = "admin"


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class Account(UserMixin):
    """What a user is to flask-login and to the pages, shared by the ORM row (`User`) and the signed-in user a request
    loads (`course.accounts.sessions.SignedInUser`: the same columns as plain values): `id`, `active` and `role` are
    theirs."""

    # The secret of the login session this object was loaded or logged in for (not a column): what the session
    # cookie carries, and so what flask-login's get_id() answers.
    login_secret = None

    def get_id(self) -> str | None:
        return self.login_secret

    def get_id_number(self) -> int:
        return self.id

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_instructor(self) -> bool:
        return self.role in (Role.INSTRUCTOR, Role.ADMIN)


class User(Account, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=Role.LEARNER,
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of the login cookie: rotating it ends every session of this user, on every instance.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The user's own choices, on every device; None: the browser's language, the site's time zone.
    language: Mapped[str | None] = mapped_column(String(16))  # one of the config's LANGUAGES, e.g. "zh_Hans"
    time_zone: Mapped[str | None] = mapped_column(String(64))  # an IANA name, e.g. "Asia/Shanghai"
    # When the account was deleted: the row stays, anonymised, so the cohorts' statistics stay whole (course/privacy).
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # An account a learning platform's launch made (course/lti): grade passback looks for its links after each quiz
    # attempt; for every other account, which no platform knows, it does not ask.
    from_platform: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class LoginSession(db.Model):
    """One signed-in browser: the session cookie carries a random secret, this row a digest of it. Logging out
    deletes the row, so a copy of the cookie stops working at once, on every instance; the user's other
    sessions stay. Logging out everywhere, a password change or a disabled account deletes all of them."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    secret_digest: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the cookie's secret, hex
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TotpFactor(db.Model):
    """A user's authenticator app (TOTP, RFC 6238): its secret, encrypted with a key derived from SECRET_KEY
    (`course/accounts/mfa.py`), and the last time step a code was accepted for, so that a code works once."""

    __tablename__ = "totp_factor"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)  # one factor per user
    secret_encrypted: Mapped[str] = mapped_column(String(255))  # a Fernet token, never the secret itself
    last_used_step: Mapped[int | None] = mapped_column()  # unix time // 30 of the last code accepted
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RecoveryCode(db.Model):
    """A one-time recovery code, for a login without the authenticator app: only its SHA-256 digest is kept
    (a random code of 80 bits needs no slow hash). `used_at` is set when it is used; it never works again."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the normalised code, hex
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
