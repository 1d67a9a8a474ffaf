"""Loading course objects from URL ids, with 404 for anything unknown or archived."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from course.content.models import Course
from course.extensions import db


def get_course_or_404(course_key: str) -> Course:
    course = db.session.scalar(select(Course).where(Course.key == course_key, Course.archived_at.is_(None)))
    if course is None:
        abort(404)
    return course
