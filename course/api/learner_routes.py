"""The catalogue, a course's outline, and the caller's own data: who they are, their progress, quiz attempts,
workbook and completion. A learner reads only their own: no user id in these URLs."""

from __future__ import annotations

from flask import abort, g
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from course.api import present, schemas
from course.api.http import content_language, page_of
from course.api.spec import operation, responses
from course.content.cache import quiz_with_questions
from course.content.i18n import tr
from course.content.lookup import get_course_or_404
from course.content.models import Course
from course.extensions import db
from course.links import external_url
from course.progress.models import Completion
from course.progress.outline import build_outline
from course.progress.workbook import workbook_plan
from course.quiz import attempts
from course.quiz.models import Attempt

PROGRESS = "progress:read"


@operation(None, tags=("catalogue",), resp=responses(cached=True, HTTP_200=schemas.CoursePage))
def catalogue(query: schemas.PageLangQuery):
    """The catalogue: every course open to learners, by title."""
    lang = content_language(query.lang)
    rows, fields = page_of(
        select(Course).where(Course.archived_at.is_(None)).order_by(Course.title, Course.id), query.page, query.per_page
    )
    return schemas.CoursePage(items=[present.course_summary(row[0], lang) for row in rows], **fields)


@operation(None, tags=("catalogue",), resp=responses(cached=True, HTTP_200=schemas.CourseOutline))
def course_outline(course_key: str, query: schemas.LangQuery):
    """A course's outline: its modules, chapters, lessons and quizzes, in course order."""
    return present.course_outline_of(get_course_or_404(course_key), content_language(query.lang))


@operation(None, tags=("me",), resp=responses(cached=True, HTTP_200=schemas.Me))
def me():
    """The token's owner and what the token grants."""
    user, token = g.api_user, g.api_token
    return schemas.Me(
        id=user.id,
        name=user.name,
        email=user.email,
        role=user.role.value,
        scopes=sorted(g.api_scopes),
        token_expires_at=token.expires_at,
    )


@operation(PROGRESS, tags=("me",), resp=responses(cached=True, HTTP_200=schemas.Progress))
def my_progress(course_key: str):
    """Your progress in a course: every chapter, lesson and quiz."""
    return present.progress_of(build_outline(get_course_or_404(course_key), g.api_user.id))


@operation(PROGRESS, tags=("me",), resp=responses(cached=True, HTTP_200=schemas.AttemptPage))
def my_attempts(course_key: str, quiz_key: str, query: schemas.PageLangQuery):
    """Your attempts at a quiz, oldest first. Which answers were right, and the correct answers, only as the
    quiz's reveal policy shows them on its result page."""
    outline = build_outline(get_course_or_404(course_key), g.api_user.id)
    found = outline.find_quiz(quiz_key)
    if found is None:
        abort(404)
    status = found[1]
    status.quiz = quiz_with_questions(outline.course, status.quiz)
    level = present.reveal_level(status)
    query_rows = (
        select(Attempt)
        .options(selectinload(Attempt.answers))
        .where(Attempt.user_id == g.api_user.id, Attempt.quiz_id == status.quiz.id)
        .order_by(Attempt.number)
    )
    rows, fields = page_of(query_rows, query.page, query.per_page)
    found_attempts = [row[0] for row in rows]
    questions = attempts.questions_by_id(sorted({a.question_id for at in found_attempts for a in at.answers}))
    lang = content_language(query.lang)
    items = [present.attempt_out(attempt, level, questions, lang) for attempt in found_attempts]
    return schemas.AttemptPage(items=items, **fields)


@operation(PROGRESS, tags=("me",), resp=responses(cached=True, HTTP_200=schemas.Workbook))
def my_workbook(course_key: str, query: schemas.LangQuery):
    """Your workbook answers in a course, lesson by lesson in course order."""
    outline = build_outline(get_course_or_404(course_key), g.api_user.id)
    lang = content_language(query.lang)
    items = [
        schemas.WorkbookEntry(
            lesson_key=entry.lesson.key,
            prompt_key=prompt.key,
            prompt=tr(prompt, "prompt", lang=lang),
            answer=answer.text,
            updated_at=answer.updated_at,
        )
        for entry in workbook_plan(outline, g.api_user.id)
        for prompt, answer in entry.answers
    ]
    return schemas.Workbook(course_key=outline.course.key, items=items)


@operation(PROGRESS, tags=("me",), resp=responses(cached=True, HTTP_200=schemas.CompletionOut))
def my_completion(course_key: str):
    """Whether you completed the course, and the public link that verifies it."""
    course = get_course_or_404(course_key)
    completion = db.session.scalar(
        select(Completion).where(Completion.user_id == g.api_user.id, Completion.course_id == course.id)
    )
    if completion is None:
        return schemas.CompletionOut(
            course_key=course.key, completed=False, completed_at=None, withdrawn=False, verification_url=None
        )
    withdrawn = completion.withdrawn_at is not None
    return schemas.CompletionOut(
        course_key=course.key,
        completed=not withdrawn,
        completed_at=completion.completed_at,
        withdrawn=withdrawn,
        verification_url=external_url("progress.verify", code=completion.verification_code),
    )
