"""The LTI pages' forms: registering a platform, the deep-linking picker."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from course.forms import one_line
from course.lti.urls import http_allowed, is_web_url

MAX_DEPLOYMENTS = 50


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _web_url(form: FlaskForm, field) -> None:
    """https only (a platform on loopback may be http in the tests and in development)."""
    if field.data and not is_web_url(field.data, allow_loopback_http=http_allowed()):
        raise ValidationError(_l("Enter a web address that starts with https://."))


def deployment_lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _deployments(form: FlaskForm, field) -> None:
    lines = deployment_lines(field.data)
    if not lines:
        raise ValidationError(_l("Enter at least one deployment id."))
    if len(lines) > MAX_DEPLOYMENTS or any(len(line) > 255 for line in lines):
        raise ValidationError(_l("Enter at most 50 deployment ids, one per line, each under 255 characters."))


def _url_field(label) -> URLField:
    return URLField(label, filters=[_strip], validators=[DataRequired(), Length(max=500), _web_url])


class PlatformForm(FlaskForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=120), one_line])
    issuer = StringField(
        _l("Issuer"), filters=[_strip], validators=[DataRequired(), Length(max=255), one_line],
        description=_l("The platform's issuer identifier (iss), e.g. https://canvas.instructure.com."),
    )  # fmt: skip
    client_id = StringField(_l("Client id"), filters=[_strip], validators=[DataRequired(), Length(max=255), one_line])
    deployment_ids = TextAreaField(_l("Deployment ids"), validators=[_deployments], description=_l("One per line."))
    auth_login_url = _url_field(_l("Authentication request URL"))
    auth_token_url = _url_field(_l("Access token URL"))
    key_set_url = _url_field(_l("Public keyset URL (JWKS)"))
    cohort_id = SelectField(
        _l("Cohort"),
        coerce=str,
        validators=[Optional()],
        description=_l(
            "Learners who launch from these deployments join this cohort; its instructors may sync the roster."
        ),
    )


class DeepLinkForm(FlaskForm):
    launch_id = HiddenField(validators=[DataRequired(), Length(max=100)])
    target = SelectField(_l("What to add"), coerce=str, validators=[DataRequired()])
