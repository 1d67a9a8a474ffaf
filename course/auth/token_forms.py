"""The account page's form that makes a personal access token for the API (course/accounts/api_tokens.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from course.accounts.api_tokens import SCOPES, allowed_scopes
from course.accounts.models import User
from course.forms import one_line


def field_name(scope: str) -> str:
    """A scope's checkbox: `progress:read` → `scope_progress_read`."""
    return "scope_" + scope.replace(":", "_")


class ApiTokenForm(FlaskForm):
    name = StringField(
        _l("Token name"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[DataRequired(), Length(max=100), one_line],
        description=_l("What the token is for, e.g. “Weekly progress report”."),
    )
    expires = SelectField(
        _l("Expires in"),
        choices=[
            SelectChoice(7, _l("7 days")),
            SelectChoice(30, _l("30 days")),
            SelectChoice(90, _l("90 days")),
            SelectChoice(365, _l("1 year")),
        ],
        coerce=int,
        default=90,
    )
    password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=128)])

    def chosen_scopes(self) -> list[str]:
        """Every scope ticked, allowed or not (the service refuses those the role does not allow)."""
        return [scope for scope in SCOPES if self[field_name(scope)].data]


for _scope in SCOPES.values():
    setattr(ApiTokenForm, field_name(_scope.name), BooleanField(_scope.label))


def token_form(user: User, submitted: bool = False) -> ApiTokenForm:
    """The form (read from the request when `submitted`), its checkboxes limited to the scopes the user's role
    allows (`shown`)."""
    form = ApiTokenForm(prefix="token") if submitted else ApiTokenForm(formdata=None, prefix="token")
    form.shown = [form[field_name(scope)] for scope in allowed_scopes(user.role)]
    return form
