"""A learner's calendar feed of their cohort: the row that makes its secret address (course.cohorts.calendar)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from course.db_types import UTCDateTime, utcnow
from course.extensions import db


def new_token_salt() -> str:
    return secrets.token_urlsafe(24)


class CalendarFeed(db.Model):
    """One per learner and cohort. The feed's address is derived from `token_salt` with the app's secret key (an
    HMAC): a new salt is a new address, and the old one answers 404. The salt is a secret (its name says so to
    the privacy export, which leaves it out)."""

    __tablename__ = "calendar_feed"
    __table_args__ = (UniqueConstraint("user_id", "cohort_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    token_salt: Mapped[str] = mapped_column(String(64), default=new_token_salt)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
