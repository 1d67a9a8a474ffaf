"""Recording an audit entry, in the transaction of the action it records (the caller commits both)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from course.audit.models import AuditEntry
from course.extensions import db


class Action(StrEnum):
    """What an entry records. The value is stored: rename a member freely, never its value."""

    # signing in and the account's security
    LOGIN = "login"
    LOGIN_FAILED = "login failed"
    PASSWORD_RESET_REQUESTED = "password reset requested"  # noqa: S105 - an action's name
    PASSWORD_SET = "password set"  # noqa: S105 - from a set-password or reset link
    PASSWORD_CHANGED = "password changed"  # noqa: S105 - on the account page
    EMAIL_CHANGED = "email changed"  # the addresses are not recorded
    LOGGED_OUT_EVERYWHERE = "logged out everywhere"
    MFA_ENABLED = "mfa enabled"
    MFA_DISABLED = "mfa disabled"
    MFA_RESET = "mfa reset"  # by an admin or the command line
    MFA_FAILED = "mfa failed"
    RECOVERY_CODES_MADE = "recovery codes made"
    RECOVERY_CODE_USED = "recovery code used"
    API_TOKEN_CREATED = "api token created"  # noqa: S105 - an action's name; the token is never recorded
    API_TOKEN_REVOKED = "api token revoked"  # noqa: S105 - an action's name
    # what admins do to accounts
    ACCOUNT_CREATED = "account created"  # by an admin: the account has no password until its owner sets one
    ROLE_CHANGED = "role changed"
    ACCOUNT_DISABLED = "account disabled"
    ACCOUNT_ENABLED = "account enabled"
    ACCOUNT_DELETED = "account deleted"
    # cohorts
    COHORT_CREATED = "cohort created"
    COHORT_EDITED = "cohort edited"
    SCHEDULE_CHANGED = "schedule changed"
    ENROLLED = "enrolled"
    UNENROLLED = "unenrolled"
    MOVED = "moved"
    CSV_IMPORTED = "csv imported"
    EXTENSION_SET = "extension set"
    REMINDER_SENT = "reminder sent"  # an instructor's reminder to one learner or to the at-risk list
    ANNOUNCEMENT_POSTED = "announcement posted"
    EMAIL_RETRIED = "email retried"  # an admin sent a failed email again
    LTI_PLATFORM_SAVED = "lti platform saved"  # an admin registered or edited an LMS (course/lti)
    LTI_PLATFORM_DELETED = "lti platform deleted"
    LTI_ROSTER_SYNCED = "lti roster synced"  # a roster read from an LMS enrolled its learners
    # content and data
    CONTENT_LOADED = "content loaded"
    DATA_EXPORTED = "data exported"


def record(
    action: Action,
    *,
    actor_id: int | None = None,
    target_user_id: int | None = None,
    cohort_id: int | None = None,
    subject: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry. The actor is the signed-in user of the request unless `actor_id` names one (None outside
    a request: the command line); `ip` the request's client address (behind TRUSTED_PROXIES, the forwarded one).
    Values are ids, roles, counts and dates: no names, emails or free text."""
    in_request = has_request_context()
    if actor_id is None and in_request and current_user.is_authenticated:
        actor_id = current_user.get_id_number()
    entry = AuditEntry(
        action=str(action),
        actor_id=actor_id,
        ip=request.remote_addr if in_request else None,
        target_user_id=target_user_id,
        cohort_id=cohort_id,
        subject=subject,
        before=before,
        after=after,
        details=details,
    )
    db.session.add(entry)
    return entry
