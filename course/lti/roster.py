"""Names and Role Provisioning: read a link's course roster from the platform and enrol its active learners in
the cohort linked to the deployment — accounts matched, or created, by (platform, `sub`). Who may ask: an admin,
or an instructor of that cohort. The HTTP call happens before the transaction's writes; services flush only."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from course.accounts.models import Role, User
from course.audit.log import Action, record
from course.cohorts.enrolment import enrol
from course.cohorts.errors import CohortError
from course.cohorts.models import Cohort, CohortInstructor
from course.extensions import db
from course.lti.launch import account_for, is_learner
from course.lti.models import LtiDeployment, LtiPlatform, LtiResourceLink
from course.lti.refusal import LaunchRefused


@dataclass
class RosterSync:
    enrolled: int = 0
    already: int = 0
    skipped: int = 0  # not learners, inactive, without a user id, staff here, or refused by the cohort (full)


def may_sync(user: User, deployment: LtiDeployment) -> bool:
    if user.is_admin:
        return True
    if deployment.cohort_id is None or not user.is_instructor:
        return False
    return (
        db.session.scalar(
            select(CohortInstructor.user_id).where(
                CohortInstructor.cohort_id == deployment.cohort_id, CohortInstructor.user_id == user.id
            )
        )
        is not None
    )


def fetch_members(platform: LtiPlatform, link: LtiResourceLink) -> list[dict]:
    """The platform's members of the link's context (every page). LaunchRefused if the platform does not answer."""
    if not link.memberships_url:
        raise LaunchRefused(_("This link's platform offers no roster."))
    # pylti1p3 (with requests and jwcrypto) is loaded when a platform is called, not by every web worker at start
    from pylti1p3.exception import LtiException
    from pylti1p3.names_roles import NamesRolesProvisioningService

    from course.lti.http import ToolServiceConnector
    from course.lti.tool import registration_for

    service = NamesRolesProvisioningService(
        ToolServiceConnector(registration_for(platform)), {"context_memberships_url": link.memberships_url}
    )
    try:
        return list(service.get_members())
    except (LtiException, OSError, ValueError) as error:  # OSError: requests' errors, a timeout
        raise LaunchRefused(_("The platform did not send its roster: %(error)s", error=str(error)[:200]), 502) from None


def sync_roster(actor: User, link: LtiResourceLink, members: list[dict]) -> RosterSync:
    """Enrol the members who are active learners in the deployment's cohort (idempotent). A member the cohort
    refuses gets no account: each member's account and enrolment are one savepoint. The sync is a teacher's
    deliberate act, so it enrols outside the cohort's enrolment window (`check_window=False`); capacity and the
    cohort's other rules still apply."""
    deployment = db.session.get(LtiDeployment, link.deployment_id)
    cohort = db.session.get(Cohort, deployment.cohort_id) if deployment.cohort_id else None
    if cohort is None:
        raise LaunchRefused(_("Link this deployment to a cohort first."))
    platform = db.session.get(LtiPlatform, deployment.platform_id)
    result = RosterSync()
    for member in members:
        created = _enrol_member(platform, cohort, member)
        if created is None:
            result.skipped += 1
        elif created:
            result.enrolled += 1
        else:
            result.already += 1
    record(
        Action.LTI_ROSTER_SYNCED,
        actor_id=actor.id,
        cohort_id=cohort.id,
        details={"enrolled": result.enrolled, "unchanged": result.already, "skipped": result.skipped},
    )
    return result


def _enrol_member(platform: LtiPlatform, cohort: Cohort, member: object) -> bool | None:
    """Enrol one roster member: True if newly enrolled, False if already, None if skipped (nothing written)."""
    if not isinstance(member, dict):
        return None
    roles, sub = member.get("roles"), member.get("user_id")
    if member.get("status", "Active") != "Active" or not isinstance(roles, list) or not is_learner(roles):
        return None
    if not isinstance(sub, str) or not 0 < len(sub) <= 255:
        return None
    from course.lti.claims import display_name  # with the claims' models, loaded when a roster is synced

    savepoint = db.session.begin_nested()
    user = account_for(platform, sub, display_name(member))
    if user.role != Role.LEARNER or not user.active or user.deleted_at is not None:
        savepoint.rollback()
        return None
    try:
        _enrolment, created = enrol(cohort, user, source="lti", check_window=False)
    except CohortError:
        savepoint.rollback()  # a new account the cohort refused is not kept
        return None
    savepoint.commit()
    return created
