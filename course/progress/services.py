"""Recording progress. Services flush; the view commits once."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, delete, select, update

from course.auth.models import User
from course.content.models import Course, Lesson, WorkbookPrompt
from course.dashboard import rollup
from course.db_types import utcnow
from course.extensions import db
from course.progress.models import Completion, LessonProgress, WorkbookAnswer, new_verification_code
from course.progress.outline import CourseOutline, build_outline
from course.sql import insert_ignore


class ProgressError(ValueError):
    pass


def _ensure_progress_row(user_id: int, lesson: Lesson) -> bool:
    """Create the (learner, lesson) row if missing; True if this call created it."""
    now = utcnow()
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


VIEW_RESOLUTION = timedelta(minutes=1)


def view_is_due(known: LessonProgress | None) -> bool:
    """Whether a view of the lesson should be recorded, given the learner's row as the page read it: views
    are recorded to the minute, so a reload or a click back from the quiz writes nothing."""
    return known is None or utcnow() - known.last_viewed_at >= VIEW_RESOLUTION


def record_view(user_id: int, lesson: Lesson) -> None:
    """First view creates the (learner, lesson) row; later views move `last_viewed_at`."""
    now = utcnow()
    if not _ensure_progress_row(user_id, lesson):
        db.session.execute(
            update(LessonProgress)
            .where(LessonProgress.user_id == user_id, LessonProgress.lesson_id == lesson.id)
            .values(last_viewed_at=now)
        )
        rollup.lesson_viewed(user_id, lesson.course_id, now)
    else:
        rollup.refresh_learner(user_id, lesson.course_id)


def mark_complete(user_id: int, lesson: Lesson) -> bool:
    """Mark a lesson complete. Idempotent: returns False if it already was.

    Reading time is credited from the last time the page was opened, capped so a tab left open overnight
    does not count as a night of study.
    """
    _ensure_progress_row(user_id, lesson)
    row = db.session.scalar(
        select(LessonProgress).where(LessonProgress.user_id == user_id, LessonProgress.lesson_id == lesson.id)
    )
    now = utcnow()
    cap = current_app.config["LESSON_TIME_CAP_SECONDS"]
    spent = int(min(max((now - row.last_viewed_at).total_seconds(), 0), cap))
    result = db.session.execute(
        update(LessonProgress)
        .where(LessonProgress.id == row.id, LessonProgress.completed_at.is_(None))
        .values(completed_at=now, time_spent_seconds=LessonProgress.time_spent_seconds + spent)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(row)
    rollup.refresh_learner(user_id, lesson.course_id)
    return bool(result.rowcount)


def save_workbook_answer(user_id: int, prompt: WorkbookPrompt, text: str) -> WorkbookAnswer | None:
    """Create or update the learner's answer; an empty answer removes it. Returns the saved answer."""
    limit = current_app.config["WORKBOOK_MAX_CHARS"]
    text = text.strip()
    if len(text) > limit:
        raise ProgressError(f"at most {limit} characters")
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


_ANSWERS = select(WorkbookAnswer).where(  # on every lesson page with prompts: built once
    WorkbookAnswer.user_id == bindparam("user_id"),
    WorkbookAnswer.prompt_id.in_(bindparam("prompt_ids", expanding=True)),
)


def workbook_answers(user_id: int, prompt_ids: list[int]) -> dict[int, WorkbookAnswer]:
    if not prompt_ids:
        return {}
    return {a.prompt_id: a for a in db.session.scalars(_ANSWERS, {"user_id": user_id, "prompt_ids": prompt_ids})}


def maybe_complete_course(user_id: int, course: Course, outline: CourseOutline | None = None) -> Completion | None:
    """Issue the course completion once every lesson is complete and every quiz passed.

    Exactly one per learner and course: the unique constraint decides under double clicks and races.
    """
    outline = outline or build_outline(course, user_id)
    if outline.completion is not None:
        return outline.completion
    if not outline.all_done:
        return None
    user = db.session.get(User, user_id)
    snapshot = {
        "name": user.name,
        "course": course.title,
        "quizzes": [
            {"title": q.quiz.title, "best_percent": round(q.best_percent or 0, 1), "attempts": q.attempts}
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
