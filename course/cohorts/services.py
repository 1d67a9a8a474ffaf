"""Cohort operations: create and edit, schedule, enrol (with capacity and window held under races),
unenrol, move, invite codes, extensions, and the schedule a learner sees. Services flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytz
from flask import abort, current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from course.auth.models import Role, User
from course.cohorts.models import ChapterRelease, Cohort, CohortInstructor, Enrolment, new_invite_code
from course.content.models import Chapter, Course, Module
from course.extensions import db


class CohortError(ValueError):
    """A refused cohort operation; the message is shown to the user and nothing was changed."""


def today() -> date:
    """Today where the school is (the site's time zone, BABEL_DEFAULT_TIMEZONE): chapters open and cohorts
    close at its midnight, the same moment for every learner."""
    return site_today(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def site_today(time_zone: str) -> date:
    return datetime.now(pytz.timezone(time_zone)).date()


def school_date(moment: datetime) -> date:
    """The date of an aware `moment` where the school is (what `today()` is at that moment)."""
    return moment.astimezone(pytz.timezone(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


# -- who sees what -------------------------------------------------------------------------------------


def visible_cohorts_query(user: User):  # noqa: ANN201 - a Select
    """Admins see every cohort; instructors only the cohorts they teach; learners none."""
    query = select(Cohort).order_by(Cohort.starts_on.desc(), Cohort.id.desc())
    if user.role == Role.ADMIN:
        return query
    if user.role == Role.INSTRUCTOR:
        return query.join(CohortInstructor, CohortInstructor.cohort_id == Cohort.id).where(
            CohortInstructor.user_id == user.id
        )
    return query.where(False)


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


def _check_settings(settings: CohortSettings, enrolled: int = 0) -> None:
    if not settings.name.strip():
        raise CohortError(_("A cohort needs a name."))
    if settings.ends_on < settings.starts_on:
        raise CohortError(_("The end date must be on or after the start date."))
    if settings.enrol_opens_on and settings.enrol_closes_on and settings.enrol_closes_on < settings.enrol_opens_on:
        raise CohortError(_("Enrolment must close on or after the day it opens."))
    if settings.enrol_closes_on and settings.enrol_closes_on > settings.ends_on:
        raise CohortError(_("Enrolment cannot close after the cohort ends."))
    if settings.capacity is not None and settings.capacity < 1:
        raise CohortError(_("Capacity must be at least 1, or empty for no limit."))
    if settings.capacity is not None and settings.capacity < enrolled:
        raise CohortError(_("Capacity cannot be below the %(n)d learners already enrolled.", n=enrolled))


def course_chapters(course: Course) -> list[tuple[Module, Chapter]]:
    rows = db.session.execute(
        select(Module, Chapter)
        .join(Chapter, Chapter.module_id == Module.id)
        .where(Module.course_id == course.id, Module.archived_at.is_(None), Chapter.archived_at.is_(None))
        .order_by(Module.position, Chapter.position)
    ).all()
    return [(m, c) for m, c in rows]


def default_schedule(course: Course, starts_on: date) -> dict[int, date]:
    """One chapter a week from the start; reference chapters (the appendix) open on day one."""
    schedule: dict[int, date] = {}
    week = 0
    for module, chapter in course_chapters(course):
        if module.kind == "reference":
            schedule[chapter.id] = starts_on
        else:
            schedule[chapter.id] = starts_on + timedelta(weeks=week)
            week += 1
    return schedule


def create_cohort(course: Course, settings: CohortSettings, instructor_ids: list[int]) -> Cohort:
    _check_settings(settings)
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
    db.session.add(cohort)
    db.session.flush()
    set_instructors(cohort, instructor_ids)
    for chapter_id, opens_on in default_schedule(course, settings.starts_on).items():
        db.session.add(ChapterRelease(cohort_id=cohort.id, chapter_id=chapter_id, opens_on=opens_on))
    db.session.flush()
    return cohort


def update_cohort(cohort: Cohort, settings: CohortSettings, instructor_ids: list[int] | None = None) -> None:
    _check_settings(settings, enrolled=cohort.enrolled_count)
    cohort.name = settings.name.strip()
    cohort.starts_on, cohort.ends_on = settings.starts_on, settings.ends_on
    cohort.capacity = settings.capacity
    cohort.enrol_opens_on, cohort.enrol_closes_on = settings.enrol_opens_on, settings.enrol_closes_on
    if instructor_ids is not None:
        set_instructors(cohort, instructor_ids)
    db.session.flush()


def set_instructors(cohort: Cohort, user_ids: list[int]) -> None:
    valid = set(
        db.session.scalars(
            select(User.id).where(User.id.in_(user_ids or [-1]), User.role.in_([Role.INSTRUCTOR, Role.ADMIN]))
        )
    )
    unknown = set(user_ids) - valid
    if unknown:
        raise CohortError(_("Only instructors and admins can teach a cohort."))
    db.session.execute(delete(CohortInstructor).where(CohortInstructor.cohort_id == cohort.id))
    for user_id in sorted(valid):
        db.session.add(CohortInstructor(cohort_id=cohort.id, user_id=user_id))
    db.session.flush()


def schedule_rows(cohort: Cohort) -> list[tuple[Module, Chapter, date | None]]:
    releases = {
        r.chapter_id: r.opens_on
        for r in db.session.scalars(select(ChapterRelease).where(ChapterRelease.cohort_id == cohort.id))
    }
    course = db.session.get(Course, cohort.course_id)
    return [(m, c, releases.get(c.id)) for m, c in course_chapters(course)]


def set_schedule(cohort: Cohort, dates: dict[int, date]) -> None:
    """Replace the release dates. Every date falls within the cohort's dates; unknown chapters are refused."""
    known = {c.id for _m, c, _d in schedule_rows(cohort)}
    if set(dates) - known:
        raise CohortError(_("The schedule names a chapter that is not in this course."))
    for opens_on in dates.values():
        if opens_on < cohort.starts_on or opens_on > cohort.ends_on:
            raise CohortError(_("Every chapter must open between the cohort's start and end dates."))
    db.session.execute(delete(ChapterRelease).where(ChapterRelease.cohort_id == cohort.id))
    for chapter_id, opens_on in dates.items():
        db.session.add(ChapterRelease(cohort_id=cohort.id, chapter_id=chapter_id, opens_on=opens_on))
    db.session.flush()


# -- invites ---------------------------------------------------------------------------------------------


def rotate_invite(cohort: Cohort) -> None:
    cohort.invite_code = new_invite_code()
    cohort.invite_enabled = True


def set_invite_enabled(cohort: Cohort, enabled: bool) -> None:
    cohort.invite_enabled = enabled


def cohort_by_invite(code: str) -> Cohort | None:
    if not code or len(code) > 64:
        return None
    return db.session.scalar(select(Cohort).where(Cohort.invite_code == code, Cohort.invite_enabled.is_(True)))


def enrolment_window_problem(cohort: Cohort, on: date | None = None) -> str | None:
    on = on or today()
    if cohort.enrol_opens_on and on < cohort.enrol_opens_on:
        return _("Enrolment opens on %(d)s.", d=format_date(cohort.enrol_opens_on, "long"))
    closes = cohort.enrol_closes_on or cohort.ends_on
    if on > closes:
        return _("Enrolment closed on %(d)s.", d=format_date(closes, "long"))
    return None


# -- enrolment -------------------------------------------------------------------------------------------


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


def enrol(cohort: Cohort, user: User, source: str = "invite", check_window: bool = True) -> tuple[Enrolment, bool]:
    """Put `user` in `cohort`. Returns (enrolment, created). Idempotent for the same cohort."""
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
        raise
    except IntegrityError:
        savepoint.rollback()  # a parallel join won: the learner is enrolled once, by it
        existing = enrolment_for(user.id, cohort.course_id)
        if existing is not None and existing.cohort_id == cohort.id:
            return existing, False
        raise CohortError(_("%(email)s is already enrolled in this course.", email=user.email)) from None
    savepoint.commit()
    db.session.expire(cohort, ["enrolled_count"])
    return enrolment, True


def unenrol(enrolment: Enrolment) -> None:
    """Remove the learner from the cohort; their progress and attempts stay (they become self-paced)."""
    cohort_id = enrolment.cohort_id
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
    enrolment.cohort_id = target.id
    enrolment.source = "move"
    db.session.flush()


def set_extension(enrolment: Enrolment, days: int, note: str) -> None:
    if not 0 <= days <= 365:
        raise CohortError(_("An extension is between 0 and 365 days."))
    enrolment.extension_days = days
    enrolment.extension_note = note.strip()[:500]
    db.session.flush()


# -- what a learner sees -------------------------------------------------------------------------------


@dataclass
class LearnerSchedule:
    """A learner's cohort as their pages need it (read with their progress: course.progress.outline)."""

    cohort_id: int
    ends_on: date  # the cohort's last day
    extension_days: int  # the learner's extension
    opens: dict[int, date]  # chapter id → date it opens

    @property
    def deadline(self) -> date:
        """The last day quizzes can be submitted: the cohort's end plus the learner's extension."""
        return self.ends_on + timedelta(days=self.extension_days)

    def is_open(self, chapter_id: int, on: date | None = None) -> bool:
        opens_on = self.opens.get(chapter_id)
        return opens_on is None or (on or today()) >= opens_on

    def closed(self, on: date | None = None) -> bool:
        return (on or today()) > self.deadline
