"""Quizzes as loaded from content, and learners' attempts with the context they were graded in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from course.db_types import UTCDateTime, utcnow
from course.extensions import db


class Quiz(db.Model):
    __tablename__ = "quiz"
    __table_args__ = (
        UniqueConstraint("course_id", "key"),
        CheckConstraint("pass_mark > 0 AND pass_mark <= 100", name="pass_mark_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapter.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    pass_mark: Mapped[int] = mapped_column(Integer, default=70)
    max_attempts: Mapped[int | None] = mapped_column(Integer)
    reveal: Mapped[str] = mapped_column(String(30), default="after_each_attempt")
    version: Mapped[str] = mapped_column(String(64), default="")  # hash of the quiz file's content
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Texts in the course's other languages: {lang: {field: text}}
    i18n: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    questions: Mapped[list[Question]] = relationship(
        back_populates="quiz",
        order_by="Question.position",
        primaryjoin="and_(Quiz.id == Question.quiz_id, Question.archived_at.is_(None))",
        viewonly=True,
    )


class Question(db.Model):
    __tablename__ = "question"
    __table_args__ = (UniqueConstraint("course_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quiz.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(20))
    prompt: Mapped[str] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text, default="")
    lesson_key: Mapped[str | None] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(Integer, default=1)
    accepted: Mapped[list[str]] = mapped_column(JSON, default=list)  # short_text answers
    position: Mapped[int] = mapped_column(Integer)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Texts in the course's other languages: {lang: {field: text}}
    i18n: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    quiz: Mapped[Quiz] = relationship(back_populates="questions", foreign_keys=[quiz_id], viewonly=True)
    options: Mapped[list[QuestionOption]] = relationship(
        order_by="QuestionOption.position",
        primaryjoin="and_(Question.id == QuestionOption.question_id, QuestionOption.archived_at.is_(None))",
        viewonly=True,
    )


class QuestionOption(db.Model):
    __tablename__ = "question_option"
    __table_args__ = (UniqueConstraint("question_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    correct: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Texts in the course's other languages: {lang: {field: text}}
    i18n: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


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
