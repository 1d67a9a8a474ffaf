"""Learners' quiz attempts, with the context they were graded in. The quizzes themselves are content
(`course.content.models`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from course.content.models import Question
from course.db_types import UTCDateTime, utcnow
from course.extensions import db


class Attempt(db.Model):
    """One submitted attempt. `(user, quiz, number)` is unique, so two parallel submissions can never
    both become attempt N; `(user, submission_key)` is unique, so a resubmitted form applies once."""

    __tablename__ = "quiz_attempt"
    __table_args__ = (
        UniqueConstraint("user_id", "quiz_id", "number"),
        UniqueConstraint("user_id", "submission_key"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    submission_key: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The grading context: the attempt keeps how it was graded even after the content changes.
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    percent: Mapped[float] = mapped_column(Float)
    pass_mark: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    content_version: Mapped[str] = mapped_column(String(64))

    answers: Mapped[list[AttemptAnswer]] = relationship(
        back_populates="attempt", order_by="AttemptAnswer.position", cascade="all, delete-orphan"
    )


class AttemptAnswer(db.Model):
    __tablename__ = "attempt_answer"
    __table_args__ = (UniqueConstraint("attempt_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempt.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON)  # list of option keys, or the text typed
    correct: Mapped[bool] = mapped_column(Boolean)
    points: Mapped[float] = mapped_column(Float)
    max_points: Mapped[float] = mapped_column(Float)

    attempt: Mapped[Attempt] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()


# quizzes passed, best and first-attempt scores, failures, last attempt: the dashboard's per-learner numbers read
# from the index alone (migration 0003)
Index(
    "ix_quiz_attempt_user_quiz_result",
    Attempt.user_id,
    Attempt.quiz_id,
    Attempt.number,
    Attempt.passed,
    Attempt.percent,
    Attempt.submitted_at,
)
