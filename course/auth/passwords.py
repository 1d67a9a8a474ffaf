"""The password policy (OWASP ASVS 5.0 V6.2): 8 to 128 characters, any characters, no composition rules,
and none of the 10,000 most common passwords (the ranked list shipped with the zxcvbn package)."""

from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

MIN_LENGTH = 8
MAX_LENGTH = 128
COMMON_COUNT = 10_000


@cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"][:COMMON_COUNT])


def password_problem(password: str) -> str | None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return str(_l("Use 8 to 128 characters."))
    if password.lower() in common_passwords():
        return str(_l("This password is one of the most common ones; please choose another."))
    return None


class StrongPassword:
    """WTForms validator for the policy above."""

    def __call__(self, form, field) -> None:  # noqa: ANN001
        if field.data and (problem := password_problem(field.data)):
            raise ValidationError(problem)
