"""Deleting an account: its personal data removed or anonymised, while every cohort's statistics stay as they
were (the dashboard's numbers, the quizzes' item statistics). The row of the user stays, anonymised, because
attempts, progress and enrolments refer to it and the statistics count them.

What happens to each table that holds rows about a user, and why, is `RULES` (docs/SECURITY.md, "Retention",
says the same); a table holding secrets that is not listed (MFA factors, recovery codes) loses the user's rows.
A table about users that is in neither fails `tests/test_privacy.py`, and refuses deletions here, until it has a
rule. Services flush, never commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from course.accounts.models import Role, User, new_session_token
from course.accounts.provisioning import UNUSABLE_PASSWORD
from course.accounts.services import AccountError
from course.audit.log import Action, record
from course.badges.status import revoke_for_user
from course.cohorts.digest_models import forget_learner as forget_in_digests
from course.cohorts.models import Enrolment
from course.content.models import Question
from course.content.question_types import QUESTION_TYPES
from course.db_types import utcnow
from course.extensions import db
from course.privacy.tables import UserTable, user_tables
from course.progress.models import Completion
from course.quiz.models import Attempt, AttemptAnswer
from course.ratelimit import forget_login_attempts

ERASED = ""  # what an answer in the learner's own words becomes (an empty answer is never submitted)


def deleted_email(user_id: int) -> str:
    """A deleted account's address: unique like the one it replaces, and no one's (`.invalid` is reserved)."""
    return f"deleted-{user_id}@deleted.invalid"


@dataclass(frozen=True)
class Rule:
    treat: Callable[[UserTable, User], None]
    why: str


def refusal(user: User, by: User, lock: bool = False) -> str | None:
    """Why `by` may not delete `user`'s account, or None. The last active admin's account stays, or no one could
    administer the site; with `lock`, the active admins' rows stay locked until the transaction ends
    (PostgreSQL), so that two admins deleting their accounts at once cannot both pass."""
    if user.deleted_at is not None:
        return _("This account is already deleted.")
    if user.is_admin and user.active and active_admins(lock) == [user.id]:
        if by.id == user.id:
            return _(
                "You are the only active admin: make another account an admin before you delete yours, so that "
                "someone can still run the site."
            )
        return _("This is the only active admin account: make another account an admin before you delete it.")
    return None


def active_admins(lock: bool = False) -> list[int]:
    """The ids of the active admin accounts, in order (locked `FOR UPDATE` with `lock`)."""
    query = select(User.id).where(User.role == Role.ADMIN, User.active.is_(True), User.deleted_at.is_(None))
    query = query.order_by(User.id)
    return list(db.session.scalars(query.with_for_update() if lock else query))


def delete_account(user: User, by: User) -> None:
    """Delete `user`'s account, by themselves or by an admin (`by`): every table about them treated by its rule,
    their failed-login counter (keyed by their email) removed, and the deletion recorded. AccountError if it is
    refused (`refusal`). The caller commits, then logs the user out if it is them."""
    if problem := refusal(user, by, lock=True):
        raise AccountError(problem)
    tables = user_tables()
    unruled = [found.name for found in tables if rule_for(found) is None]
    if unruled:
        raise RuntimeError(f"no deletion rule for the tables {unruled}: add them to course/privacy/deletion.py")
    email = user.email
    for found in reversed(tables):  # the rows under others' first (an attempt's answers); the user's row last
        rule_for(found).treat(found, user)
    forget_login_attempts(email)
    forget_in_digests(user.id)  # the weekly digests' lists of ids (JSON: no foreign key for `user_tables`)
    record(Action.ACCOUNT_DELETED, actor_id=by.id, target_user_id=user.id)
    db.session.flush()


def delete_account_as_admin(admin: User, user: User) -> None:
    """An admin deletes someone else's account (their own, from their account page, with their password)."""
    if user.id == admin.id:
        raise AccountError(_("You cannot delete your own account here. Use your account page."))
    delete_account(user, by=admin)


# -- what happens to each table ----------------------------------------------------------------------------------
def _keep(found: UserTable, user: User) -> None:
    pass


def _delete(found: UserTable, user: User) -> None:
    db.session.execute(delete(found.table).where(found.rows_of(user.id)))


def _anonymise(found: UserTable, user: User) -> None:
    user.name = f"deleted-{user.id}"
    user.email = deleted_email(user.id)
    user.password_hash = UNUSABLE_PASSWORD
    user.session_token = new_session_token()  # any cookie or password link made before is refused
    user.active = False
    user.role = Role.LEARNER
    user.language = None
    user.time_zone = None
    user.last_login_at = None
    user.deleted_at = utcnow()


def _erase_free_text(found: UserTable, user: User) -> None:
    free_text = [name for name, kind in QUESTION_TYPES.items() if kind.free_text]
    db.session.execute(
        update(AttemptAnswer)
        .where(
            AttemptAnswer.attempt_id.in_(select(Attempt.id).where(Attempt.user_id == user.id)),
            AttemptAnswer.question_id.in_(select(Question.id).where(Question.type.in_(free_text))),
        )
        .values(response=ERASED)
        .execution_options(synchronize_session=False)
    )


def _clear_extension_note(found: UserTable, user: User) -> None:
    db.session.execute(
        update(Enrolment)
        .where(Enrolment.user_id == user.id)
        .values(extension_note="")
        .execution_options(synchronize_session=False)
    )


def _forget_author(found: UserTable, user: User) -> None:
    db.session.execute(
        update(found.table).where(found.rows_of(user.id)).values(dict.fromkeys(c.name for c in found.user_columns))
    )


def _withdraw(found: UserTable, user: User) -> None:
    now = utcnow()
    for completion in db.session.scalars(select(Completion).where(Completion.user_id == user.id)).all():
        completion.withdrawn_at = now
        completion.snapshot = {key: value for key, value in completion.snapshot.items() if key != "name"}


def _revoke_credentials(found: UserTable, user: User) -> None:
    revoke_for_user(user.id)


RULES: dict[str, Rule] = {
    "user_account": Rule(
        _anonymise,
        "kept, anonymised: name and email replaced, password unusable, inactive, role, language, time zone and "
        "last login cleared; attempts, progress and enrolments refer to the row and the statistics count them",
    ),
    "login_session": Rule(_delete, "deleted: every session of the account ends"),
    "api_token": Rule(_delete, "deleted: the account's API tokens stop working"),
    "lti_account": Rule(
        _delete, "deleted: the link to the LMS user; a new launch from the LMS makes a new, empty account"
    ),
    "lti_score": Rule(_delete, "deleted: scores waiting to be posted to an LMS (one waiting is never sent)"),
    "workbook_answer": Rule(_delete, "deleted: the learner's own words, which no statistic counts"),
    "quiz_attempt": Rule(_keep, "kept: scores, pass marks and dates make the cohort's and the quizzes' statistics"),
    "attempt_answer": Rule(
        _erase_free_text,
        "kept for the item statistics (correct or not, points, options chosen); a short answer typed in the "
        "learner's own words is replaced by an empty one",
    ),
    "lesson_progress": Rule(_keep, "kept: progress, the drop-off funnel and reading time; no free text"),
    "learner_course_stats": Rule(_keep, "kept: the dashboard's roll-up of the rows kept"),
    "learner_chapter_done": Rule(_keep, "kept: the dashboard's roll-up of the rows kept"),
    "completion": Rule(
        _withdraw,
        "kept, so the cohort's completions still count it, but withdrawn: the verification page says so, and "
        "the name is removed from its snapshot",
    ),
    "badge_credential": Rule(
        _revoke_credentials,
        "kept for its bit in the revocation status list, which is set: the Open Badges credential is revoked, and "
        "its signed document (the learner's name, the salted hash of their email) is erased",
    ),
    "enrolment": Rule(
        _clear_extension_note, "kept: the cohort's learners and seats; its extension note (free text) cleared"
    ),
    "cohort_instructor": Rule(_delete, "deleted: a deleted account teaches no cohort"),
    "outbox_message": Rule(
        _delete, "deleted: the emails to the account, sent or waiting (a waiting one is never sent)"
    ),
    "notification_opt_out": Rule(_delete, "deleted: the account's email settings"),
    "calendar_feed": Rule(_delete, "deleted: the secret addresses of the account's calendar feeds stop working"),
    "announcement": Rule(
        _forget_author,
        "kept: the cohort's learners still read what their instructor posted; its author is no longer named "
        "(author_id cleared)",
    ),
    "announcement_dismissal": Rule(_delete, "deleted: which announcements the learner dismissed"),
    "review_card": Rule(_delete, "deleted: the learner's spaced-review schedule, which no statistic outlives"),
    "review_log": Rule(_delete, "deleted: the learner's review answers (right or wrong), their own record"),
    "audit_entry": Rule(
        _keep,
        "kept until pruned (AUDIT_RETENTION_DAYS): append-only, and holds ids, roles and dates, no names, emails "
        "or free text",
    ),
}
# A table not listed that holds secrets: MFA factors, recovery codes.
SECRETS = Rule(_delete, "deleted: secrets of an account that no longer signs in")


def rule_for(found: UserTable) -> Rule | None:
    return RULES.get(found.name) or (SECRETS if found.holds_secrets else None)
