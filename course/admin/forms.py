"""The admins' forms."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from course.accounts.models import Role
from course.forms import date_in_range, one_line
from course.i18n import LANGUAGE_NAMES

ROLE_NAMES = {Role.LEARNER: _l("Learner"), Role.INSTRUCTOR: _l("Instructor"), Role.ADMIN: _l("Admin")}
STATUS_NAMES = {"active": _l("Active"), "disabled": _l("Disabled"), "deleted": _l("Deleted")}
MAX_QUERY = 100


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _search_text(value: str | None) -> str:
    return (value or "").strip()[:MAX_QUERY]


class UserFilterForm(FlaskForm):
    """Which users to list: read from the query string (a GET that changes nothing: no CSRF token). A search longer
    than MAX_QUERY is cut; a role or status not in the lists is an error at its field."""

    class Meta:
        csrf = False

    q = StringField(_l("Search by name or email"), filters=[_search_text])
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice("", _l("Any role")), *(SelectChoice(r.value, name) for r, name in ROLE_NAMES.items())],
        default="",
    )
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("Any status")), *(SelectChoice(v, name) for v, name in STATUS_NAMES.items())],
        default="",
    )


class NewUserForm(FlaskForm):
    """An account an admin creates: its owner chooses the password from an emailed link."""

    name = StringField(_l("Full name"), filters=[_strip], validators=[DataRequired(), Length(max=120), one_line])
    email = EmailField(_l("Email"), filters=[_strip], validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(r.value, name) for r, name in ROLE_NAMES.items()],
        default=Role.LEARNER.value,
        description=_l("Instructors and admins set up two-step login when they first log in."),
    )
    language = SelectField(
        _l("Language"),
        choices=lambda: [
            SelectChoice(code, LANGUAGE_NAMES.get(code, code)) for code in current_app.config["LANGUAGES"]
        ],
        default=lambda: current_app.config["BABEL_DEFAULT_LOCALE"],
        description=_l("The language of their pages and of the email with their link. They can change it later."),
    )


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
        date_in_range(self, field)

    def validate_until(self, field: DateField) -> None:
        date_in_range(self, field)
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date must be on or after the start date."))
