"""The password policy (OWASP ASVS 5.0 V6.2): 8 to 128 characters, any characters, no composition rules,
and none of the 10,000 most common passwords (common-passwords.txt, beside this module)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

MIN_LENGTH = 8
MAX_LENGTH = 128
COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    """The 10,000 most common passwords, one a line, most common first: the ranked "passwords" list of zxcvbn
    4.5.0, copied as data into this package (MIT licence: common-passwords.LICENSE beside it)."""
    return frozenset(COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines())


def password_problem(password: str) -> str | None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return str(_l("Use 8 to 128 characters."))
    if password.lower() in common_passwords():
        return str(_l("This password is one of the most common ones; please choose another."))
    return None


class StrongPassword:
    """WTForms validator for the policy above."""

    def __call__(self, form, field) -> None:
        if field.data and (problem := password_problem(field.data)):
            raise ValidationError(problem)
