"""Finding a course by its key in a URL: 404 for anything unknown or archived."""

from __future__ import annotations

from flask import abort
from sqlalchemy import bindparam, select

from course.content import cache
from course.content.models import Course
from course.extensions import db

# Built once. Plain columns, read without the ORM: what names the cached row (course/content/cache.py).
_COURSE_VERSION = select(Course.id, Course.content_version, Course.loaded_at).where(
    Course.key == bindparam("key"), Course.archived_at.is_(None)
)


def get_course_or_404(course_key: str) -> Course:
    """The live course with this key, for reading: a copy kept by the process (detached from the request's
    session, shared by its requests), checked against the database on every call — a load, an edit or archiving
    is seen at the next request. Read it, never change it; a lazy relationship (`course.modules`) is not there."""
    row = db.session.connection().execute(_COURSE_VERSION, {"key": course_key}).first()
    if row is None:
        abort(404)
    return cache.course(*row)


def live_courses() -> list[Course]:
    """Every course not archived, by title: the catalogue."""
    return list(db.session.scalars(select(Course).where(Course.archived_at.is_(None)).order_by(Course.title)))


def course_key_of(course_id: int) -> str:
    return db.session.scalar(select(Course.key).where(Course.id == course_id))
