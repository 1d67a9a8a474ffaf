"""What a validated LTI launch does here: find or create the platform user's account — by (platform, `sub`),
never by email — remember the resource link with its grade and roster services, enrol a learner in the cohort
linked to the deployment, and say where the launch opens. Services flush, never commit.

Roles: every account a launch creates is a learner. A platform's claim never makes anyone staff here (an
instructor in the LMS is a learner-role account in Founder Course, not enrolled), and a launch never signs in an
account that is staff here: staff sign in with their password and second factor."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from course.accounts.models import Role, User
from course.accounts.provisioning import UNUSABLE_PASSWORD
from course.cohorts.enrolment import enrol
from course.cohorts.errors import CohortError
from course.cohorts.models import Cohort
from course.content.lookup import live_courses
from course.content.models import Chapter, Course
from course.content.outline import course_outline
from course.extensions import db
from course.lti.models import LtiAccount, LtiDeployment, LtiPlatform, LtiResourceLink
from course.lti.refusal import LaunchRefused

if TYPE_CHECKING:  # the claims' models are loaded by the launch that parses them (course/lti/tool.py)
    from course.lti.claims import LaunchClaims

__all__ = ["LaunchRefused", "Launched", "Target", "accept_resource_launch", "account_for", "is_learner", "is_teacher"]

LEARNER_ROLES = ("membership#Learner", "institution/person#Student", "institution/person#Learner")
TEACHER_ROLES = ("membership#Instructor", "membership#ContentDeveloper", "membership#Administrator")


@dataclass(frozen=True)
class Target:
    course: Course
    chapter: Chapter | None


def is_learner(roles: list[object]) -> bool:
    return any(isinstance(role, str) and role.endswith(LEARNER_ROLES) for role in roles)


def is_teacher(roles: list[object]) -> bool:
    return any(isinstance(role, str) and role.endswith(TEACHER_ROLES) for role in roles)


def platform_of(claims: LaunchClaims) -> tuple[LtiPlatform, LtiDeployment]:
    row = db.session.execute(
        select(LtiPlatform, LtiDeployment)
        .join(LtiDeployment, LtiDeployment.platform_id == LtiPlatform.id)
        .where(
            LtiPlatform.issuer == claims.iss,
            LtiPlatform.client_id == claims.client_id,
            LtiDeployment.deployment_id == claims.deployment_id,
        )
    ).first()
    if row is None:  # pylti1p3 checked both; a registration deleted meanwhile
        raise LaunchRefused(_("This platform is not registered."))
    return row[0], row[1]


def placeholder_email(platform: LtiPlatform, sub: str) -> str:
    """A launched account's address: unique, and no one's (`.invalid`); the platform's email is not trusted."""
    digest = hashlib.sha256(f"{platform.id}:{sub}".encode()).hexdigest()[:24]
    return f"lti-{digest}@lti.invalid"


def account_for(platform: LtiPlatform, sub: str, name: str) -> User:
    """The account linked to the platform's user `sub`, created (a learner, no password) on first sight."""
    if not sub:
        raise LaunchRefused(_("The launch does not say who the user is."))
    user = db.session.scalar(
        select(User)
        .join(LtiAccount, LtiAccount.user_id == User.id)
        .where(LtiAccount.platform_id == platform.id, LtiAccount.sub == sub)
    )
    if user is not None:
        return user
    try:
        with db.session.begin_nested():
            user = User(
                email=placeholder_email(platform, sub),
                name=(name or _("Learner"))[:120],
                password_hash=UNUSABLE_PASSWORD,
                role=Role.LEARNER,
                from_platform=True,
            )
            db.session.add(user)
            db.session.flush()
            db.session.add(LtiAccount(platform_id=platform.id, sub=sub, user_id=user.id))
            db.session.flush()
    except IntegrityError:  # a parallel first launch of the same user won
        return account_for(platform, sub, name)
    return user


def resolve_target(custom: dict[str, str], link: LtiResourceLink | None) -> Target:
    """The course (and chapter) a link opens: the custom parameters `course` and `chapter` (keys, as the deep-linking
    response sets them), else what the link opened before, else the only live course."""
    course_key, chapter_key = custom.get("course"), custom.get("chapter")
    if course_key:
        course = next((c for c in live_courses() if c.key == course_key), None)
        if course is None:
            raise LaunchRefused(_("This link names a course that does not exist."), 404)
        chapter = None
        if chapter_key:
            chapters = course_outline(course).chapters
            chapter = next((oc.chapter for oc in chapters if oc.chapter.key == chapter_key), None)
            if chapter is None:
                raise LaunchRefused(_("This link names a chapter that does not exist."), 404)
        return Target(course, chapter)
    if link is not None:
        return Target(db.session.get(Course, link.course_id), db.session.get(Chapter, link.chapter_id or 0))
    courses = live_courses()
    if len(courses) != 1:
        raise LaunchRefused(_("This link does not say which course to open."))
    return Target(courses[0], None)


def remember_link(deployment: LtiDeployment, claims: LaunchClaims) -> tuple[LtiResourceLink, Target]:
    """The launch's resource link, created or brought up to date with the launch's target and services."""
    if claims.resource_link is None:
        raise LaunchRefused(_("This launch's data is not valid. Open the course again from your LMS."))
    link_id = claims.resource_link.id
    link = db.session.scalar(
        select(LtiResourceLink).where(
            LtiResourceLink.deployment_id == deployment.id, LtiResourceLink.resource_link_id == link_id
        )
    )
    target = resolve_target(claims.link_parameters(), link)
    if link is None:
        link = LtiResourceLink(deployment_id=deployment.id, resource_link_id=link_id)
        db.session.add(link)
    ags = claims.ags
    link.context_id = claims.context.id if claims.context else None
    link.title = (claims.resource_link.title or "")[:255] or None
    link.course_id = target.course.id
    link.chapter_id = target.chapter.id if target.chapter else None
    link.lineitem_url = ags.lineitem if ags else None
    link.lineitems_url = ags.lineitems if ags else None
    link.ags_scopes = list(ags.scope) if ags and ags.scope else None
    link.memberships_url = claims.nrps.context_memberships_url if claims.nrps else None
    db.session.flush()
    return link, target


def enrol_learner(deployment: LtiDeployment, user: User) -> str | None:
    """Enrol a launched learner in the deployment's cohort; a message if the cohort refused (full, closed)."""
    if deployment.cohort_id is None:
        return None
    cohort = db.session.get(Cohort, deployment.cohort_id)
    try:
        enrol(cohort, user, source="lti")
    except CohortError as refusal:
        return str(refusal)
    return None


@dataclass(frozen=True)
class Launched:
    user: User
    link: LtiResourceLink
    target: Target
    notice: str | None


def accept_resource_launch(claims: LaunchClaims) -> Launched:
    """A validated resource-link launch: its account (created on first launch), its link, its enrolment."""
    platform, deployment = platform_of(claims)
    user = account_for(platform, claims.sub, claims.display_name)
    if user.role != Role.LEARNER:
        raise LaunchRefused(_("Staff accounts sign in with their password and second factor, not from an LMS."), 403)
    if not user.active or user.deleted_at is not None:
        raise LaunchRefused(_("This account is disabled."), 403)
    link, target = remember_link(deployment, claims)
    notice = enrol_learner(deployment, user) if is_learner(claims.roles) else None
    return Launched(user, link, target, notice)
