"""Forms shared by several packages."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field
from wtforms.validators import ValidationError


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


def one_line(form: FlaskForm, field: Field) -> None:
    """A WTForms validator: no control characters or line breaks (a name is shown on one line, in pages and
    emails). The edge refuses other control characters in every form; a name refuses line breaks too."""
    if field.data and any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in field.data):
        raise ValidationError(_l("Use letters, digits, spaces and punctuation only."))
