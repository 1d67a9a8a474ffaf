"""The weekly instructor digest: once per ISO week, to each instructor of each running cohort, in the instructor's
language — the cohort's numbers (the overview's: course/dashboard/overview.py), who is NEWLY at risk since the last
digest, and the quiz questions that look miskeyed (course/dashboard/itemflags.py), with links to the dashboard.

"Newly at risk" compares the at-risk learners now with those of the cohort's previous digest
(`course.cohorts.digest_models`); the first digest lists everyone at risk. A week's snapshot is written with its
first digest and stays, so every instructor of the cohort is told the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from course.accounts.models import User
from course.clock import today
from course.cohorts.digest_models import previous_snapshot, save_snapshot
from course.cohorts.models import Cohort
from course.cohorts.services import instructors_of
from course.content.i18n import content_language_for
from course.dashboard.coursemap import QuizInfo, load_course_map
from course.dashboard.learners import LearnerQuery, urgency_order
from course.dashboard.lists import learner_rows
from course.dashboard.nudges import running_cohorts
from course.dashboard.overview import overview
from course.dashboard.quizstats import QuestionStat, quiz_stats
from course.db_types import utcnow
from course.extensions import db
from course.links import external_url
from course.outbox.kinds import Kind
from course.outbox.messages import enqueue, is_opted_out, recipient_language
from course.outbox.models import OutboxMessage

NEWLY_SHOWN = 20  # learners named in the email; the rest are on the at-risk page it links to


@dataclass
class FlaggedQuestion:
    quiz: QuizInfo
    question: QuestionStat
    url: str


def iso_week(day: date) -> str:
    """ "2026-W49": the ISO week of `day` (sorts as the weeks do)."""
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def send_weekly_digests() -> int:
    """The worker's job: this week's digest to every instructor of every running cohort who has not had it; how
    many were written."""
    now, day = utcnow(), today()
    week = iso_week(day)
    cohorts = db.session.scalars(running_cohorts(day)).all()
    return sum(_digest_cohort(cohort, week, now) for cohort in cohorts)


def digest_key(cohort_id: int, instructor_id: int, week: str) -> str:
    return f"digest:{cohort_id}:{instructor_id}:{week}"


def _digest_cohort(cohort: Cohort, week: str, now: datetime) -> int:
    instructors = instructors_of(cohort)
    keys = {u.id: digest_key(cohort.id, u.id, week) for u in instructors}
    taken = set(db.session.scalars(select(OutboxMessage.event_key).where(OutboxMessage.event_key.in_(keys.values()))))
    due = [
        u
        for u in instructors
        if keys[u.id] not in taken and u.active and u.deleted_at is None and not is_opted_out(u.id, Kind.DIGEST)
    ]
    if not due:
        return 0
    before = previous_snapshot(cohort.id, week)
    snapshot = save_snapshot(cohort.id, week, _at_risk_ids(cohort, now))
    known = set(before.at_risk_ids) if before is not None else set()
    newly = [uid for uid in snapshot.at_risk_ids if uid not in known]  # most urgent first
    contents: dict[str, dict[str, Any]] = {}
    written = 0
    for instructor in due:
        language = recipient_language(instructor)
        if language not in contents:
            contents[language] = digest_context(cohort, now, language, newly, first=before is None)
        written += _enqueue(keys[instructor.id], instructor, language, contents[language])
    return written


def _at_risk_ids(cohort: Cohort, now: datetime) -> list[int]:
    """The cohort's at-risk learners, most urgent first."""
    cm = load_course_map(cohort, lang="")
    learners = LearnerQuery(cohort, cm, now).select(("reasons", "idle_since", "chapters_behind"))
    c = learners.subquery("l").c
    return list(db.session.scalars(select(c.user_id).where(c.reasons > 0).order_by(*urgency_order(c))))


def digest_context(cohort: Cohort, now: datetime, language: str, newly: list[int], first: bool) -> dict[str, Any]:
    """What templates/emails/digest.* show, titles in `language`. The sentences (reasons, flags) are written by
    the templates, in the language the email is rendered in."""
    cm = load_course_map(cohort, lang=content_language_for(language))
    numbers = overview(cohort, cm, now)
    newly_rows = learner_rows(cohort, cm, now, newly[:NEWLY_SHOWN])
    flagged = []
    for quiz in cm.quizzes:
        stats = quiz_stats(cohort, quiz, lang=content_language_for(language))
        url = external_url("dashboard.quiz", cohort_id=cohort.id, quiz_key=quiz.key)
        flagged += [FlaggedQuestion(quiz, q, url) for q in stats.questions if "miskeyed" in q.flag_kinds]
    return {
        "cohort_name": cohort.name,
        "course_title": cm.course_title,
        "numbers": numbers,
        "first": first,
        "newly": newly_rows,
        "newly_total": len(newly),
        "learner_url": lambda user_id: external_url("dashboard.learner", cohort_id=cohort.id, user_id=user_id),
        "flagged": flagged,
        "overview_url": external_url("dashboard.overview", cohort_id=cohort.id),
        "at_risk_url": external_url("dashboard.at_risk", cohort_id=cohort.id),
        "inactive_days": cohort.inactive_after_days,
    }


def _enqueue(event_key: str, instructor: User, language: str, context: dict[str, Any]) -> int:
    message = enqueue(
        event_key=event_key, kind=Kind.DIGEST, recipient=instructor, template="digest", language=language, **context
    )
    return 0 if message is None else 1
