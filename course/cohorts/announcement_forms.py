"""The form an instructor writes an announcement in: previewed, then posted once."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from course.cohorts.announcements import BODY_MAX, KEY_MAX, TITLE_MAX
from course.forms import one_line


class AnnouncementForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TITLE_MAX), one_line])
    body = TextAreaField(
        _l("Message"),
        validators=[DataRequired(), Length(max=BODY_MAX)],
        description=_l(
            "Markdown: **bold**, *italic*, lists, [links](https://example.com). HTML tags are shown as text. "
            "Preview it before you post: posting emails every learner."
        ),
    )
    # Chosen when the empty form is shown and kept through previews: the same form posted twice posts once.
    submission_key = HiddenField(
        validators=[DataRequired(_l("This form is incomplete; please reload the page.")), Length(max=KEY_MAX)]
    )
    # The two buttons (the page writes them: "Preview", "Post to N learners"); the one pressed is True.
    preview = SubmitField()
    post = SubmitField()
