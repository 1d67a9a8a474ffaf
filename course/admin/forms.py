"""The admins' forms."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError


class AuditFilterForm(FlaskForm):
    """Which audit entries to show: read from the query string (a GET that changes nothing: no CSRF token)."""

    class Meta:
        csrf = False

    user = StringField(
        _l("User"),
        validators=[Optional(), Length(max=254)],
        description=_l("An email address, or an account number (a deleted account is found by its number)."),
    )
    action = SelectField(_l("Action"), validators=[Optional()])
    cohort = SelectField(_l("Cohort"), validators=[Optional()])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])

    def validate_since(self, field: DateField) -> None:
        _check_range(field)

    def validate_until(self, field: DateField) -> None:
        _check_range(field)
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date must be on or after the start date."))


EARLIEST, LATEST = date(1970, 1, 1), date(9998, 12, 31)  # a day in any time zone is a moment in UTC


def _check_range(field: DateField) -> None:
    if field.data and not EARLIEST <= field.data <= LATEST:
        raise ValidationError(_l("Choose a date between 1970 and 9998."))
