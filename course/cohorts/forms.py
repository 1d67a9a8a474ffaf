from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from course.cohorts.models import Cohort
from course.cohorts.reschedule import has_schedule, shift_sentence, shift_sentences
from course.forms import date_in_range, one_line
from course.i18n import LANGUAGE_NAMES


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class CohortForm(FlaskForm):
    course = SelectField(_l("Course"), coerce=int)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), one_line])
    starts_on = DateField(_l("Starts on"), validators=[DataRequired(), date_in_range])
    ends_on = DateField(_l("Ends on"), validators=[DataRequired(), date_in_range])
    capacity = IntegerField(
        _l("Capacity"),
        validators=[Optional(), NumberRange(min=1, max=100_000)],
        description=_l("Leave empty for no limit."),
    )
    enrol_opens_on = DateField(
        _l("Enrolment opens on"),
        validators=[Optional(), date_in_range],
        description=_l("Leave empty to open enrolment now."),
    )
    enrol_closes_on = DateField(
        _l("Enrolment closes on"),
        validators=[Optional(), date_in_range],
        description=_l("Leave empty to keep it open until the cohort ends."),
    )
    instructors = SelectMultipleField(_l("Instructors"), coerce=int)
    inactive_after_days = IntegerField(
        _l("Inactive after (days)"),
        validators=[Optional(), NumberRange(min=1, max=365)],
        description=_l(
            "The dashboard’s at-risk list flags a learner with no activity for this many days: 7 unless you change it."
        ),
    )
    # Posted with a hidden empty value after it (templates/cohorts/form.html), so that a form without the field
    # (an older page, a script) leaves the setting as it is rather than turning it off: see `auto_nudges_posted`.
    auto_nudges = BooleanField(
        _l("Send automatic reminders"),
        default=True,
        description=_l(
            "Email a learner once when they have been inactive for that many days or fall more than one chapter "
            "behind the schedule, with a link to continue. Learners can turn these reminders off."
        ),
    )
    # Offered on the edit form of a cohort with a schedule (`offer_schedule_shift`); absent otherwise.
    shift_schedule = BooleanField(_l("Move the chapter dates with the start date"), default=True)

    def offer_schedule_shift(self, cohort: Cohort | None) -> None:
        """Keep the schedule checkbox only when editing a cohort with chapter release dates; its sentence says
        by how many days the dates move (the posted start date against the saved one), and carries the variants
        the page's script shows while a new date is typed."""
        if cohort is None or not has_schedule(cohort):
            del self.shift_schedule
            return
        moved = (self.starts_on.data - cohort.starts_on).days if self.starts_on.data else 0
        self.shift_schedule.description = shift_sentence(moved)
        self.shift_schedule.render_kw = shift_sentences(cohort.starts_on)

    @property
    def auto_nudges_posted(self) -> bool | None:
        """The reminders setting as posted, or None when the form sent no such field (then it stays as it is)."""
        return self.auto_nudges.data if self.auto_nudges.raw_data else None

    @property
    def shift_requested(self) -> bool:
        return bool(self.shift_schedule and self.shift_schedule.data)


class CsvUploadForm(FlaskForm):
    file = FileField(
        _l("CSV file"),
        validators=[FileRequired()],
        description=_l(
            "Columns: email, name, and optionally cohort (a cohort's name) and language (zh_Hans or en, for a new "
            "account and its email). UTF-8. Each learner enrolled is emailed their invitation."
        ),
    )


class AddLearnerForm(FlaskForm):
    """One learner enrolled by their instructor: an account is made for a new email, and they are invited."""

    email = EmailField(_l("Email"), filters=[_strip], validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(
        _l("Full name"),
        filters=[_strip],
        validators=[Optional(), Length(max=120), one_line],
        description=_l("For a new account; an existing account keeps its name."),
    )
    language = SelectField(
        _l("Language of a new account"),
        choices=lambda: [
            SelectChoice(code, LANGUAGE_NAMES.get(code, code)) for code in current_app.config["LANGUAGES"]
        ],
        default=lambda: current_app.config["BABEL_DEFAULT_LOCALE"],
        description=_l("Of their pages and of the invitation; an existing account keeps its own."),
    )

    def __init__(self, *args, **kwargs):  # its controls' ids ("learner-email") stay apart from the page's others
        kwargs.setdefault("prefix", "learner")
        super().__init__(*args, **kwargs)


class MoveForm(FlaskForm):
    target = SelectField(_l("Move to cohort"), coerce=int)


class ExtensionForm(FlaskForm):
    # InputRequired, not DataRequired: 0 days (taking an extension back) is a value, not a missing one.
    days = IntegerField(_l("Extra days"), validators=[InputRequired(), NumberRange(min=0, max=365)])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500)])
