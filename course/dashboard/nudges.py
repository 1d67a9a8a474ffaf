"""Reminders ("nudges") to learners who stopped or fell behind, each with the link that continues where they left
off, in their own language.

- Automatic (`send_automatic_nudges`, a job of the worker: course/worker/jobs.py), for every running cohort whose
  instructors left "Send automatic reminders" on (`Cohort.auto_nudges`): a learner the at-risk rule
  (course/dashboard/risk.py) counts as inactive — no activity for the cohort's `inactive_after_days` — gets ONE
  reminder for that spell of inactivity (the event names the day they were last active, or could have started);
  they get another only after being active again and then inactive again. A learner who is active but more than
  one chapter behind the schedule gets one reminder per chapter the schedule opens while they are behind. Neither
  goes to someone who had a reminder (automatic or from their instructor) in the last `inactive_after_days` days:
  it waits until then.
- From the dashboard (course/dashboard/nudge_routes.py): an instructor reminds one learner or the at-risk list,
  after a preview with the count; the form's one-time key names the event, so a double submit sends once.

Who turned reminders off (Kind.NUDGE, on the account page or by an email's unsubscribe link) is left out and named
on the preview; so is a disabled account. The "continue" link is where the learner's own outline would send them
(`LearnerOutline.next_step`): one statement a learner reminded, never for those already reminded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, or_, select

from course.accounts.models import User
from course.audit.log import Action, record
from course.clock import school_date, today
from course.cohorts.models import Cohort
from course.content.i18n import content_language_for, tr
from course.content.models import Course
from course.dashboard.coursemap import CourseMap, load_course_map
from course.dashboard.learners import LearnerQuery, released_chapters, urgency_order
from course.db_types import utcnow
from course.extensions import db
from course.links import external_url
from course.outbox.kinds import Kind
from course.outbox.messages import enqueue, recipient_language, render_email
from course.outbox.models import NotificationOptOut, OutboxMessage
from course.progress.outline import build_outline

METRICS = ("reasons", "inactive", "far_behind", "failing", "started", "idle_since", "chapters_behind")
AT_RISK_REASONS = ("", "inactive", "schedule", "quiz")  # the at-risk page's filter (course/dashboard/lists.py)
NOTE_MAX = 1000


@dataclass
class Reminded:
    """A learner to remind and why: the at-risk numbers their message mentions."""

    user: User
    inactive: bool = False
    started: bool = False
    idle_since: datetime | None = None
    idle_days: int = 0
    far_behind: bool = False
    chapters_behind: int = 0


@dataclass
class Recipients:
    """Who a reminder goes to, and who it does not: `skipped` holds (learner, "opted_out" or "disabled")."""

    to_email: list[Reminded] = field(default_factory=list)
    skipped: list[tuple[Reminded, str]] = field(default_factory=list)

    @property
    def opted_out(self) -> list[Reminded]:
        return [person for person, why in self.skipped if why == "opted_out"]


def running_cohorts(day: date) -> Select:
    """The cohorts running on `day` (started, not ended), by id."""
    return select(Cohort).where(Cohort.starts_on <= day, Cohort.ends_on >= day).order_by(Cohort.id)


# -- who -----------------------------------------------------------------------------------------------------------
def _rows(cohort: Cohort, cm: CourseMap, now: datetime, condition: Any = None, user_ids: list[int] | None = None,
          inactive_days: int | None = None) -> list[Any]:  # fmt: skip
    learners = LearnerQuery(cohort, cm, now, inactive_days).select(METRICS, user_ids=user_ids).subquery("l")
    stmt = select(learners).order_by(*urgency_order(learners.c))
    if condition is not None:
        stmt = stmt.where(condition(learners.c))
    return db.session.execute(stmt).all()


def _recipients(rows: list[Any], now: datetime) -> Recipients:
    """The learners of `rows` with their accounts (one statement) and opt-outs (one), in the rows' order."""
    ids = [row.user_id for row in rows]
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids or [-1])))}
    opted_out = set(
        db.session.scalars(
            select(NotificationOptOut.user_id).where(
                NotificationOptOut.kind == str(Kind.NUDGE), NotificationOptOut.user_id.in_(ids or [-1])
            )
        )
    )
    found = Recipients()
    for row in rows:
        user = users.get(row.user_id)
        if user is None:
            continue
        since = row.idle_since
        person = Reminded(
            user=user,
            inactive=bool(row.inactive),
            started=bool(row.started),
            idle_since=since,
            idle_days=max((now - since).days, 0) if since else 0,
            far_behind=bool(row.far_behind),
            chapters_behind=row.chapters_behind or 0,
        )
        if not user.active or user.deleted_at is not None:
            found.skipped.append((person, "disabled"))
        elif user.id in opted_out:
            found.skipped.append((person, "opted_out"))
        else:
            found.to_email.append(person)
    return found


def at_risk_recipients(cohort: Cohort, cm: CourseMap, now: datetime, reason: str = "", days: int = 0) -> Recipients:
    """The cohort's at-risk list as its page shows it (optionally one reason, inactive after `days`), most
    urgent first. Three statements."""
    conditions = {
        "": lambda c: c.reasons > 0,
        "inactive": lambda c: c.inactive == 1,
        "schedule": lambda c: c.far_behind == 1,
        "quiz": lambda c: c.failing == 1,
    }
    rows = _rows(cohort, cm, now, conditions.get(reason, conditions[""]), inactive_days=days or None)
    return _recipients(rows, now)


def learner_recipients(cohort: Cohort, cm: CourseMap, now: datetime, user_id: int) -> Recipients:
    """One learner of the cohort, at risk or not. Three statements."""
    return _recipients(_rows(cohort, cm, now, user_ids=[user_id]), now)


def previewed_recipients(cohort: Cohort, cm: CourseMap, now: datetime, user_ids: list[int]) -> Recipients | None:
    """The learners a preview showed (`user_ids`), checked again now: those who since turned reminders off or whose
    account was disabled are in `skipped`. None when one of them is not a learner of the cohort. Three statements."""
    rows = _rows(cohort, cm, now, user_ids=user_ids)
    if {row.user_id for row in rows} != set(user_ids):
        return None
    return _recipients(rows, now)


# -- what ----------------------------------------------------------------------------------------------------------
def message_context(person: Reminded, course: Course, cohort: Cohort, language: str, **extra: Any) -> dict[str, Any]:
    """What templates/emails/nudge.* show, titles in `language`: the reasons, and the "continue" link (where the
    learner's own outline sends them; the outline's page when nothing open is left to do)."""
    lang = content_language_for(language)
    step = build_outline(course, person.user.id).next_step()
    if step is None:
        url, title = external_url("learn.outline", course_key=course.key), None
    else:
        kind, item = step
        if kind == "lesson":
            url = external_url("learn.lesson", course_key=course.key, lesson_key=item.key)
        else:
            url = external_url("quiz.quiz", course_key=course.key, quiz_key=item.key)
        title = tr(item, "title", lang=lang)
    return {
        "course_title": tr(course, "title", lang=lang),
        "cohort_name": cohort.name,
        "continue_url": url,
        "step_title": title,
        "person": person,
        "sender_name": None,
        "note": None,
        **extra,
    }


def preview(cohort: Cohort, person: Reminded, language: str, sender: User, note: str) -> tuple[str, str]:
    """(subject, text) of the reminder `person` would get, in `language` (the reader's, inside their request)."""
    course = db.session.get(Course, cohort.course_id)
    context = message_context(person, course, cohort, language, sender_name=sender.name, note=note)
    subject, text, _html = render_email("nudge", recipient=person.user, unsubscribe_url=None, **context)
    return subject, text


# -- sending -------------------------------------------------------------------------------------------------------
def send_reminders(cohort: Cohort, recipients: Recipients, *, key: str, note: str, sender: User) -> int:
    """An instructor's reminder to `recipients.to_email`, once per form (`key`); how many were written (0 for a
    form sent again). Recorded in the audit log when any was written."""
    keys = {p.user.id: f"nudge:manual:{key}:{p.user.id}" for p in recipients.to_email}
    taken = _taken(list(keys.values()))
    course = db.session.get(Course, cohort.course_id)
    written = 0
    for person in recipients.to_email:
        if keys[person.user.id] in taken:
            continue
        language = recipient_language(person.user)
        context = message_context(person, course, cohort, language, sender_name=sender.name, note=note or None)
        written += _enqueue(keys[person.user.id], person, language, context)
    if written:
        only = recipients.to_email[0].user.id if len(recipients.to_email) == 1 else None
        details = {"reminded": written, "not_emailed": len(recipients.skipped), "personal_note": bool(note)}
        record(Action.REMINDER_SENT, actor_id=sender.id, target_user_id=only, cohort_id=cohort.id, details=details)
    return written


def send_automatic_nudges() -> int:
    """The worker's job: the reminders due in every running cohort with automatic reminders on (see the module's
    note); how many were written."""
    now = utcnow()
    cohorts = db.session.scalars(running_cohorts(today()).where(Cohort.auto_nudges.is_(True))).all()
    return sum(_nudge_cohort(cohort, now) for cohort in cohorts)


def _nudge_cohort(cohort: Cohort, now: datetime) -> int:
    cm = load_course_map(cohort, lang="")
    rows = _rows(cohort, cm, now, lambda c: or_(c.inactive == 1, c.far_behind == 1))
    released = released_chapters(cm, school_date(now))
    newest = max(released, key=lambda c: (c.opens_on, c.index)).id if released else 0
    keys = {row.user_id: _automatic_key(cohort, row, newest) for row in rows}
    taken = _taken(list(keys.values()))
    due = [row for row in rows if keys[row.user_id] not in taken]
    if not due:
        return 0
    recent = _reminded_since(now - timedelta(days=cohort.inactive_after_days), [row.user_id for row in due])
    course = db.session.get(Course, cohort.course_id)
    written = 0
    for person in _recipients(due, now).to_email:
        if person.user.id in recent:
            continue  # reminded lately (by their instructor, or when they fell behind): this one waits
        language = recipient_language(person.user)
        written += _enqueue(keys[person.user.id], person, language, message_context(person, course, cohort, language))
    return written


def _automatic_key(cohort: Cohort, row: Any, newest_chapter: int) -> str:
    """The event an automatic reminder is for: this spell of inactivity (the day it began), or, for a learner who
    is active but far behind, the newest chapter the schedule has opened."""
    if row.inactive:
        return f"nudge:auto:{cohort.id}:{row.user_id}:{row.idle_since.date().isoformat()}"
    return f"nudge:auto:{cohort.id}:{row.user_id}:behind:{newest_chapter}"


def _enqueue(event_key: str, person: Reminded, language: str, context: dict[str, Any]) -> int:
    message = enqueue(
        event_key=event_key, kind=Kind.NUDGE, recipient=person.user, template="nudge", language=language, **context
    )
    return 0 if message is None else 1


def _taken(keys: list[str]) -> set[str]:
    if not keys:
        return set()
    return set(db.session.scalars(select(OutboxMessage.event_key).where(OutboxMessage.event_key.in_(keys))))


def _reminded_since(since: datetime, user_ids: list[int]) -> set[int]:
    return set(
        db.session.scalars(
            select(OutboxMessage.user_id).where(
                OutboxMessage.kind == str(Kind.NUDGE),
                OutboxMessage.user_id.in_(user_ids or [-1]),
                OutboxMessage.created_at >= since,
            )
        )
    )
