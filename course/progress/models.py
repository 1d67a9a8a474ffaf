"""Per-learner progress: lessons viewed and completed, workbook answers, course completions."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
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
    # Reading time is credited up to here (course/progress/services.py, `credit_reading`); None: nothing since
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
