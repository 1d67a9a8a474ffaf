"""A learner's completion of a course: issued once every lesson is complete and every quiz passed, with a
snapshot of what the public verification page shows, and that page's view of it. Services flush, never commit."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from course import signals
from course.accounts.models import User
from course.content.i18n import content_language
from course.content.models import Course, Quiz
from course.db_types import utcnow
from course.extensions import db
from course.progress.models import Completion, new_verification_code
from course.progress.outline import LearnerOutline, build_outline
from course.progress.rollup import ACTIVITY, touch
from course.sql import insert_ignore


def maybe_complete_course(user_id: int, course: Course, outline: LearnerOutline | None = None) -> Completion | None:
    """Issue the course completion once every lesson is complete and every quiz passed.

    Exactly one per learner and course: the unique constraint decides under double clicks and races.
    """
    outline = outline or build_outline(course, user_id)
    if outline.completion is not None:
        return db.session.get(Completion, outline.completion.id)
    if not outline.all_done:
        return None
    user = db.session.get(User, user_id)
    results = [QuizResult(q.quiz, q.best_percent, q.attempts) for q in outline.quizzes]
    inserted = insert_ignore(
        Completion,
        {
            "user_id": user_id,
            "course_id": course.id,
            "started_at": outline.started_at or utcnow(),
            "completed_at": utcnow(),
            "time_spent_seconds": outline.time_spent_seconds,
            "snapshot": snapshot(user.name, course, results),
            "verification_code": new_verification_code(),
        },
        ["user_id", "course_id"],
    )
    completion = db.session.scalar(
        select(Completion).where(Completion.user_id == user_id, Completion.course_id == course.id)
    )
    if inserted:
        touch(course.id, user_id, ACTIVITY)  # a plain INSERT: the flush hook (rollup._flushed) does not see it
        signals.course_completed.send(Completion, completion=completion)  # its Open Badge (course/badges)
    return completion


@dataclass(frozen=True)
class QuizResult:
    quiz: Quiz
    best_percent: float | None
    attempts: int


def snapshot(name: str, course: Course, results: list[QuizResult]) -> dict[str, Any]:
    """What a completion freezes for its verification page: the learner's name, the course's and each quiz's
    title (in every language the content has them), each quiz's best score and attempts."""
    return {
        "name": name,
        "course": course.title,
        "course_titles": _translated_titles(course.i18n),
        "quizzes": [
            {
                "key": r.quiz.key,
                "title": r.quiz.title,
                "titles": _translated_titles(r.quiz.i18n),
                "best_percent": round(r.best_percent or 0, 1),
                "attempts": r.attempts,
            }
            for r in results
        ],
    }


@signals.user_renamed.connect
def _renamed(_sender: object, user: User) -> None:
    """A learner who corrects their name expects their certificates to carry it."""
    for completion in db.session.scalars(select(Completion).where(Completion.user_id == user.id)):
        if completion.snapshot.get("name") != user.name:
            completion.snapshot = {**completion.snapshot, "name": user.name}  # a new dict: JSON is not mutable
    db.session.flush()


# -- the public verification page ---------------------------------------------------------------------------
def completion_by_code(code: str) -> tuple[Completion, Course] | None:
    """The completion a verification link names, with its course; None for an unknown code."""
    if len(code) > 64:
        return None
    row = db.session.execute(
        select(Completion, Course)
        .join(Course, Course.id == Completion.course_id)
        .where(Completion.verification_code == code)
    ).first()
    return (row[0], row[1]) if row else None


def _translated_titles(i18n: dict | None) -> dict[str, str]:
    """A content row's title in each language it is translated into: {lang: title}."""
    return {lang: texts["title"] for lang, texts in (i18n or {}).items() if (texts or {}).get("title")}


@dataclass(frozen=True)
class Verification:
    """What the public verification page shows, and nothing more: name, course, date, best scores."""

    name: str
    course: str
    completed_at: datetime
    quizzes: list[tuple[str, float]]  # (title, best percent)


def verification(completion: Completion, course: Course) -> Verification:
    """The completion as its snapshot froze it, its titles in the reader's language.

    A title is the snapshot's translation of it (snapshots keep each title in every language the content had),
    else the live content's (a translation added since, or a snapshot older than that: the course by its id, a
    quiz by its key or, in an old snapshot, by its title there), else the snapshot's own text, in the course's
    language."""
    snapshot = completion.snapshot or {}
    frozen = snapshot.get("quizzes", [])
    course_title = snapshot.get("course") or course.title
    quizzes = [(q.get("title", ""), q.get("best_percent") or 0) for q in frozen]
    lang = content_language()
    if lang:
        live = course.archived_at is None
        course_title = (
            snapshot.get("course_titles", {}).get(lang)
            or (live and _translated_titles(course.i18n).get(lang))
            or course_title
        )
        by_key, by_title = {}, {}
        if live and any(lang not in q.get("titles", {}) for q in frozen):
            by_key, by_title = _live_quiz_titles(course.id, lang)
        quizzes = [
            (
                q.get("titles", {}).get(lang) or by_key.get(q.get("key")) or by_title.get(q.get("title")) or title,
                best,
            )
            for q, (title, best) in zip(frozen, quizzes, strict=True)
        ]
    return Verification(snapshot.get("name", ""), course_title, completion.completed_at, quizzes)


def _live_quiz_titles(course_id: int, lang: str) -> tuple[dict[str, str], dict[str, str]]:
    """The titles in `lang` of the course's live quizzes, by quiz key and by title in the course's language (a
    title two quizzes share names neither)."""
    rows = db.session.execute(
        select(Quiz.key, Quiz.title, Quiz.i18n).where(Quiz.course_id == course_id, Quiz.archived_at.is_(None))
    ).all()
    uses = Counter(title for _key, title, _i18n in rows)
    by_key: dict[str, str] = {}
    by_title: dict[str, str] = {}
    for key, title, i18n in rows:
        if translated := _translated_titles(i18n).get(lang):
            by_key[key] = translated
            if uses[title] == 1:
                by_title[title] = translated
    return by_key, by_title
