"""Forms shared by several packages."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for POST buttons such as log out."""


def positive_int(value: Any, default: int, maximum: int) -> int:
    """A query-string number (a page, a number of days) as an int in 1..maximum, or `default` for anything
    else: missing, not a plain number ("²", "1e3"), out of range."""
    text = str(value).strip() if value is not None else ""
    if not (text.isascii() and text.isdecimal()) or len(text) > 9:
        return default
    number = int(text)
    return number if 1 <= number <= maximum else default
