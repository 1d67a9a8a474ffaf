"""Invitations: the email a learner gets when an instructor enrols them (a CSV file, "add a learner").

An account that has no password yet (made by the enrolment, or by an administrator and never used) is sent its
set-password link (valid seven days) with the cohort's name, dates and what to expect; an account with a password
is told it was enrolled, with a link to the course. Each is written to the outbox in the enrolment's transaction,
keyed by the enrolment — its id and the instant it was made (`invitation:enrolment:<id>:<enrolled_at>:…`), since
SQLite may give a later enrolment the id of a deleted one: the same enrolment reported twice — a re-import, a
double submit — is one message, a learner unenrolled and added again is invited again, and a refused import
(rolled back) sends nothing. An instructor may send the invitation again while the learner has not chosen a
password: one message per form shown (its one-time submission key), so a double click sends once.

In the learner's language: the account's own, else the one the instructor gave (the CSV's `language` column, the
form's choice), else the site's. Services flush, never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from course.accounts.models import Role, User
from course.accounts.provisioning import UNUSABLE_PASSWORD, has_password
from course.accounts.services import find_user, normalise_email
from course.accounts.tokens import SET_PASSWORD, SEVEN_DAYS, make_token
from course.clock import today
from course.cohorts.enrolment import enrol, enrolment_for
from course.cohorts.errors import CohortError
from course.cohorts.models import Cohort, Enrolment
from course.content.i18n import tr
from course.content.models import Course
from course.extensions import db
from course.links import external_url
from course.outbox.kinds import Kind
from course.outbox.messages import enqueue

LINK_DAYS = SEVEN_DAYS // (24 * 3600)
RESEND_KEY = re.compile(r"[0-9a-f]{32}")  # the resend form's one-time submission key (uuid4().hex)


@dataclass
class Invited:
    """What happened to one learner an instructor enrolled: were they emailed, and with which message."""

    user: User
    cohort: Cohort
    new_account: bool  # the enrolment created the account
    emailed: bool = False
    set_password: bool = False  # the email carried a link to choose a password
    reason: str | None = None  # why they were not emailed
    enrolment: Enrolment | None = None
    enrolled_now: bool = True  # False: they already were in the cohort


class CannotEnrol(CohortError):
    """This account cannot join the cohort: not a learner's, disabled or deleted, or in another cohort of the
    course. The message (for the cohort page) names the account; the API answers with one message for them all."""


def language_code(value: str) -> str | None:
    """One of the site's languages for what an instructor typed ("zh_Hans", "zh-hans", "zh", "EN"), or None."""
    wanted = value.strip().replace("-", "_").casefold()
    for code in current_app.config["LANGUAGES"]:
        if wanted in (code.casefold(), code.split("_")[0].casefold()):
            return code
    return None


def create_learner_account(email: str, name: str, language: str | None) -> User:
    """A learner's account with no usable password: its owner chooses one from the invitation's link."""
    email = normalise_email(email)
    user = User(email=email, name=name.strip() or email.split("@")[0], password_hash=UNUSABLE_PASSWORD)
    user.language = language
    db.session.add(user)
    db.session.flush()
    return user


def add_learner(cohort: Cohort, email: str, name: str, language: str | None) -> Invited:
    """Enrol the account of `email` (made when there is none) in `cohort` and invite it; a learner already in
    the cohort is left as they are (not emailed again). The one service of the cohort page's "add a learner" and
    the API's enrolment. CannotEnrol for a staff, disabled or deleted account or one in another cohort of the
    course; CohortError when the cohort is full."""
    user, created = find_user(email), False
    if user is None:
        user, created = _new_or_parallel_account(email, name, language)
    if user.deleted_at is not None or not user.active:
        raise CannotEnrol(_("The account of %(email)s is disabled or deleted.", email=user.email))
    if user.role != Role.LEARNER:
        raise CannotEnrol(_("%(email)s is a staff account: only learners can be enrolled.", email=user.email))
    existing = enrolment_for(user.id, cohort.course_id)
    if existing is not None and existing.cohort_id != cohort.id:
        other = db.session.get(Cohort, existing.cohort_id)
        raise CannotEnrol(_("%(email)s is already in the cohort “%(name)s”.", email=user.email, name=other.name))
    enrolment, enrolled = enrol(cohort, user, source="instructor", check_window=False)
    if not enrolled:
        reason = _("Already in this cohort: not emailed again.")
        return Invited(user, cohort, False, reason=reason, enrolment=enrolment, enrolled_now=False)
    invited = invite(enrolment, user, cohort, created, language)
    invited.enrolment = enrolment
    return invited


def _new_or_parallel_account(email: str, name: str, language: str | None) -> tuple[User, bool]:
    """(A new account for `email`, True) — or (the account a parallel request made first, False): a double submit
    on PostgreSQL, whose second request found no account and then waited for the first's on the unique email."""
    try:
        with db.session.begin_nested():
            return create_learner_account(email, name, language), True
    except IntegrityError:
        user = find_user(email)
        if user is None:
            raise
        return user, False


def invite(enrolment: Enrolment, user: User, cohort: Cohort, new_account: bool, language: str | None) -> Invited:
    """Write the invitation of a new enrolment (once per enrolment, however often this is called)."""
    result = Invited(user, cohort, new_account, set_password=not has_password(user))
    if not user.active or user.deleted_at is not None:
        result.reason = _("The account is disabled: not emailed.")
        return result
    key = f"invitation:enrolment:{enrolment.id}:{_instant(enrolment.enrolled_at)}:user:{user.id}:cohort:{cohort.id}"
    result.emailed = _write(key, user, cohort, language)
    if not result.emailed:
        result.reason = _("Already invited to this cohort: not emailed again.")
    return result


def _instant(moment: datetime) -> str:
    """The enrolment's instant as the same text however it was read (just made, or loaded from either engine)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def resend(enrolment: Enrolment, user: User, cohort: Cohort, submission_key: str) -> bool:
    """The invitation again, with a fresh set-password link: only while the learner has not chosen a password
    (CohortError otherwise). Once per `submission_key` (the form's, checked by the caller against RESEND_KEY):
    False when that form was already sent."""
    if user.deleted_at is not None or not user.active:
        raise CohortError(_("The account of %(email)s is disabled or deleted.", email=user.email))
    if has_password(user):
        raise CohortError(_("%(name)s has already chosen a password: there is no invitation to send.", name=user.name))
    return _write(f"invitation:enrolment:{enrolment.id}:resend:{submission_key}", user, cohort, None)


def _write(event_key: str, user: User, cohort: Cohort, language: str | None) -> bool:
    language = user.language or language or current_app.config["BABEL_DEFAULT_LOCALE"]
    course = db.session.get(Course, cohort.course_id)
    needs_password = not has_password(user)
    written = enqueue(
        event_key=event_key,
        kind=Kind.INVITATION,
        recipient=user,
        template="invitation",
        language=language,
        cohort=cohort,
        course_title=tr(course, "title", lang="en" if language.startswith("en") else ""),
        set_password_url=external_url("auth.set_password", token=make_token(user, SET_PASSWORD))
        if needs_password
        else None,
        link_days=LINK_DAYS,
        forgot_url=external_url("auth.forgot_password"),
        outline_url=external_url("learn.outline", course_key=course.key),
        started=cohort.starts_on <= today(),
    )
    return written is not None


# -- what the learner sees when they arrive -----------------------------------------------------------------------
@dataclass
class Joined:
    cohort: Cohort
    course_key: str
    message: str


def joined_cohorts(user: User) -> list[Joined]:
    """The cohorts the user is in, each with its sentence ("You have joined …, starting …"), earliest first."""
    rows = db.session.execute(
        select(Cohort, Course.key)
        .join(Enrolment, Enrolment.cohort_id == Cohort.id)
        .join(Course, Course.id == Cohort.course_id)
        .where(Enrolment.user_id == user.id)
        .order_by(Cohort.starts_on, Cohort.id)
    ).all()
    return [Joined(cohort, key, joined_message(cohort)) for cohort, key in rows]


def joined_message(cohort: Cohort) -> str:
    when = format_date(cohort.starts_on, "long")
    if cohort.starts_on <= today():
        return _("You have joined “%(cohort)s”, which started on %(date)s.", cohort=cohort.name, date=when)
    return _("You have joined “%(cohort)s”, starting %(date)s.", cohort=cohort.name, date=when)
