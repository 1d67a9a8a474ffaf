"""Spaced review: a learner's review card for each question they got wrong, scheduled with FSRS, and the record of
each review (course/progress/review.py). One card per (learner, question): a unique constraint, so two attempts
recorded at once cannot make two. A review is recorded once per shown card (`submission_key`, unique per card), so
a form sent twice counts once. Reviews are their own record: they never change a quiz attempt or a completion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from course.db_types import UTCDateTime, utcnow
from course.extensions import db


class ReviewCard(db.Model):
    __tablename__ = "review_card"
    __table_args__ = (UniqueConstraint("user_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)  # the FSRS card (`fsrs.Card.to_dict()`)
    due: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    interval_days: Mapped[int] = mapped_column(Integer, default=0)  # scheduled at the last review: "mastered" at 21
    reps: Mapped[int] = mapped_column(Integer, default=0)
    lapses: Mapped[int] = mapped_column(Integer, default=0)  # forgotten after it had been remembered
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReviewLog(db.Model):
    __tablename__ = "review_log"
    __table_args__ = (UniqueConstraint("card_id", "submission_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("review_card.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    submission_key: Mapped[str] = mapped_column(String(64))
    rating: Mapped[int] = mapped_column(Integer)  # fsrs.Rating: 1 Again, 2 Hard, 3 Good, 4 Easy
    correct: Mapped[bool] = mapped_column(Boolean)
    interval_days: Mapped[int] = mapped_column(Integer)  # the interval this review scheduled
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
