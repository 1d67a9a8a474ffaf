"""The forms of signing up, logging in, password links and the account page."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from course.accounts.passwords import StrongPassword
from course.forms import one_line
from course.i18n import COMMON_TIME_ZONES, LANGUAGE_NAMES, TIME_ZONES
from course.outbox.kinds import Kind
from course.outbox.messages import opted_out_kinds


class RegisterForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120), one_line])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), StrongPassword()],
        description=_l("8 to 128 characters. A passphrase is easiest to remember."),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )
    next = HiddenField()


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])
    next = HiddenField()


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), StrongPassword()],
        description=_l("8 to 128 characters. A passphrase is easiest to remember."),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])


# -- the account page: three forms on one page, told apart by their prefixes (field names and ids) -----------
def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class NameForm(FlaskForm):
    name = StringField(
        _l("Your name"),
        filters=[_strip],
        validators=[DataRequired(), Length(max=120), one_line],
        description=_l("Your completion certificates show this name, and will show the new one."),
    )


class EmailForm(FlaskForm):
    email = EmailField(_l("New email"), filters=[_strip], validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=128)])


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=128)])
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), StrongPassword()],
        description=_l("8 to 128 characters. A passphrase is easiest to remember."),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )


class PreferencesForm(FlaskForm):
    """The language and time zone of the user's pages, on every device. Only the listed values are accepted."""

    language = SelectField(_l("Language"))
    time_zone = SelectField(
        _l("Time zone"),
        description=_l("Dates and times on your pages are shown in this time zone."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.language.choices = [(code, LANGUAGE_NAMES.get(code, code)) for code in current_app.config["LANGUAGES"]]
        default = _l("The site’s time zone (%(zone)s)", zone=current_app.config["BABEL_DEFAULT_TIMEZONE"])
        others = [z for z in TIME_ZONES if z not in COMMON_TIME_ZONES]
        self.time_zone.choices = [("", default), *((z, z) for z in COMMON_TIME_ZONES), *((z, z) for z in others)]


# -- two-step login ------------------------------------------------------------------------------------------
class LoginCodeForm(FlaskForm):
    """The second step of a login: a code from the app, or a recovery code."""

    code = StringField(
        _l("Code"),
        filters=[_strip],
        validators=[DataRequired(), Length(max=64)],
        description=_l("The 6-digit code your authenticator app shows now, or one of your recovery codes."),
    )


class SetupCodeForm(FlaskForm):
    code = StringField(
        _l("Code from the app"),
        filters=[_strip],
        validators=[DataRequired(), Length(max=16)],
        description=_l("The 6-digit code the app shows for this account, to check that it is set up."),
        render_kw={"inputmode": "numeric"},
    )


class ConfirmForm(FlaskForm):
    """A change to two-step login asks again who it is: the password, or a current code from the app."""

    proof = PasswordField(_l("Your password, or a code from your app"), validators=[DataRequired(), Length(max=128)])


class DeleteAccountForm(FlaskForm):
    """Deleting one's own account: the current password, checked like a login."""

    password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=128)])


# -- which optional emails -------------------------------------------------------------------------------------
KIND_NAMES = {
    Kind.ANNOUNCEMENT: _l("Announcements from my cohort’s instructors"),
    Kind.RELEASE: _l("A new chapter has opened"),
    Kind.NUDGE: _l("Reminders when I fall behind"),
    Kind.DIGEST: _l("The weekly digest of my cohorts (instructors)"),
}


def kinds_for(user) -> list[Kind]:
    """The optional kinds a user may get: the digest goes to instructors and admins only."""
    return [kind for kind in KIND_NAMES if kind != Kind.DIGEST or user.is_instructor]


class NotificationsForm(FlaskForm):
    """One checkbox per optional kind: checked, the user gets those emails."""

    announcement = BooleanField(KIND_NAMES[Kind.ANNOUNCEMENT])
    release = BooleanField(KIND_NAMES[Kind.RELEASE])
    nudge = BooleanField(KIND_NAMES[Kind.NUDGE])
    digest = BooleanField(KIND_NAMES[Kind.DIGEST])


def notifications_form(user) -> NotificationsForm:
    off = opted_out_kinds(user.id)
    checked = {kind.value: kind.value not in off for kind in KIND_NAMES}
    form = NotificationsForm(formdata=None, prefix="notify", **checked)
    form.shown = [form[kind.value] for kind in kinds_for(user)]
    return form
