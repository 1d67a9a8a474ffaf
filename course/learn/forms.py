from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import ValidationError


class WorkbookForm(FlaskForm):
    answer = TextAreaField(_l("Your answer"))

    def validate_answer(self, field: TextAreaField) -> None:
        limit = current_app.config["WORKBOOK_MAX_CHARS"]
        if field.data and len(field.data.strip()) > limit:
            raise ValidationError(_l("Please keep your answer under %(n)d characters.", n=limit))
