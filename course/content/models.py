"""The course outline as loaded from `content/`: course → module → chapter → lesson (+ workbook prompts).

Each row carries `key`, the stable id from the files, unique within its course. Rows are never deleted
by a content load: a removed item gets `archived_at` and keeps its learners' records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
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
