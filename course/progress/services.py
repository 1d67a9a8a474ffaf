"""Recording progress. Services flush; the view commits once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Row, bindparam, delete, select, update

from course.auth.models import User
from course.content.i18n import content_language
from course.content.models import Course, Lesson, WorkbookPrompt
from course.dashboard import rollup
from course.db_types import utcnow
from course.extensions import db
from course.progress.models import Completion, LessonProgress, WorkbookAnswer, new_verification_code
from course.progress.outline import CourseOutline, build_outline
from course.quiz.models import Quiz
from course.sql import insert_ignore


class ProgressError(ValueError):
    pass


def _ensure_progress_row(user_id: int, lesson: Lesson, now: datetime) -> bool:
    """Create the (learner, lesson) row if missing; True if this call created it."""
    return insert_ignore(
        LessonProgress,
        {
            "user_id": user_id,
            "lesson_id": lesson.id,
            "course_id": lesson.course_id,
            "first_viewed_at": now,
            "last_viewed_at": now,
            "time_spent_seconds": 0,
        },
        ["user_id", "lesson_id"],
    )


# -- reading time ------------------------------------------------------------------------------------------
# The time from one recorded view of a lesson to the learner's next action in the same course (a view of a
# lesson that is recorded, marking a lesson complete, saving a workbook answer) is credited to the lesson they
# were reading: the one they viewed last. A quiz submission is not such an action (it is the busiest write, and
# the time spent on a quiz is credited to the lesson read before it, when the next action comes). Each credit
# is capped (LESSON_TIME_CAP_SECONDS: a longer gap means they left) and moves the lesson's
# `time_credited_until`, so no interval counts twice, however often a request is sent. Views are recorded to
# the minute, so a lesson opened again within its minute does not become the one being read.

_READING = (
    select(
        LessonProgress.id,
        LessonProgress.lesson_id,
        LessonProgress.last_viewed_at,
        LessonProgress.time_credited_until,
    )
    .where(LessonProgress.user_id == bindparam("user_id"), LessonProgress.course_id == bindparam("course_id"))
    .order_by(LessonProgress.last_viewed_at.desc(), LessonProgress.id.desc())
    .limit(1)
)


def _lesson_being_read(user_id: int, course_id: int) -> Row | None:
    """The learner's progress row of the lesson they viewed last in the course, read after their other writes.

    PostgreSQL: a learner's credits run one at a time, each reading the rows of the one before it (and taking
    the locks of two progress rows in the same order): FOR NO KEY UPDATE on the user row, as the dashboard's
    roll-up does. (SQLite: one writer at a time.)
    """
    if db.session.get_bind().dialect.name != "sqlite":
        db.session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))
    return db.session.execute(_READING, {"user_id": user_id, "course_id": course_id}).first()


def _credit(reading: Row, now: datetime, **also: object) -> bool:
    """Credit `reading` (a `_READING` row) with the time from where its count stands to `now`, capped, in one
    UPDATE that may set `also`. False if the row changed since it was read (then nothing is written)."""
    since = reading.time_credited_until or reading.last_viewed_at
    cap = current_app.config["LESSON_TIME_CAP_SECONDS"]
    spent = round(min(max((now - since).total_seconds(), 0), cap))
    if not spent and not also:
        return True  # under half a second: left to the next credit
    p = LessonProgress
    result = db.session.execute(
        update(p)
        .where(
            p.id == reading.id,
            p.last_viewed_at == reading.last_viewed_at,
            p.time_credited_until.is_not_distinct_from(reading.time_credited_until),
        )
        .values({"time_spent_seconds": p.time_spent_seconds + spent, "time_credited_until": max(now, since), **also})
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def credit_reading(user_id: int, course_id: int) -> None:
    """The learner acted in the course (e.g. saved a workbook answer): credit the lesson they were reading."""
    reading = _lesson_being_read(user_id, course_id)
    if reading is not None:
        _credit(reading, utcnow())


VIEW_RESOLUTION = timedelta(minutes=1)


def view_is_due(known: LessonProgress | None) -> bool:
    """Whether a view of the lesson should be recorded, given the learner's row as the page read it: views
    are recorded to the minute, so a reload or a click back from the quiz writes nothing."""
    return known is None or utcnow() - known.last_viewed_at >= VIEW_RESOLUTION


def record_view(user_id: int, lesson: Lesson) -> None:
    """First view creates the (learner, lesson) row; later views move `last_viewed_at`. The lesson read until
    now is credited its reading time (in the same UPDATE when it is this one)."""
    reading = _lesson_being_read(user_id, lesson.course_id)
    now = utcnow()
    if reading is not None:
        again = reading.lesson_id == lesson.id
        moved = _credit(reading, now, **({"last_viewed_at": now, "time_credited_until": None} if again else {}))
        if again and moved:
            rollup.lesson_viewed(user_id, lesson.course_id, now)
            return
    if not _ensure_progress_row(user_id, lesson, now):
        db.session.execute(
            update(LessonProgress)
            .where(LessonProgress.user_id == user_id, LessonProgress.lesson_id == lesson.id)
            .values(last_viewed_at=now, time_credited_until=None)
        )
        rollup.lesson_viewed(user_id, lesson.course_id, now)
    else:
        rollup.refresh_learner(user_id, lesson.course_id)


def mark_complete(user_id: int, lesson: Lesson) -> bool:
    """Mark a lesson complete. Idempotent: returns False if it already was.

    An action like any other for reading time: the lesson being read (this one, unless another was opened
    since) is credited the time since its last view or credit, capped.
    """
    reading = _lesson_being_read(user_id, lesson.course_id)
    now = utcnow()
    if reading is not None:
        _credit(reading, now)
    _ensure_progress_row(user_id, lesson, now)
    result = db.session.execute(
        update(LessonProgress)
        .where(
            LessonProgress.user_id == user_id,
            LessonProgress.lesson_id == lesson.id,
            LessonProgress.completed_at.is_(None),
        )
        .values(completed_at=now)
        .execution_options(synchronize_session=False)
    )
    rollup.refresh_learner(user_id, lesson.course_id)
    return bool(result.rowcount)


def save_workbook_answer(user_id: int, prompt: WorkbookPrompt, text: str) -> WorkbookAnswer | None:
    """Create or update the learner's answer; an empty answer removes it. Returns the saved answer."""
    limit = current_app.config["WORKBOOK_MAX_CHARS"]
    text = text.strip()
    if len(text) > limit:
        raise ProgressError(f"at most {limit} characters")
    credit_reading(user_id, prompt.course_id)
    if not text:
        db.session.execute(
            delete(WorkbookAnswer).where(WorkbookAnswer.user_id == user_id, WorkbookAnswer.prompt_id == prompt.id)
        )
        return None
    now = utcnow()
    insert_ignore(
        WorkbookAnswer,
        {"user_id": user_id, "prompt_id": prompt.id, "text": text, "created_at": now, "updated_at": now},
        ["user_id", "prompt_id"],
    )
    answer = db.session.scalar(
        select(WorkbookAnswer).where(WorkbookAnswer.user_id == user_id, WorkbookAnswer.prompt_id == prompt.id)
    )
    if answer.text != text:
        answer.text = text
        answer.updated_at = now
    db.session.flush()
    return answer


_ANSWERS = select(WorkbookAnswer.prompt_id, WorkbookAnswer.text, WorkbookAnswer.updated_at).where(
    WorkbookAnswer.user_id == bindparam("user_id"),
    WorkbookAnswer.prompt_id.in_(bindparam("prompt_ids", expanding=True)),
)  # on every lesson page with prompts: built once


def workbook_answers(user_id: int, prompt_ids: list[int]) -> dict[int, Row]:
    """The learner's answers to these prompts, as rows (prompt_id, text, updated_at) by prompt id."""
    if not prompt_ids:
        return {}
    rows = db.session.connection().execute(_ANSWERS, {"user_id": user_id, "prompt_ids": prompt_ids})
    return {a.prompt_id: a for a in rows}


def maybe_complete_course(user_id: int, course: Course, outline: CourseOutline | None = None) -> Completion | None:
    """Issue the course completion once every lesson is complete and every quiz passed.

    Exactly one per learner and course: the unique constraint decides under double clicks and races.
    """
    outline = outline or build_outline(course, user_id)
    if outline.completion is not None:
        return db.session.get(Completion, outline.completion.id)
    if not outline.all_done:
        return None
    user = db.session.get(User, user_id)
    snapshot = {
        "name": user.name,
        "course": course.title,
        "course_titles": _translated_titles(course.i18n),
        "quizzes": [
            {
                "key": q.quiz.key,
                "title": q.quiz.title,
                "titles": _translated_titles(q.quiz.i18n),
                "best_percent": round(q.best_percent or 0, 1),
                "attempts": q.attempts,
            }
            for q in outline.quizzes
        ],
    }
    insert_ignore(
        Completion,
        {
            "user_id": user_id,
            "course_id": course.id,
            "started_at": outline.started_at or utcnow(),
            "completed_at": utcnow(),
            "time_spent_seconds": outline.time_spent_seconds,
            "snapshot": snapshot,
            "verification_code": new_verification_code(),
        },
        ["user_id", "course_id"],
    )
    return db.session.scalar(select(Completion).where(Completion.user_id == user_id, Completion.course_id == course.id))


# -- the public verification page ---------------------------------------------------------------------------
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
