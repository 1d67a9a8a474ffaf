"""The weekly instructor digest's memory: which learners of a cohort were at risk when each week's digest was
written, so the next one can say who is NEWLY at risk (course/dashboard/digest.py).

The ids are a JSON list, not rows with a foreign key, so `course.privacy.tables` does not find them: deleting an
account removes its id from every list (`forget_learner`, called by course/privacy/deletion.py). Only the two
latest snapshots of a cohort are kept (this week's and the one it is compared with)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from course.db_types import UTCDateTime, utcnow
from course.extensions import db
from course.sql import insert_ignore


class CohortDigest(db.Model):
    """The at-risk learners of a cohort (most urgent first) when the digest of ISO week `week` ("2026-W49") was
    first written."""

    __tablename__ = "cohort_digest"
    __table_args__ = (UniqueConstraint("cohort_id", "week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"))
    week: Mapped[str] = mapped_column(String(8))  # "YYYY-Www": sorts as the weeks do
    at_risk_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def snapshot(cohort_id: int, week: str) -> CohortDigest | None:
    return db.session.scalar(select(CohortDigest).where(CohortDigest.cohort_id == cohort_id, CohortDigest.week == week))


def previous_snapshot(cohort_id: int, week: str) -> CohortDigest | None:
    """The latest snapshot of a week before `week`."""
    return db.session.scalar(
        select(CohortDigest)
        .where(CohortDigest.cohort_id == cohort_id, CohortDigest.week < week)
        .order_by(CohortDigest.week.desc())
        .limit(1)
    )


def save_snapshot(cohort_id: int, week: str, at_risk_ids: list[int]) -> CohortDigest:
    """This week's snapshot (the first one written stays), and the older ones dropped but the one before it.

    INSERT … ON CONFLICT DO NOTHING: two workers writing the week's digest at once keep one row (the first), without
    a unique-constraint error aborting the second's run."""
    values = {"cohort_id": cohort_id, "week": week, "at_risk_ids": list(at_risk_ids), "created_at": utcnow()}
    insert_ignore(CohortDigest, values, ["cohort_id", "week"])
    found = snapshot(cohort_id, week)
    before = previous_snapshot(cohort_id, week)
    if before is not None:
        db.session.execute(
            delete(CohortDigest).where(CohortDigest.cohort_id == cohort_id, CohortDigest.week < before.week)
        )
    db.session.flush()
    return found


def forget_learner(user_id: int) -> None:
    """Remove a (deleted) account's id from every snapshot. At most two snapshots a cohort: read them all."""
    for found in db.session.scalars(select(CohortDigest)).all():
        if user_id in (found.at_risk_ids or []):
            found.at_risk_ids = [i for i in found.at_risk_ids if i != user_id]
    db.session.flush()
