"""Forms shared by several packages."""

from __future__ import annotations

import unicodedata
from datetime import date
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


# The dates a form takes: a day in any time zone is then a moment UTC can hold, and a date moved by any span
# between two of them stays a date (a typo'd year 0001 or 9999 made the dashboard's arithmetic overflow).
EARLIEST_DATE, LATEST_DATE = date(1970, 1, 1), date(9998, 12, 31)


def date_in_range(form: FlaskForm | None, field: Field) -> None:
    """A WTForms validator: a date between EARLIEST_DATE and LATEST_DATE."""
    if field.data and not EARLIEST_DATE <= field.data <= LATEST_DATE:
        raise ValidationError(_l("Choose a date between 1970 and 9998."))


def one_line(form: FlaskForm, field: Field) -> None:
    """A WTForms validator: no control characters or line breaks (a name is shown on one line, in pages and
    emails). The edge refuses other control characters in every form; a name refuses line breaks too."""
    if field.data and any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in field.data):
        raise ValidationError(_l("Use letters, digits, spaces and punctuation only."))
