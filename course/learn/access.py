"""Loading course objects from URL ids, with 404 for anything unknown or archived."""

from __future__ import annotations

from flask import abort
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import bindparam, select

from course.content.models import Course
from course.extensions import db

_COURSE = select(Course).where(Course.key == bindparam("key"), Course.archived_at.is_(None))  # built once


def get_course_or_404(course_key: str) -> Course:
    course = db.session.scalar(_COURSE, {"key": course_key})
    if course is None:
        abort(404)
    return course


def refuse_if_locked(chapter) -> None:  # noqa: ANN001 - a ChapterStatus
    """A chapter the learner's cohort has not opened yet: 403 with its opening date."""
    if chapter.locked:
        abort(403, description=_("This chapter opens on %(date)s.", date=format_date(chapter.opens_on, "long")))
