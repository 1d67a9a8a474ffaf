"""Registering a school's LMS (an LTI 1.3 platform) and its deployments: what an admin saves and deletes, each
recorded in the audit log. Services flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from course.audit.log import Action, record
from course.extensions import db
from course.lti.models import LtiDeployment, LtiPlatform


class PlatformError(ValueError):
    """The registration cannot be saved as given."""


@dataclass(frozen=True)
class PlatformSettings:
    name: str
    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    cohort_id: int | None


def platforms() -> list[tuple[LtiPlatform, list[LtiDeployment]]]:
    rows = db.session.scalars(select(LtiPlatform).order_by(func.lower(LtiPlatform.name), LtiPlatform.id)).all()
    deployments = db.session.scalars(select(LtiDeployment).order_by(LtiDeployment.id)).all()
    return [(p, [d for d in deployments if d.platform_id == p.id]) for p in rows]


def deployments_of(platform: LtiPlatform) -> list[LtiDeployment]:
    return list(
        db.session.scalars(
            select(LtiDeployment).where(LtiDeployment.platform_id == platform.id).order_by(LtiDeployment.id)
        )
    )


def save_platform(platform: LtiPlatform | None, settings: PlatformSettings) -> LtiPlatform:
    """Create (`platform` None) or update a registration; its deployments become exactly those listed (a
    deployment removed takes its resource links, and their scores waiting, with it)."""
    platform = platform or LtiPlatform()
    for name in ("name", "issuer", "client_id", "auth_login_url", "auth_token_url", "key_set_url"):
        setattr(platform, name, getattr(settings, name))
    try:
        with db.session.begin_nested():
            db.session.add(platform)
            db.session.flush()
    except IntegrityError as exc:
        raise PlatformError(_("This issuer and client id are already registered.")) from exc
    wanted = list(dict.fromkeys(settings.deployment_ids))
    db.session.execute(
        delete(LtiDeployment).where(
            LtiDeployment.platform_id == platform.id, LtiDeployment.deployment_id.not_in(wanted)
        )
    )
    existing = {d.deployment_id: d for d in deployments_of(platform)}
    for deployment_id in wanted:
        row = existing.get(deployment_id) or LtiDeployment(platform_id=platform.id, deployment_id=deployment_id)
        row.cohort_id = settings.cohort_id
        db.session.add(row)
    db.session.flush()
    record(
        Action.LTI_PLATFORM_SAVED,
        cohort_id=settings.cohort_id,
        details={"platform_id": platform.id, "deployments": len(wanted)},
        subject=f"lti platform {platform.id}",
    )
    return platform


def delete_platform(platform: LtiPlatform) -> None:
    """Forget the platform, its deployments, links, accounts' links and waiting scores (the accounts stay)."""
    record(Action.LTI_PLATFORM_DELETED, subject=f"lti platform {platform.id}", details={"platform_id": platform.id})
    db.session.execute(delete(LtiPlatform).where(LtiPlatform.id == platform.id))
    db.session.expunge(platform)
