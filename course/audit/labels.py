"""What an audit entry says, in the reader's language: its action's name, and its values as lines ("Role:
learner → instructor"). Names of people and cohorts come from the page that shows the entry (`Names`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, NamedTuple

from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from course.audit.log import Action
from course.audit.models import AuditEntry

ACTION_LABELS = {
    Action.LOGIN: _l("Logged in"),
    Action.LOGIN_FAILED: _l("Login failed"),
    Action.PASSWORD_RESET_REQUESTED: _l("Password reset requested"),
    Action.PASSWORD_SET: _l("Password set from a link"),
    Action.PASSWORD_CHANGED: _l("Password changed"),
    Action.EMAIL_CHANGED: _l("Email address changed"),
    Action.LOGGED_OUT_EVERYWHERE: _l("Logged out on every device"),
    Action.MFA_ENABLED: _l("Two-step login turned on"),
    Action.MFA_DISABLED: _l("Two-step login turned off"),
    Action.MFA_RESET: _l("Two-step login reset"),
    Action.MFA_FAILED: _l("Two-step login code refused"),
    Action.RECOVERY_CODES_MADE: _l("Recovery codes made"),
    Action.RECOVERY_CODE_USED: _l("Recovery code used"),
    Action.API_TOKEN_CREATED: _l("API token created"),
    Action.API_TOKEN_REVOKED: _l("API token revoked"),
    Action.ACCOUNT_CREATED: _l("Account created"),
    Action.ROLE_CHANGED: _l("Role changed"),
    Action.ACCOUNT_DISABLED: _l("Account disabled"),
    Action.ACCOUNT_ENABLED: _l("Account enabled"),
    Action.ACCOUNT_DELETED: _l("Account deleted"),
    Action.COHORT_CREATED: _l("Cohort created"),
    Action.COHORT_EDITED: _l("Cohort edited"),
    Action.SCHEDULE_CHANGED: _l("Schedule changed"),
    Action.ENROLLED: _l("Joined the cohort"),
    Action.UNENROLLED: _l("Removed from the cohort"),
    Action.MOVED: _l("Moved to another cohort"),
    Action.CSV_IMPORTED: _l("Enrolled from a CSV file"),
    Action.EXTENSION_SET: _l("Extension set"),
    Action.REMINDER_SENT: _l("Reminder sent"),
    Action.ANNOUNCEMENT_POSTED: _l("Announcement posted"),
    Action.EMAIL_RETRIED: _l("Email sent again"),
    Action.LTI_PLATFORM_SAVED: _l("LMS platform saved"),
    Action.LTI_PLATFORM_DELETED: _l("LMS platform deleted"),
    Action.LTI_ROSTER_SYNCED: _l("Roster synced from an LMS"),
    Action.CONTENT_LOADED: _l("Content loaded"),
    Action.DATA_EXPORTED: _l("Data exported"),
}

FIELD_LABELS = {
    "role": _l("Role"),
    "active": _l("Active"),
    "course_id": _l("Course"),
    "starts_on": _l("Starts on"),
    "ends_on": _l("Ends on"),
    "capacity": _l("Capacity"),
    "inactive_after_days": _l("Inactive after (days)"),
    "auto_nudges": _l("Send automatic reminders"),
    "reminded": _l("Learners reminded"),
    "not_emailed": _l("Not emailed (reminders turned off)"),
    "personal_note": _l("Personal note"),
    "enrol_opens_on": _l("Enrolment opens on"),
    "enrol_closes_on": _l("Enrolment closes on"),
    "instructor_ids": _l("Instructors"),
    "name_changed": _l("Name changed"),
    "cohort_id": _l("Cohort"),
    "cohort_ids": _l("Cohorts"),
    "days": _l("Extra days"),
    "source": _l("Joined through"),
    "reason": _l("Reason"),
    "emailed": _l("Link emailed"),
    "link": _l("Link"),
    "rows": _l("Rows"),
    "announcement_id": _l("Announcement"),
    "learners": _l("Learners"),
    "emails": _l("Emails"),
    "enrolled": _l("Enrolled"),
    "unchanged": _l("Already enrolled"),
    "accounts_created": _l("New accounts"),
    "courses": _l("Courses"),
    "plan": _l("Changes"),
    "what": _l("Export"),
    "quiz": _l("Quiz"),
    "filters": _l("Filters"),
    "user_id": _l("User"),
    "action": _l("Action"),
    "since": _l("From"),
    "until": _l("To"),
    "scopes": _l("Scopes"),
    "expires_in_days": _l("Expires in (days)"),
    "token_id": _l("Token"),
    "skipped": _l("Skipped"),
    "platform_id": _l("LMS platform"),
    "deployments": _l("Deployments"),
}

# The values of these keys come from a fixed vocabulary (never free text): as the reader's language says them.
VOCABULARY = frozenset({"role", "reason", "source", "link", "what"})
VALUE_LABELS = {
    "learner": _l("Learner"),
    "instructor": _l("Instructor"),
    "admin": _l("Admin"),
    "wrong password": _l("wrong password"),
    "unknown account": _l("no account with this email"),
    "disabled": _l("account disabled"),
    "throttled": _l("too many failed attempts"),
    "wrong code": _l("wrong code"),
    "invite": _l("invite link"),
    "csv": _l("CSV file"),
    "lti": _l("LMS launch or roster"),
    "move": _l("move from another cohort"),
    "set-password": _l("set-password link"),
    "reset-password": _l("password reset link"),
    "grid": _l("learner grid"),
    "at-risk": _l("learners at risk"),
    "quiz": _l("quiz statistics"),
    "audit": _l("audit log"),
}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}$")
ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
NOTHING = "—"


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)  # type: ignore[call-overload]
    return str(label) if label is not None else action


def action_choices() -> list[tuple[str, str]]:
    """Every action as (value, label), by label."""
    return sorted(((str(action), action_label(action)) for action in Action), key=lambda choice: choice[1])


class Names(NamedTuple):
    """Names the lines may show: people by id (instructors, a filter's user), cohorts by id."""

    people: dict[int, str]
    cohorts: dict[int, str]


class Line(NamedTuple):
    label: str
    value: str  # the value after the change, or the detail's value
    before: str | None = None  # the value before the change (a before/after pair)


def user_ids_named_in(entries: Iterable[AuditEntry]) -> set[int]:
    """The users an entry's values name by id (a cohort's instructors, an export's filter): to look up."""
    found: set[int] = set()
    for entry in entries:
        for values in (entry.before, entry.after):
            found.update(int(i) for i in (values or {}).get("instructor_ids") or [])
        user_id = ((entry.details or {}).get("filters") or {}).get("user_id")
        if user_id is not None:
            found.add(int(user_id))
    return found


def lines(entry: AuditEntry, names: Names) -> list[Line]:
    """What the entry holds besides who, what and when: its subject, what changed, its details."""
    found = []
    if entry.subject:
        found.append(Line(_("Subject"), entry.subject))
    before, after = entry.before or {}, entry.after or {}
    for key in [*after, *(k for k in before if k not in after)]:
        had = _text(key, before[key], names) if key in before else (NOTHING if before else None)  # None: a new thing
        found.append(Line(_label(key), _text(key, after.get(key), names) if key in after else NOTHING, had))
    for key, value in (entry.details or {}).items():
        found.append(Line(_label(key), _text(key, value, names)))
    return found


def _label(key: str) -> str:
    if key.isdigit():  # a schedule's chapters, by id
        return _("Chapter %(id)s", id=key)
    label = FIELD_LABELS.get(key)
    return str(label) if label is not None else key


def _text(key: str, value: Any, names: Names) -> str:
    if value is None:
        return NOTHING
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key in ("cohort_id", "cohort_ids"):
        ids = value if isinstance(value, list) else [value]
        return ", ".join(names.cohorts.get(int(i), f"#{i}") for i in ids)
    if key in ("instructor_ids", "user_id"):
        ids = value if isinstance(value, list) else [value]
        return ", ".join(names.people.get(int(i), f"#{i}") for i in ids) or NOTHING
    if key == "action":
        return action_label(str(value))
    if key == "course_id":
        return f"#{value}"
    if key in VOCABULARY and isinstance(value, str):
        label = VALUE_LABELS.get(value)
        return str(label) if label is not None else value
    if key == "plan" and isinstance(value, dict):  # a content load's counts: {kind: {action: count}}
        return "; ".join(
            f"{kind}: " + ", ".join(f"{what} {n}" for what, n in counts.items()) for kind, counts in value.items()
        )
    if isinstance(value, dict):
        return "; ".join(f"{_label(k)}: {_text(k, v, names)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_text(key, item, names) for item in value) or NOTHING
    if isinstance(value, str) and ISO_DATE.match(value):
        return format_date(date.fromisoformat(value))
    if isinstance(value, str) and ISO_MOMENT.match(value):
        return format_datetime(datetime.fromisoformat(value))
    return str(value)
