"""The dashboard's forms: a reminder to learners (course/dashboard/nudge_routes.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from course.dashboard.nudges import NOTE_MAX

EXPIRED = _l("This form has expired. Open the reminder again.")


class ReminderForm(FlaskForm):
    note = TextAreaField(
        _l("Personal note (optional)"),
        validators=[Optional(), Length(max=NOTE_MAX)],
        description=_l("Plain text, up to %(n)d characters, shown above the reminder.", n=NOTE_MAX),
    )
    # One per form shown: the reminder's event, so the same form sent twice sends once.
    key = HiddenField(validators=[DataRequired(message=EXPIRED), Regexp(r"^[0-9a-f]{32}$", message=EXPIRED)])
    # The user ids the preview showed ("12,31"): the POST sends to those, not to whoever is at risk by then.
    learners = HiddenField(
        validators=[DataRequired(message=EXPIRED), Regexp(r"^[0-9]{1,18}(,[0-9]{1,18})*$", message=EXPIRED)]
    )

    def learner_ids(self) -> list[int]:
        return sorted({int(part) for part in self.learners.data.split(",")})
