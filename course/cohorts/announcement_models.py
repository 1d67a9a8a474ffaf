"""Announcements: an instructor's message to their whole cohort, emailed to its learners and shown on their
outline until each of them dismisses it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from course.db_types import UTCDateTime, utcnow
from course.extensions import db


class Announcement(db.Model):
    """One message to a cohort. The Markdown as the instructor wrote it, and its sanitised HTML, rendered once when
    it is posted (pages and emails only display it). `(cohort, submission_key)` is unique: a form sent twice (a
    double click, a reload) posts once."""

    __tablename__ = "announcement"
    __table_args__ = (UniqueConstraint("cohort_id", "submission_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    submission_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AnnouncementDismissal(db.Model):
    """A learner dismissed an announcement: it no longer shows on their outline."""

    __tablename__ = "announcement_dismissal"

    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcement.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    dismissed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
