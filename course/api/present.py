"""The domain's objects as the API's response models: a course and its outline in a language, a learner's
progress, an attempt as the quiz's reveal policy allows."""

from __future__ import annotations

from course.api import schemas
from course.content.i18n import tr
from course.content.models import Course, Question
from course.content.outline import course_outline
from course.content.question_types import QUESTION_TYPES
from course.progress.outline import LearnerOutline, QuizStatus
from course.quiz import attempts
from course.quiz.models import Attempt


def served_language(course: Course, lang: str) -> str:
    return lang or course.language


def course_summary(course: Course, lang: str) -> schemas.CourseSummary:
    return schemas.CourseSummary(
        key=course.key,
        title=tr(course, "title", lang=lang),
        summary=tr(course, "summary", lang=lang) or "",
        language=served_language(course, lang),
        items_total=course_outline(course).items_total,
    )


def course_outline_of(course: Course, lang: str) -> schemas.CourseOutline:
    outline = course_outline(course)
    modules = [
        schemas.OutlineModule(
            key=module.module.key,
            title=tr(module.module, "title", lang=lang),
            kind=module.module.kind,
            chapters=[
                schemas.OutlineChapter(
                    key=chapter.chapter.key,
                    title=tr(chapter.chapter, "title", lang=lang),
                    lessons=[schemas.LessonRef(key=ls.key, title=tr(ls, "title", lang=lang)) for ls in chapter.lessons],
                    quiz=schemas.QuizRef(
                        key=chapter.quiz.key,
                        title=tr(chapter.quiz, "title", lang=lang),
                        pass_mark=chapter.quiz.pass_mark,
                        max_attempts=chapter.quiz.max_attempts,
                    )
                    if chapter.quiz is not None
                    else None,
                )
                for chapter in module.chapters
            ],
        )
        for module in outline.modules
    ]
    return schemas.CourseOutline(**course_summary(course, lang).model_dump(), modules=modules)


def progress_of(outline: LearnerOutline) -> schemas.Progress:
    chapters = [
        schemas.ChapterProgress(
            key=chapter.chapter.key,
            percent=chapter.percent,
            completed=chapter.completed,
            locked=chapter.locked,
            opens_on=chapter.opens_on,
            lessons=[
                schemas.LessonProgress(
                    key=ls.lesson.key,
                    started=ls.started,
                    completed_at=ls.progress.completed_at if ls.progress else None,
                    time_spent_seconds=ls.progress.time_spent_seconds if ls.progress else 0,
                )
                for ls in chapter.lessons
            ],
            quiz=_quiz_progress(chapter.quiz) if chapter.quiz is not None else None,
        )
        for chapter in outline.chapters
    ]
    return schemas.Progress(
        course_key=outline.course.key,
        percent=outline.percent,
        items_done=outline.items_done,
        items_total=outline.items_total,
        started=outline.started,
        completed=outline.completion is not None,
        chapters=chapters,
    )


def _quiz_progress(status: QuizStatus) -> schemas.QuizProgress:
    return schemas.QuizProgress(
        key=status.quiz.key,
        attempts=status.attempts,
        attempts_left=status.attempts_left,
        best_percent=status.best_percent,
        passed=status.passed,
    )


def attempt_out(attempt: Attempt, level: str, questions: dict[int, Question], lang: str) -> schemas.AttemptOut:
    """An attempt as the reveal policy's `level` allows: the score; which answers were right, with the learner's
    own; or also the correct answers and explanations."""
    answers = None
    if level != "score":
        answers = []
        for answer in attempt.answers:
            question = questions.get(answer.question_id)
            full = level == "full" and question is not None
            answers.append(
                schemas.Answer(
                    question_key=question.key if question is not None else str(answer.question_id),
                    position=answer.position,
                    correct=answer.correct,
                    points=answer.points,
                    max_points=answer.max_points,
                    response=_response(answer.response),
                    correct_response=_response(QUESTION_TYPES[question.type].correct_response(question))
                    if full
                    else None,
                    explanation=(tr(question, "explanation", lang=lang) or "") if full else None,
                )
            )
    return schemas.AttemptOut(
        number=attempt.number,
        submitted_at=attempt.submitted_at,
        score=attempt.score,
        max_score=attempt.max_score,
        percent=attempt.percent,
        pass_mark=attempt.pass_mark,
        passed=attempt.passed,
        reveal=level,
        answers=answers,
    )


def _response(value: object) -> str | list[str]:
    if isinstance(value, list):
        return [str(item) for item in value]
    return "" if value is None else str(value)


def reveal_level(status: QuizStatus) -> str:
    return attempts.reveal_level(status.quiz, status.passed, status.attempts_left)
