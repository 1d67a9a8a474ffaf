"""Two-step login: an authenticator app (TOTP, RFC 6238) and one-time recovery codes.

Required for staff (instructors and admins: `is_required`), optional for learners. The TOTP secret is stored
encrypted (Fernet, under a key derived from SECRET_KEY with HKDF); recovery codes only as SHA-256 digests. A code
is checked against the real clock, one 30-second step either side, and works once: the last step accepted is
stored per user and only a later one is accepted, decided by a conditional UPDATE (so also across instances).
A recovery code is spent by a conditional UPDATE too. Every change is recorded in the audit log, in the caller's
transaction. Services flush, never commit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyotp
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from course.accounts.models import RecoveryCode, TotpFactor, User
from course.accounts.services import AccountError, end_all_sessions
from course.accounts.sessions import close_other_sessions
from course.audit.log import Action, record
from course.db_types import utcnow
from course.extensions import db

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

STEP_SECONDS = 30  # RFC 6238's time step, what every authenticator app uses
WINDOW = 1  # steps accepted either side of now: a phone's clock a little off, a code typed as it changes
RECOVERY_CODES = 10
_CODE = re.compile(r"\d{6}")
# Recovery codes: 24 characters of base32's alphabet (lower case) carry 120 bits, above the 112 that ASVS 5.0
# 6.5.2 asks of a value stored under a fast hash (SHA-256); shown in blocks of four, typed with or without them.
RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
RECOVERY_LENGTH = 24
RECOVERY_BLOCK = 4


def is_required(user: User) -> bool:
    """Staff must use two-step login; learners may."""
    return user.is_instructor


# -- the secret, at rest and on screen -------------------------------------------------------------------------
def _fernet() -> Fernet:
    """Fernet under a key derived from SECRET_KEY (HKDF-SHA256, its own `info`: no other use shares the key).
    cryptography is imported here, by the first two-step login, not by every web worker at start."""
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    secret_key = current_app.config["SECRET_KEY"]
    cached = current_app.extensions.get("mfa_fernet")
    if cached is None or cached[0] != secret_key:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"founder-course totp secrets").derive(
            secret_key.encode()
        )
        cached = (secret_key, Fernet(base64.urlsafe_b64encode(key)))
        current_app.extensions["mfa_fernet"] = cached
    return cached[1]


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str | None:
    """The secret, or None if the token was not made under this SECRET_KEY."""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def new_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters: 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, user: User) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=current_app.config["MFA_ISSUER"])


def qr_code(uri: str) -> str:
    """The QR code of `uri` as an SVG data: URI for an <img> (the CSP allows data: images; an inline SVG would
    need none of its attributes to be styles). Dark on a light square with its quiet zone, in either theme."""
    import segno  # only while two-step login is being set up

    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# -- codes -----------------------------------------------------------------------------------------------------
def current_step(at: float | None = None) -> int:
    return int(time.time() if at is None else at) // STEP_SECONDS


def matching_step(secret: str, code: str, after: int | None = None, at: float | None = None) -> int | None:
    """The time step within WINDOW of `at` (now) whose code `code` is, and later than `after`; else None. The
    same comparison as pyotp's `TOTP.verify(code, valid_window=1)`, which does not say which step matched."""
    code = code.strip()
    if not _CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    now = current_step(at)
    for step in range(now - WINDOW, now + WINDOW + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def looks_like_code(value: str) -> bool:
    """Six digits: a code from the app (anything else is read as a recovery code, or a password)."""
    return bool(_CODE.fullmatch(value.strip()))


def factor_of(user_id: int) -> TotpFactor | None:
    return db.session.scalar(select(TotpFactor).where(TotpFactor.user_id == user_id))


def has_factor(user_id: int) -> bool:
    return db.session.scalar(select(TotpFactor.id).where(TotpFactor.user_id == user_id)) is not None


def users_with_factor(user_ids: list[int]) -> set[int]:
    """Which of these users have set up their app (one query, for a page of users)."""
    if not user_ids:
        return set()
    return set(db.session.scalars(select(TotpFactor.user_id).where(TotpFactor.user_id.in_(user_ids))))


def needs_setup(user: User) -> bool:
    """A staff account without its authenticator app: it may do nothing but set it up."""
    return is_required(user) and not has_factor(user.id)


def check_totp(user: User, code: str, at: float | None = None) -> bool:
    """Whether `code` is the user's current code, not used before. Accepting it stores its step: the database
    decides (a conditional UPDATE), so the same code sent twice at once is accepted once."""
    factor = factor_of(user.id)
    secret = decrypt_secret(factor.secret_encrypted) if factor else None
    if factor is None or secret is None:
        return False
    step = matching_step(secret, code, after=factor.last_used_step, at=at)
    if step is None:
        return False
    later = or_(TotpFactor.last_used_step.is_(None), TotpFactor.last_used_step < step)
    accepted = db.session.execute(
        update(TotpFactor)
        .where(TotpFactor.id == factor.id, later)
        .values(last_used_step=step)
        .execution_options(synchronize_session="fetch")
    )
    return accepted.rowcount == 1


# -- recovery codes --------------------------------------------------------------------------------------------
def normalise_recovery_code(code: str) -> str:
    """The code as stored (its digest): without spaces or dashes, in lower case."""
    return re.sub(r"[\s-]", "", code).lower()


def _digest(code: str) -> str:
    return hashlib.sha256(normalise_recovery_code(code).encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return "-".join(raw[i : i + RECOVERY_BLOCK] for i in range(0, RECOVERY_LENGTH, RECOVERY_BLOCK))


def make_recovery_codes(user: User) -> list[str]:
    """A new set of recovery codes (the old ones stop working); returns them, to be shown this once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_digest=_digest(code)) for code in codes)
    db.session.flush()
    record(Action.RECOVERY_CODES_MADE, target_user_id=user.id, details={"count": len(codes)})
    return codes


def recovery_codes_left(user_id: int) -> int:
    unused = select(func.count(RecoveryCode.id)).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    return db.session.scalar(unused) or 0


def use_recovery_code(user: User, code: str) -> bool:
    """Spend one of the user's unused recovery codes; False if `code` is none of them."""
    normalised = normalise_recovery_code(code)
    if len(normalised) != RECOVERY_LENGTH or set(normalised) - set(RECOVERY_ALPHABET):
        return False
    spent = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_digest == _digest(normalised),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return spent.rowcount == 1


# -- the second step of a login, and confirming a change -------------------------------------------------------
@dataclass(frozen=True)
class SecondFactor:
    accepted: bool
    recovery_codes_left: int | None = None  # when a recovery code was used: how many are left


def verify_second_factor(user: User, code: str, at: float | None = None) -> SecondFactor:
    """A code from the app or a recovery code, each accepted once. Recorded in the audit log either way."""
    if looks_like_code(code):
        if check_totp(user, code, at):
            return SecondFactor(True)
    elif use_recovery_code(user, code):
        left = recovery_codes_left(user.id)
        record(Action.RECOVERY_CODE_USED, target_user_id=user.id, details={"left": left})
        return SecondFactor(True, left)
    record(Action.MFA_FAILED, target_user_id=user.id, details={"reason": "wrong code"})
    return SecondFactor(False)


def code_throttled(user: User) -> None:
    """Record a code refused before it was checked: too many wrong codes for the account."""
    record(Action.MFA_FAILED, target_user_id=user.id, details={"reason": "throttled"})


# -- turning it on and off -------------------------------------------------------------------------------------
def enrol(user: User, secret: str, code: str, at: float | None = None) -> list[str] | None:
    """Turn two-step login on with `secret`, once the user proves their app has it with a current `code`; returns
    the first set of recovery codes, or None if the code is not right. AccountError if it is already on."""
    step = matching_step(secret, code, at=at)
    if step is None:
        return None
    if has_factor(user.id):
        raise AccountError(_("Two-step login is already on."))
    try:
        with db.session.begin_nested():
            db.session.add(TotpFactor(user_id=user.id, secret_encrypted=encrypt_secret(secret), last_used_step=step))
    except IntegrityError as exc:  # a second request turned it on first
        raise AccountError(_("Two-step login is already on.")) from exc
    close_other_sessions(user)  # a session opened with the password alone must now give a code too
    record(Action.MFA_ENABLED, target_user_id=user.id)
    return make_recovery_codes(user)


def remove_factors(user: User) -> bool:
    """Delete the user's app and recovery codes (nothing recorded: the caller says why); True if there was an app."""
    removed = db.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id)).rowcount
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    return bool(removed)


def disable(user: User) -> None:
    """The user turns two-step login off (learners only: staff must keep it)."""
    if is_required(user):
        raise AccountError(_("Your role requires two-step login: it cannot be turned off."))
    if remove_factors(user):
        close_other_sessions(user)
        record(Action.MFA_DISABLED, target_user_id=user.id)


def reset(user: User) -> bool:
    """Remove the user's app and recovery codes, for someone who lost them (an admin, or `flask users
    reset-mfa`); their sessions end, and a staff account sets it up again at its next login. False if there was
    nothing to remove (nothing is recorded then)."""
    had_codes = recovery_codes_left(user.id) > 0
    if not (remove_factors(user) or had_codes):
        return False
    end_all_sessions(user)
    record(Action.MFA_RESET, target_user_id=user.id)
    return True
