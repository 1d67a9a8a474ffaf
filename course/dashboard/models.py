"""The dashboard's per-learner roll-up: numbers the overview and the at-risk list need for every learner of a
cohort, kept up to date by the write paths (course/dashboard/rollup.py) instead of computed from ~40 progress
rows and ~10 attempts per learner on every request.

Both tables are derived data: `rollup.refresh_course` rebuilds them from the progress and attempt rows, and
they count only the current outline (archived lessons, quizzes, chapters and modules excluded), as the
dashboard does. They do not depend on the cohort (a learner moved to another cohort keeps their numbers).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from course.db_types import UTCDateTime
from course.extensions import db


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
