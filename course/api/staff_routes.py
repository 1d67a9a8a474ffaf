"""For instructors: their cohorts (admins: every cohort), a cohort's roster with each learner's progress, the
dashboard's headline numbers, enrolling and unenrolling a learner. For admins: the users. Every cohort is looked
up through the caller's own (`visible_cohorts_query`): another instructor's cohort is a 404."""

from __future__ import annotations

from flask import Response, g
from flask.views import MethodView
from sqlalchemy import select

from course.accounts.models import Role, User
from course.api import present, schemas
from course.api.cohort_numbers import overview, roster_entry, roster_query
from course.api.http import page_of
from course.api.problems import fail
from course.api.spec import operation, responses
from course.cohorts import enrolment as enrolments
from course.cohorts import invitations
from course.cohorts.errors import CohortError
from course.cohorts.models import Cohort
from course.cohorts.services import get_cohort_for_staff_or_404, get_learner_enrolment_or_404, visible_cohorts_query
from course.content.models import Course
from course.extensions import db
from course.progress.outline import build_outline


def cohort_out(cohort: Cohort, course_key: str) -> schemas.Cohort:
    return schemas.Cohort(
        id=cohort.id,
        name=cohort.name,
        course_key=course_key,
        starts_on=cohort.starts_on,
        ends_on=cohort.ends_on,
        capacity=cohort.capacity,
        enrolled=cohort.enrolled_count,
        enrol_opens_on=cohort.enrol_opens_on,
        enrol_closes_on=cohort.enrol_closes_on,
    )


@operation("cohorts:read", tags=("cohorts",), resp=responses(cached=True, HTTP_200=schemas.CohortPage))
def cohorts(query: schemas.PageQuery):
    """The cohorts you run (admins: every cohort), the latest first."""
    visible = visible_cohorts_query(g.api_user).subquery()
    listing = (
        select(Cohort, Course.key)
        .join(visible, visible.c.id == Cohort.id)
        .join(Course, Course.id == Cohort.course_id)
        .order_by(Cohort.starts_on.desc(), Cohort.id.desc())
    )
    rows, fields = page_of(listing, query.page, query.per_page)
    return schemas.CohortPage(items=[cohort_out(cohort, key) for cohort, key in rows], **fields)


@operation("cohorts:read", tags=("cohorts",), resp=responses(cached=True, HTTP_200=schemas.CohortDetail))
def cohort(cohort_id: int):
    """A cohort you run, with the dashboard's headline numbers."""
    found = get_cohort_for_staff_or_404(cohort_id, g.api_user)
    course = db.session.get(Course, found.course_id)
    return schemas.CohortDetail(**cohort_out(found, course.key).model_dump(), overview=overview(found, course))


def _staff_cohort(cohort_id: int) -> Cohort:
    """The cohort, if the caller runs it (admins: any), kept for the view; else a 404 problem."""
    g.api_cohort = get_cohort_for_staff_or_404(cohort_id, g.api_user)
    return g.api_cohort


class CohortLearners(MethodView):
    """A cohort's learners: read the roster, or enrol someone by email. One URL rule for both methods, so that an
    id out of range is a 404 whatever the method (two rules for one path would make it a 405)."""

    @operation(
        "cohorts:read",
        tags=("cohorts",),
        resp=responses(cached=True, HTTP_200=schemas.RosterPage),
        operation_id="roster",
    )
    def get(self, cohort_id: int, query: schemas.PageQuery):
        """A cohort's learners, by name, each with their progress."""
        found = _staff_cohort(cohort_id)
        course = db.session.get(Course, found.course_id)
        rows, fields = page_of(roster_query(found), query.page, query.per_page)
        return schemas.RosterPage(items=[roster_entry(row, course) for row in rows], **fields)

    @operation(
        "enrolments:write",
        tags=("enrolments",),
        resp=responses(HTTP_200=schemas.EnrolmentOut, HTTP_201=schemas.EnrolmentOut, HTTP_409=schemas.Problem),
        load=_staff_cohort,
        operation_id="enrol",
    )
    def post(self, cohort_id: int, json: schemas.EnrolmentIn):
        """Enrol a learner by email in a cohort you run, exactly as the cohort page's "add a learner": an address
        with no account gets a new learner account, and the learner is emailed their invitation. A full cohort, or
        an address that cannot join (a staff, disabled or deleted account, or one in another cohort of the
        course), is a 409. Idempotent: 201 when enrolled now, 200 when they already were in this cohort."""
        found = g.api_cohort
        language = None
        if json.language is not None and (language := invitations.language_code(json.language)) is None:
            errors = [{"loc": ["language"], "msg": "not one of the site's languages"}]
            fail(422, "The request's parameters or body are not valid.", slug="invalid-request", errors=errors)
        try:
            invited = invitations.add_learner(found, json.email, json.name or "", language)
        except invitations.CannotEnrol:
            db.session.rollback()
            fail(409, "This address cannot be enrolled in this cohort.", slug="enrolment-refused")
        except CohortError as exc:  # the cohort is full
            db.session.rollback()
            fail(409, str(exc), slug="enrolment-refused")
        db.session.commit()
        out = schemas.EnrolmentOut(
            cohort_id=found.id,
            user_id=invited.user.id,
            enrolled_at=invited.enrolment.enrolled_at,
            source=invited.enrolment.source,
            emailed=invited.emailed,
        )
        return out, 201 if invited.enrolled_now else 200


class CohortLearner(MethodView):
    """One learner of a cohort you run, by the id its roster gives: read their progress, or unenrol them. Any other
    id — another cohort's learner, a staff account, no account — is a 404, whatever the method (one URL rule for
    both, so that an id out of range is a 404 too, never a 405)."""

    @operation(
        "cohorts:read",
        tags=("cohorts",),
        resp=responses(cached=True, HTTP_200=schemas.LearnerProgress),
        operation_id="learner_progress",
    )
    def get(self, cohort_id: int, user_id: int):
        """One learner of a cohort you run: their progress in every chapter, lesson and quiz."""
        found = get_cohort_for_staff_or_404(cohort_id, g.api_user)
        _enrolment, user = get_learner_enrolment_or_404(found, user_id)
        course = db.session.get(Course, found.course_id)
        progress = present.progress_of(build_outline(course, user.id))
        return schemas.LearnerProgress(cohort_id=found.id, user_id=user.id, name=user.name, progress=progress)

    @operation("enrolments:write", tags=("enrolments",), resp=responses("HTTP_204"), operation_id="unenrol")
    def delete(self, cohort_id: int, user_id: int):
        """Remove a learner from a cohort you run; their progress and attempts stay. 204 when removed; an id that
        is not a learner of this cohort — also one removed before — is a 404."""
        found = get_cohort_for_staff_or_404(cohort_id, g.api_user)
        enrolment, _user = get_learner_enrolment_or_404(found, user_id)
        enrolments.unenrol(enrolment)
        db.session.commit()
        return Response(status=204)


@operation("users:read", tags=("users",), resp=responses(cached=True, HTTP_200=schemas.UserPage))
def users(query: schemas.UsersQuery):
    """Every account (admins), by id."""
    listing = select(User).order_by(User.id)
    if query.role is not None:
        listing = listing.where(User.role == Role(query.role))
    rows, fields = page_of(listing, query.page, query.per_page)
    items = [
        schemas.UserOut(
            id=user.id,
            name=user.name,
            email=user.email,
            role=user.role.value,
            active=user.active,
            deleted=user.deleted_at is not None,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )
        for (user,) in rows
    ]
    return schemas.UserPage(items=items, **fields)
