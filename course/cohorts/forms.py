from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from course.forms import one_line


class CohortForm(FlaskForm):
    course = SelectField(_l("Course"), coerce=int)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120), one_line])
    starts_on = DateField(_l("Starts on"), validators=[DataRequired()])
    ends_on = DateField(_l("Ends on"), validators=[DataRequired()])
    capacity = IntegerField(
        _l("Capacity"),
        validators=[Optional(), NumberRange(min=1, max=100_000)],
        description=_l("Leave empty for no limit."),
    )
    enrol_opens_on = DateField(
        _l("Enrolment opens on"), validators=[Optional()], description=_l("Leave empty to open enrolment now.")
    )
    enrol_closes_on = DateField(
        _l("Enrolment closes on"),
        validators=[Optional()],
        description=_l("Leave empty to keep it open until the cohort ends."),
    )
    instructors = SelectMultipleField(_l("Instructors"), coerce=int)


class CsvUploadForm(FlaskForm):
    file = FileField(
        _l("CSV file"),
        validators=[FileRequired()],
        description=_l("Columns: email, name, and optionally cohort (a cohort's name). UTF-8."),
    )


class MoveForm(FlaskForm):
    target = SelectField(_l("Move to cohort"), coerce=int)


class ExtensionForm(FlaskForm):
    # InputRequired, not DataRequired: 0 days (taking an extension back) is a value, not a missing one.
    days = IntegerField(_l("Extra days"), validators=[InputRequired(), NumberRange(min=0, max=365)])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500)])
