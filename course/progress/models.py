"""Per-learner progress: lessons viewed and completed, workbook answers, course completions, and the
roll-up of those numbers the instructor dashboard reads (`learner_course_stats`, `learner_chapter_done`).

The roll-up tables are derived data, kept by the write paths (course/progress/rollup.py) instead of computed
from ~40 progress rows and ~10 attempts per learner on every dashboard request. `rollup.refresh_course` rebuilds
them from the progress and attempt rows; they count only the current outline (archived items excluded), and do
not depend on the cohort (a learner moved to another cohort keeps their numbers).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from course.db_types import UTCDateTime, utcnow
from course.extensions import db


class LessonProgress(db.Model):
    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("user_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    first_viewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_viewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    time_spent_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # Reading time is credited up to here (course/progress/reading.py, `credit_reading`); None: nothing since
    # the last view, so the next credit counts from `last_viewed_at`.
    time_credited_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WorkbookAnswer(db.Model):
    __tablename__ = "workbook_answer"
    __table_args__ = (UniqueConstraint("user_id", "prompt_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("workbook_prompt.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


def new_verification_code() -> str:
    return secrets.token_urlsafe(18)


class Completion(db.Model):
    """Exactly one per learner and course (a unique constraint, so double clicks cannot make two)."""

    __tablename__ = "completion"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    verification_code: Mapped[str] = mapped_column(String(64), unique=True, default=new_verification_code)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    time_spent_seconds: Mapped[int] = mapped_column(Integer, default=0)
    # What the public verification page shows, frozen when the course was completed.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Set when the learner deleted their account: the row still counts in the statistics, but the verification
    # page says the credential was withdrawn, and the snapshot has lost the name.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# Covering indexes the dashboard's per-learner subqueries read (migration 0003): a seek to the learner, then a
# short range of their rows, without touching the table.
Index(
    "ix_lesson_progress_user_course_viewed",
    LessonProgress.user_id,
    LessonProgress.course_id,
    LessonProgress.last_viewed_at,
)  # last lesson view in a course (a max: one seek)
Index(
    "ix_lesson_progress_user_lesson_done", LessonProgress.user_id, LessonProgress.lesson_id, LessonProgress.completed_at
)  # lessons completed within a range of lesson ids


class LearnerCourseStats(db.Model):
    """One row per learner and course they have any progress or attempt in."""

    __tablename__ = "learner_course_stats"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), primary_key=True, index=True)
    lessons_done: Mapped[int] = mapped_column(Integer, default=0)  # current lessons completed
    quizzes_passed: Mapped[int] = mapped_column(Integer, default=0)  # current quizzes passed
    quizzes_failing: Mapped[int] = mapped_column(Integer, default=0)  # current quizzes tried twice, never passed
    best_sum: Mapped[float] = mapped_column(Float, default=0.0)  # sum of the best % on each current quiz tried
    best_count: Mapped[int] = mapped_column(Integer, default=0)  # current quizzes tried
    furthest_lesson: Mapped[int | None] = mapped_column(Integer)  # course-order position (from 0), opened
    last_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # any lesson of the course
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # current quizzes


class LearnerChapterDone(db.Model):
    """A current chapter the learner has complete: every current lesson completed and its quiz passed."""

    __tablename__ = "learner_chapter_done"
    # a learner's chapters of one course (refreshing one learner), a course's learners (refreshing a course)
    __table_args__ = (Index("ix_learner_chapter_done_course_user", "course_id", "user_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapter.id"), primary_key=True, index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))


class RollupVersion(db.Model):
    """A counter that moves whenever what the dashboard reads of a course changes (course/progress/rollup.py,
    `touch`): the dashboard keeps a page's expensive numbers, keyed by the sum of a course's counters, until it
    moves. Spread over a few rows per course (`shard`: the learner's id modulo `rollup.SHARDS`) so that learners
    writing at the same time seldom wait for one another's row. Course 0: every course (a change without one)."""

    __tablename__ = "rollup_version"
    __table_args__ = (UniqueConstraint("course_id", "shard"),)  # the upsert's conflict target

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(Integer)  # no foreign key: 0 is every course
    shard: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=0)
