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
    """The first 10,000 of zxcvbn's ranked "passwords" list. Read from the package's data file rather than
    imported: importing it would build all six of its 30,000-word lists in every worker (about 13 MB)."""
    import ast
    import importlib.util
    import re
    from pathlib import Path

    package = importlib.util.find_spec("zxcvbn")  # finds the package without importing it
    source = (Path(package.submodule_search_locations[0]) / "frequency_lists.py").read_text(encoding="utf-8")
    ranked = re.search(r'"passwords":\s*("[^"]*")', source)
    if ranked is None:  # the package changed its layout: fall back to importing it
        from zxcvbn.frequency_lists import FREQUENCY_LISTS

        return frozenset(FREQUENCY_LISTS["passwords"][:COMMON_COUNT])
    return frozenset(ast.literal_eval(ranked.group(1)).split(",")[:COMMON_COUNT])


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
