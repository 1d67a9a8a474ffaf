"""Cohorts: a group of learners taking a course together, on a release schedule, with instructors."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from course.db_types import UTCDateTime, utcnow
from course.extensions import db


def new_invite_code() -> str:
    return secrets.token_urlsafe(12)


class Cohort(db.Model):
    __tablename__ = "cohort"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="dates_in_order"),
        CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),
        CheckConstraint("inactive_after_days BETWEEN 1 AND 365", name="inactive_after_days_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    capacity: Mapped[int | None] = mapped_column(Integer)
    enrol_opens_on: Mapped[date | None] = mapped_column(Date)
    enrol_closes_on: Mapped[date | None] = mapped_column(Date)
    invite_code: Mapped[str] = mapped_column(String(64), unique=True, default=new_invite_code)
    invite_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # How many learners are enrolled, kept by the same statements that enrol and unenrol, so capacity is
    # enforced by one conditional UPDATE that two racing joins cannot both pass.
    enrolled_count: Mapped[int] = mapped_column(Integer, default=0)
    # The dashboard's at-risk list: a learner with no activity for this many days is "inactive".
    inactive_after_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    # The worker reminds inactive or behind learners (course/dashboard/nudges.py) unless the instructor turns it off.
    auto_nudges: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    instructors: Mapped[list[CohortInstructor]] = relationship(cascade="all, delete-orphan")
    releases: Mapped[list[ChapterRelease]] = relationship(cascade="all, delete-orphan")


class CohortInstructor(db.Model):
    __tablename__ = "cohort_instructor"
    __table_args__ = (UniqueConstraint("cohort_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)


class Enrolment(db.Model):
    """A learner's place in a cohort. One cohort per learner and course (a unique constraint)."""

    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(String(20), default="invite")  # invite, csv, instructor, move
    # An extension: extra days on this learner's deadlines (quiz close at cohort end, schedule pace).
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    extension_note: Mapped[str] = mapped_column(Text, default="")


# a cohort's learners in user order (the dashboard's queries; migration 0003)
Index("ix_enrolment_cohort_user", Enrolment.cohort_id, Enrolment.user_id)


class ChapterRelease(db.Model):
    """The date a chapter opens for a cohort."""

    __tablename__ = "chapter_release"
    __table_args__ = (UniqueConstraint("cohort_id", "chapter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id"), index=True)
    chapter_id: Mapped[int] = mapped_column(ForeignKey("chapter.id"), index=True)
    opens_on: Mapped[date] = mapped_column(Date)
