"""Enrolment: joining a cohort (capacity and enrolment window held under races), leaving it, moving to another
cohort, extensions. Services flush, never commit."""

from __future__ import annotations

from datetime import date

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from course.accounts.models import User
from course.audit.log import Action, record
from course.clock import today
from course.cohorts.errors import CohortError
from course.cohorts.models import Cohort, Enrolment
from course.extensions import db


def enrolment_window_problem(cohort: Cohort, on: date | None = None) -> str | None:
    """Why nobody can join the cohort on `on` (today), if nobody can."""
    on = on or today()
    if cohort.enrol_opens_on and on < cohort.enrol_opens_on:
        return _("Enrolment opens on %(d)s.", d=format_date(cohort.enrol_opens_on, "long"))
    closes = cohort.enrol_closes_on or cohort.ends_on
    if on > closes:
        return _("Enrolment closed on %(d)s.", d=format_date(closes, "long"))
    return None


def enrolment_for(user_id: int, course_id: int) -> Enrolment | None:
    return db.session.scalar(select(Enrolment).where(Enrolment.user_id == user_id, Enrolment.course_id == course_id))


def _take_seat(cohort: Cohort) -> None:
    """Count one more learner, unless the cohort is full: one conditional UPDATE, safe under races."""
    result = db.session.execute(
        update(Cohort)
        .where(Cohort.id == cohort.id, or_(Cohort.capacity.is_(None), Cohort.enrolled_count < Cohort.capacity))
        .values(enrolled_count=Cohort.enrolled_count + 1)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        raise CohortError(_("This cohort is full."))


def _free_seat(cohort_id: int) -> None:
    db.session.execute(
        update(Cohort)
        .where(Cohort.id == cohort_id, Cohort.enrolled_count > 0)
        .values(enrolled_count=Cohort.enrolled_count - 1)
        .execution_options(synchronize_session=False)
    )


def enrol(
    cohort: Cohort, user: User, source: str = "invite", check_window: bool = True, audit: bool = True
) -> tuple[Enrolment, bool]:
    """Put `user` in `cohort`. Returns (enrolment, created). Idempotent for the same cohort. Records the
    enrolment in the audit log unless `audit` is False (a CSV import records itself, once)."""
    existing = enrolment_for(user.id, cohort.course_id)
    if existing is not None:
        if existing.cohort_id == cohort.id:
            return existing, False
        other = db.session.get(Cohort, existing.cohort_id)
        raise CohortError(_("%(email)s is already in the cohort “%(name)s”.", email=user.email, name=other.name))
    if check_window and (problem := enrolment_window_problem(cohort)):
        raise CohortError(problem)
    savepoint = db.session.begin_nested()
    try:
        _take_seat(cohort)
        enrolment = Enrolment(cohort_id=cohort.id, user_id=user.id, course_id=cohort.course_id, source=source)
        db.session.add(enrolment)
        db.session.flush()
    except CohortError:
        savepoint.rollback()
        # Full — unless the seat is this learner's: a parallel join of theirs took it while this one waited.
        existing = enrolment_for(user.id, cohort.course_id)
        if existing is not None and existing.cohort_id == cohort.id:
            return existing, False
        raise
    except IntegrityError:
        savepoint.rollback()  # a parallel join won: the learner is enrolled once, by it
        existing = enrolment_for(user.id, cohort.course_id)
        if existing is not None and existing.cohort_id == cohort.id:
            return existing, False
        raise CohortError(_("%(email)s is already enrolled in this course.", email=user.email)) from None
    savepoint.commit()
    db.session.expire(cohort, ["enrolled_count"])
    if audit:
        record(
            Action.ENROLLED,
            actor_id=user.id if source == "invite" else None,  # an invite link: the learner joined themselves
            target_user_id=user.id,
            cohort_id=cohort.id,
            details={"source": source},
        )
    return enrolment, True


def unenrol(enrolment: Enrolment) -> None:
    """Remove the learner from the cohort; their progress and attempts stay (they become self-paced)."""
    cohort_id = enrolment.cohort_id
    record(
        Action.UNENROLLED,
        target_user_id=enrolment.user_id,
        cohort_id=cohort_id,
        details={"source": enrolment.source},
    )
    db.session.delete(enrolment)
    db.session.flush()
    _free_seat(cohort_id)


def move(enrolment: Enrolment, target: Cohort) -> None:
    if target.course_id != enrolment.course_id:
        raise CohortError(_("A learner can only move to a cohort of the same course."))
    if target.id == enrolment.cohort_id:
        raise CohortError(_("The learner is already in that cohort."))
    _take_seat(target)
    _free_seat(enrolment.cohort_id)
    record(
        Action.MOVED,
        target_user_id=enrolment.user_id,
        cohort_id=enrolment.cohort_id,  # the cohort left; the cohort joined is `after` (both see the entry)
        before={"cohort_id": enrolment.cohort_id},
        after={"cohort_id": target.id},
        details={"source": enrolment.source},
    )
    enrolment.cohort_id = target.id
    enrolment.source = "move"
    db.session.flush()


def set_extension(enrolment: Enrolment, days: int, note: str) -> None:
    if not 0 <= days <= 365:
        raise CohortError(_("An extension is between 0 and 365 days."))
    record(  # the note is free text: not recorded
        Action.EXTENSION_SET,
        target_user_id=enrolment.user_id,
        cohort_id=enrolment.cohort_id,
        before={"days": enrolment.extension_days},
        after={"days": days},
    )
    enrolment.extension_days = days
    enrolment.extension_note = note.strip()[:500]
    db.session.flush()
