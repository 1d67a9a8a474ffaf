"""The course as loaded from `content/`: course → module → chapter → lesson (+ workbook prompts), and each
chapter's quiz → question → option.

Each row carries `key`, the stable id from the files, unique within its course (an option's within its
question). Rows are never deleted by a content load: a removed item gets `archived_at` and keeps its learners'
records. Nothing here belongs to a learner: their progress and attempts point to these rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from course.db_types import UTCDateTime, utcnow
from course.extensions import db


class Course(db.Model):
    __tablename__ = "course"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(20), default="zh-Hans")
    summary: Mapped[str] = mapped_column(Text, default="")
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # author, closing words, keywords
    quiz_gate: Mapped[bool] = mapped_column(Boolean, default=True)
    content_version: Mapped[str] = mapped_column(String(64), default="")
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Texts in the course's other languages: {lang: {field: text}}
    i18n: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    modules: Mapped[list[Module]] = relationship(back_populates="course", order_by="Module.position")


class Module(db.Model):
    __tablename__ = "module"
    __table_args__ = (UniqueConstraint("course_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20), default="standard")
    position: Mapped[int] = mapped_column(Integer)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Texts in the course's other languages: {lang: {field: text}}
    i18n: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    course: Mapped[Course] = relationship(back_populates="modules")


class Chapter(db.Model):
    __tablename__ = "chapter"
    __table_args__ = (UniqueConstraint("course_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Texts in the course's other languages: {lang: {field: text}}
    i18n: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Lesson(db.Model):
    __tablename__ = "lesson"
    __table_args__ = (UniqueConstraint("course_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapter.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer)  # order within the chapter
    # The texts are loaded only when a page shows them (one query), not with every outline.
    body_md: Mapped[str] = mapped_column(Text, deferred=True, deferred_group="body")
    body_html: Mapped[str] = mapped_column(Text, deferred=True, deferred_group="body")  # rendered, sanitised
    takeaways: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(500), default="")  # file it was loaded from
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Texts in the course's other languages: {lang: {field: text}}
    i18n: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {lang: {title}}
    # {lang: {body_html, takeaways}}: the translated text, loaded with the body
    i18n_body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, deferred=True, deferred_group="body")


class WorkbookPrompt(db.Model):
    __tablename__ = "workbook_prompt"
    __table_args__ = (UniqueConstraint("course_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    prompt: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Texts in the course's other languages: {lang: {field: text}}
    i18n: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


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
    reveal: Mapped[str] = mapped_column(String(30), default="after_pass_or_last")  # its own, else the course's
    draw: Mapped[int | None] = mapped_column(Integer)  # questions served per attempt (None: all of them)
    retry_after: Mapped[int | None] = mapped_column(Integer)  # seconds between two attempts (None: no wait)
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
    draw_group: Mapped[str | None] = mapped_column(String(64))  # its `group` for the quiz's `draw`
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


# Every model whose rows a content load writes and nothing else does (the process's content cache is cleared when one
# of them changes; a load that changed them refreshes their planner statistics).
CONTENT_MODELS = (Course, Module, Chapter, Lesson, Quiz, WorkbookPrompt, Question, QuestionOption)
