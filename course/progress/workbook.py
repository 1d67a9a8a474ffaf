"""A learner's workbook: their answers to the lessons' prompts, and all of them gathered into their plan (the
completion summary). Services flush, never commit."""

from __future__ import annotations

from typing import NamedTuple

from flask import current_app
from sqlalchemy import Row, bindparam, delete, select

from course.content.models import Lesson, WorkbookPrompt
from course.db_types import utcnow
from course.extensions import db
from course.progress.models import WorkbookAnswer
from course.progress.outline import LearnerOutline
from course.progress.reading import credit_reading
from course.sql import insert_ignore


class WorkbookError(ValueError):
    """An answer that cannot be saved; nothing was changed."""


def save_workbook_answer(user_id: int, prompt: WorkbookPrompt, text: str) -> WorkbookAnswer | None:
    """Create or update the learner's answer; an empty answer removes it. Returns the saved answer."""
    limit = current_app.config["WORKBOOK_MAX_CHARS"]
    text = text.strip()
    if len(text) > limit:
        raise WorkbookError(f"at most {limit} characters")
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


class PlanEntry(NamedTuple):
    """One lesson of the learner's plan: the prompts they answered there, with their answers."""

    lesson: Lesson
    answers: list[tuple[WorkbookPrompt, Row]]  # (prompt, its answer: prompt_id, text, updated_at)


def workbook_plan(outline: LearnerOutline, user_id: int) -> list[PlanEntry]:
    """The learner's workbook answers gathered into one plan, lesson by lesson in course order (lessons they
    answered nothing in are left out). One statement."""
    lessons = [ls.lesson for ls in outline.lessons]
    prompts = {lesson.id: outline.prompts_of(lesson) for lesson in lessons}
    answers = workbook_answers(user_id, [p.id for ps in prompts.values() for p in ps])
    plan = [
        PlanEntry(lesson, [(p, answers[p.id]) for p in prompts[lesson.id] if p.id in answers]) for lesson in lessons
    ]
    return [entry for entry in plan if entry.answers]
