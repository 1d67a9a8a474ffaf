"""Finding a course by its key in a URL: 404 for anything unknown or archived."""

from __future__ import annotations

from flask import abort
from sqlalchemy import bindparam, select

from course.content.models import Course
from course.extensions import db

_COURSE = select(Course).where(Course.key == bindparam("key"), Course.archived_at.is_(None))  # built once


def get_course_or_404(course_key: str) -> Course:
    course = db.session.scalar(_COURSE, {"key": course_key})
    if course is None:
        abort(404)
    return course


def live_courses() -> list[Course]:
    """Every course not archived, by title: the catalogue."""
    return list(db.session.scalars(select(Course).where(Course.archived_at.is_(None)).order_by(Course.title)))


def course_key_of(course_id: int) -> str:
    return db.session.scalar(select(Course.key).where(Course.id == course_id))
