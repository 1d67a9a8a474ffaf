"""Cohorts: who may run which, creating and editing them, their instructors. Services flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import Select, delete, select

from course.accounts.models import Role, User
from course.audit.log import Action, record
from course.cohorts.errors import CohortError
from course.cohorts.models import ChapterRelease, Cohort, CohortInstructor, Enrolment
from course.cohorts.reschedule import shift_schedule as move_schedule
from course.cohorts.schedule import default_schedule
from course.content.models import Course
from course.extensions import db
from course.forms import EARLIEST_DATE, LATEST_DATE

# -- who sees what -------------------------------------------------------------------------------------


def visible_cohorts_query(user: User) -> Select:
    """Admins see every cohort; instructors only the cohorts they teach; learners none."""
    query = select(Cohort).order_by(Cohort.starts_on.desc(), Cohort.id.desc())
    if user.role == Role.ADMIN:
        return query
    if user.role == Role.INSTRUCTOR:
        return query.join(CohortInstructor, CohortInstructor.cohort_id == Cohort.id).where(
            CohortInstructor.user_id == user.id
        )
    return query.where(False)


def visible_cohorts(user: User, course_id: int | None = None) -> list[Cohort]:
    """The cohorts `user` runs (of one course, if given)."""
    query = visible_cohorts_query(user)
    if course_id is not None:
        query = query.where(Cohort.course_id == course_id)
    return list(db.session.scalars(query))


def get_cohort_for_staff_or_404(cohort_id: int, user: User) -> Cohort:
    """The cohort if `user` may run it; 404 otherwise (another instructor's cohort does not exist for you)."""
    cohort = db.session.scalar(visible_cohorts_query(user).where(Cohort.id == cohort_id))
    if cohort is None:
        abort(404)
    return cohort


def get_learner_enrolment_or_404(cohort: Cohort, user_id: int) -> tuple[Enrolment, User]:
    row = db.session.execute(
        select(Enrolment, User)
        .join(User, User.id == Enrolment.user_id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.user_id == user_id)
    ).first()
    if row is None:
        abort(404)
    return row[0], row[1]


# -- creating and editing ----------------------------------------------------------------------------


@dataclass
class CohortSettings:
    name: str
    starts_on: date
    ends_on: date
    capacity: int | None = None
    enrol_opens_on: date | None = None
    enrol_closes_on: date | None = None
    inactive_after_days: int | None = None  # the at-risk list's; None: the default (a new cohort) or unchanged
    auto_nudges: bool | None = None  # send automatic reminders; None: the default (on) or unchanged


INACTIVE_AFTER_DAYS = (1, 365)  # the range of `Cohort.inactive_after_days` (a check constraint too)


def _check_settings(settings: CohortSettings, enrolled: int = 0) -> None:
    if not settings.name.strip():
        raise CohortError(_("A cohort needs a name."), field="name")
    for name in ("starts_on", "ends_on", "enrol_opens_on", "enrol_closes_on"):  # the CLI and the demo too
        day = getattr(settings, name)
        if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
            raise CohortError(_("Choose a date between 1970 and 9998."), field=name)
    if settings.ends_on < settings.starts_on:
        raise CohortError(_("The end date must be on or after the start date."), field="ends_on")
    if settings.enrol_opens_on and settings.enrol_closes_on and settings.enrol_closes_on < settings.enrol_opens_on:
        raise CohortError(_("Enrolment must close on or after the day it opens."), field="enrol_closes_on")
    if settings.enrol_closes_on and settings.enrol_closes_on > settings.ends_on:
        raise CohortError(_("Enrolment cannot close after the cohort ends."), field="enrol_closes_on")
    if settings.capacity is not None and settings.capacity < 1:
        raise CohortError(_("Capacity must be at least 1, or empty for no limit."), field="capacity")
    low, high = INACTIVE_AFTER_DAYS
    if settings.inactive_after_days is not None and not low <= settings.inactive_after_days <= high:
        raise CohortError(
            _("Inactive after: enter a number of days from %(low)d to %(high)d.", low=low, high=high),
            field="inactive_after_days",
        )
    if settings.capacity is not None and settings.capacity < enrolled:
        raise CohortError(
            _("Capacity cannot be below the %(n)d learners already enrolled.", n=enrolled), field="capacity"
        )


def create_cohort(
    course: Course, settings: CohortSettings, instructor_ids: list[int], created_by: User | None = None
) -> Cohort:
    """A new cohort with one chapter a week from its start. An instructor who creates a cohort teaches it (an
    admin may create one for others)."""
    _check_settings(settings)
    teachers = set(instructor_ids)
    if created_by is not None and not created_by.is_admin:
        teachers.add(created_by.id)
    cohort = Cohort(
        course_id=course.id,
        name=settings.name.strip(),
        starts_on=settings.starts_on,
        ends_on=settings.ends_on,
        capacity=settings.capacity,
        enrol_opens_on=settings.enrol_opens_on,
        enrol_closes_on=settings.enrol_closes_on,
        enrolled_count=0,
    )
    if settings.inactive_after_days is not None:
        cohort.inactive_after_days = settings.inactive_after_days
    if settings.auto_nudges is not None:
        cohort.auto_nudges = settings.auto_nudges
    db.session.add(cohort)
    db.session.flush()
    set_instructors(cohort, sorted(teachers))
    for chapter_id, opens_on in default_schedule(course, settings.starts_on).items():
        db.session.add(ChapterRelease(cohort_id=cohort.id, chapter_id=chapter_id, opens_on=opens_on))
    db.session.flush()
    after = {"course_id": course.id, **_audited_settings(cohort), "instructor_ids": sorted(teachers)}
    record(Action.COHORT_CREATED, actor_id=created_by.id if created_by else None, cohort_id=cohort.id, after=after)
    return cohort


def update_cohort(
    cohort: Cohort,
    settings: CohortSettings,
    instructor_ids: list[int],
    changed_by: User,
    shift_schedule: bool = False,
) -> int:
    """New settings, by `changed_by`; new instructors too when an admin changes them (an instructor does not
    choose who teaches a cohort: their list is left as it was). With `shift_schedule`, a new start date moves every
    chapter's release date by as many days (`reschedule.shift_schedule`). Returns the days the schedule moved."""
    _check_settings(settings, enrolled=cohort.enrolled_count)
    before = {**_audited_settings(cohort), "instructor_ids": _instructor_ids(cohort)}
    moved_by = (settings.starts_on - cohort.starts_on).days if shift_schedule else 0
    old_name = cohort.name
    cohort.name = settings.name.strip()
    cohort.starts_on, cohort.ends_on = settings.starts_on, settings.ends_on
    cohort.capacity = settings.capacity
    cohort.enrol_opens_on, cohort.enrol_closes_on = settings.enrol_opens_on, settings.enrol_closes_on
    if settings.inactive_after_days is not None:
        cohort.inactive_after_days = settings.inactive_after_days
    if settings.auto_nudges is not None:
        cohort.auto_nudges = settings.auto_nudges
    if changed_by.is_admin:
        set_instructors(cohort, instructor_ids)
    db.session.flush()
    after = {**_audited_settings(cohort), "instructor_ids": _instructor_ids(cohort)}
    changed = [key for key in after if after[key] != before[key]]
    if changed or cohort.name != old_name:
        record(
            Action.COHORT_EDITED,
            actor_id=changed_by.id,
            cohort_id=cohort.id,
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed},
            details={"name_changed": True} if cohort.name != old_name else None,
        )
    return moved_by if move_schedule(cohort, moved_by) else 0  # recorded as a schedule change


def _audited_settings(cohort: Cohort) -> dict[str, Any]:
    """The settings an audit entry records (the name is free text: an entry only says that it changed)."""
    dates = ("starts_on", "ends_on", "enrol_opens_on", "enrol_closes_on")
    values: dict[str, Any] = {key: getattr(cohort, key).isoformat() if getattr(cohort, key) else None for key in dates}
    return {
        **values,
        "capacity": cohort.capacity,
        "inactive_after_days": cohort.inactive_after_days,
        "auto_nudges": cohort.auto_nudges,
    }


def _instructor_ids(cohort: Cohort) -> list[int]:
    return sorted(db.session.scalars(select(CohortInstructor.user_id).where(CohortInstructor.cohort_id == cohort.id)))


def set_instructors(cohort: Cohort, user_ids: list[int]) -> None:
    valid = set(
        db.session.scalars(
            select(User.id).where(User.id.in_(user_ids or [-1]), User.role.in_([Role.INSTRUCTOR, Role.ADMIN]))
        )
    )
    unknown = set(user_ids) - valid
    if unknown:
        raise CohortError(_("Only instructors and admins can teach a cohort."), field="instructors")
    db.session.execute(delete(CohortInstructor).where(CohortInstructor.cohort_id == cohort.id))
    for user_id in sorted(valid):
        db.session.add(CohortInstructor(cohort_id=cohort.id, user_id=user_id))
    db.session.flush()


def instructors_of(cohort: Cohort) -> list[User]:
    """The cohort's instructors, by name (then id): the same order on every page and engine."""
    return list(
        db.session.scalars(
            select(User)
            .join(CohortInstructor, CohortInstructor.user_id == User.id)
            .where(CohortInstructor.cohort_id == cohort.id)
            .order_by(User.name, User.id)
        )
    )


def possible_instructors() -> list[User]:
    """Active instructors and admins, by name: who may teach a cohort."""
    return list(
        db.session.scalars(
            select(User).where(User.role.in_([Role.INSTRUCTOR, Role.ADMIN]), User.active.is_(True)).order_by(User.name)
        )
    )


def learners_of(cohort: Cohort) -> list[tuple[Enrolment, User]]:
    """The cohort's enrolments with their learners, by name."""
    rows = db.session.execute(
        select(Enrolment, User)
        .join(User, User.id == Enrolment.user_id)
        .where(Enrolment.cohort_id == cohort.id)
        .order_by(User.name)
    ).all()
    return [(enrolment, user) for enrolment, user in rows]
