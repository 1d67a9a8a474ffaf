"""Recording a learner's reading: lesson views (first and last, to the minute), lessons completed, and the
time spent reading. Services flush, never commit."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Row, bindparam, select, update

from course.accounts.models import User
from course.content.models import Lesson
from course.db_types import utcnow
from course.extensions import db
from course.progress import rollup
from course.progress.learner_state import Progress
from course.progress.models import LessonProgress
from course.sql import insert_ignore


def _ensure_progress_row(user_id: int, lesson: Lesson, now: datetime, completed_at: datetime | None = None) -> bool:
    """Create the (learner, lesson) row if missing (complete at `completed_at`, if given); True if this call
    created it."""
    return insert_ignore(
        LessonProgress,
        {
            "user_id": user_id,
            "lesson_id": lesson.id,
            "course_id": lesson.course_id,
            "first_viewed_at": now,
            "last_viewed_at": now,
            "completed_at": completed_at,
            "time_spent_seconds": 0,
        },
        ["user_id", "lesson_id"],
    )


# -- reading time ------------------------------------------------------------------------------------------
# The time from a recorded view to the learner's next action in the course (a recorded view, a lesson marked
# complete, a workbook answer saved; not a quiz submission) is credited to the lesson viewed last, capped at
# LESSON_TIME_CAP_SECONDS, and moves its `time_credited_until`: no interval counts twice (README, "How progress
# and completion work").

_READING = (
    select(
        LessonProgress.id,
        LessonProgress.lesson_id,
        LessonProgress.last_viewed_at,
        LessonProgress.time_credited_until,
    )
    .where(LessonProgress.user_id == bindparam("user_id"), LessonProgress.course_id == bindparam("course_id"))
    .order_by(LessonProgress.last_viewed_at.desc(), LessonProgress.id.desc())
    .limit(1)
)


def _lesson_being_read(user_id: int, course_id: int) -> Row | None:
    """The learner's progress row of the lesson they viewed last in the course, read after their other writes.

    PostgreSQL: a learner's credits run one at a time, each reading the rows of the one before it (and taking
    the locks of two progress rows in the same order): FOR NO KEY UPDATE on the user row, as the dashboard's
    roll-up does. (SQLite: one writer at a time.)
    """
    if db.session.get_bind().dialect.name != "sqlite":
        db.session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))
    return db.session.execute(_READING, {"user_id": user_id, "course_id": course_id}).first()


def _credit(reading: Row, now: datetime, **also: object) -> bool:
    """Credit `reading` (a `_READING` row) with the time from where its count stands to `now`, capped, in one
    UPDATE that may set `also`. False if the row changed since it was read (then nothing is written)."""
    since = reading.time_credited_until or reading.last_viewed_at
    cap = current_app.config["LESSON_TIME_CAP_SECONDS"]
    spent = round(min(max((now - since).total_seconds(), 0), cap))
    if not spent and not also:
        return True  # under half a second: left to the next credit
    row = LessonProgress
    result = db.session.execute(
        update(row)
        .where(
            row.id == reading.id,
            row.last_viewed_at == reading.last_viewed_at,
            row.time_credited_until.is_not_distinct_from(reading.time_credited_until),
        )
        .values({"time_spent_seconds": row.time_spent_seconds + spent, "time_credited_until": max(now, since), **also})
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def credit_reading(user_id: int, course_id: int) -> None:
    """The learner acted in the course (e.g. saved a workbook answer): credit the lesson they were reading."""
    reading = _lesson_being_read(user_id, course_id)
    if reading is not None:
        _credit(reading, utcnow())


VIEW_RESOLUTION = timedelta(minutes=1)


def view_is_due(known: Progress | None) -> bool:
    """Whether a view of the lesson should be recorded, given the learner's row as the page read it: views
    are recorded to the minute, so a reload or a click back from the quiz writes nothing."""
    return known is None or utcnow() - known.last_viewed_at >= VIEW_RESOLUTION


def record_view(user_id: int, lesson: Lesson) -> None:
    """First view creates the (learner, lesson) row; later views move `last_viewed_at`. The lesson read until
    now is credited its reading time (in the same UPDATE when it is this one)."""
    reading = _lesson_being_read(user_id, lesson.course_id)
    now = utcnow()
    if reading is not None:
        again = reading.lesson_id == lesson.id
        moved = _credit(reading, now, **({"last_viewed_at": now, "time_credited_until": None} if again else {}))
        if again and moved:
            rollup.lesson_viewed(user_id, lesson.course_id, now)
            return
    if not _ensure_progress_row(user_id, lesson, now):
        db.session.execute(
            update(LessonProgress)
            .where(LessonProgress.user_id == user_id, LessonProgress.lesson_id == lesson.id)
            .values(last_viewed_at=now, time_credited_until=None)
        )
        rollup.lesson_viewed(user_id, lesson.course_id, now)
    else:
        rollup.refresh_learner(user_id, lesson.course_id)


def mark_complete(user_id: int, lesson: Lesson) -> bool:
    """Mark a lesson complete. Idempotent: returns False if it already was.

    An action like any other for reading time: the lesson being read (this one, unless another was opened
    since) is credited the time since its last view or credit, capped.
    """
    reading = _lesson_being_read(user_id, lesson.course_id)
    now = utcnow()
    if reading is not None:
        _credit(reading, now)
    # The learner's row usually exists (the lesson was viewed): completed by one UPDATE; else created complete.
    completed = bool(
        db.session.execute(
            update(LessonProgress)
            .where(
                LessonProgress.user_id == user_id,
                LessonProgress.lesson_id == lesson.id,
                LessonProgress.completed_at.is_(None),
            )
            .values(completed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    )
    if not completed:  # no row yet, or complete already (then the INSERT does nothing)
        completed = _ensure_progress_row(user_id, lesson, now, completed_at=now)
    if completed:  # nothing changed otherwise: the roll-up stands
        rollup.refresh_learner(user_id, lesson.course_id)
    return completed
