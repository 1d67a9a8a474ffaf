"""What the files want, per kind of row: an `Item` for each module, chapter, lesson, workbook prompt, quiz,
question and option of a course, pointing to the ids of the rows of the kind above."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from course.content.bulk_sync import Item
from course.content.documents import CourseDoc, LessonDoc, QuizDoc
from course.content.question_types import question_type
from course.content.schema import seconds_of


def _texts(i18n: dict, course: CourseDoc) -> dict:
    """The translated texts of the languages the course declares."""
    return {lang: texts.model_dump() for lang, texts in i18n.items() if lang in course.spec.translations}


def module_items(course: CourseDoc, course_id: int) -> list[Item]:
    return [
        Item(
            module.spec.id,
            module.spec.id,
            {"course_id": course_id, "key": module.spec.id},
            {
                "title": module.spec.title,
                "summary": module.spec.summary,
                "kind": module.spec.kind,
                "i18n": _texts(module.spec.i18n, course),
            },
            {"position": position},
        )
        for position, module in enumerate(course.modules, start=1)
    ]


def chapter_items(course: CourseDoc, course_id: int, module_ids: dict[Any, int]) -> list[Item]:
    return [
        Item(
            chapter.spec.id,
            chapter.spec.id,
            {"course_id": course_id, "key": chapter.spec.id},
            {"title": chapter.spec.title, "summary": chapter.spec.summary, "i18n": _texts(chapter.spec.i18n, course)},
            {"module_id": module_ids[module.spec.id], "position": position},
        )
        for module in course.modules
        for position, chapter in enumerate(module.chapters, start=1)
    ]


def lesson_items(
    course: CourseDoc, course_id: int, chapter_ids: dict[Any, int], render: Callable[[str], str]
) -> list[Item]:
    """The lessons, their bodies rendered to HTML by `render`."""
    return [
        _lesson_item(course, lesson, course_id, chapter_ids[chapter.spec.id], position, render)
        for module in course.modules
        for chapter in module.chapters
        for position, lesson in enumerate(chapter.lessons, start=1)
    ]


def _lesson_item(
    course: CourseDoc,
    lesson: LessonDoc,
    course_id: int,
    chapter_id: int,
    position: int,
    render: Callable[[str], str],
) -> Item:
    spec = lesson.spec
    return Item(
        spec.id,
        spec.id,
        {"course_id": course_id, "key": spec.id},
        {
            "title": spec.title,
            "body_md": lesson.body,
            "body_html": render(lesson.body),
            "takeaways": list(spec.takeaways),
            "i18n": {lang: {"title": translation.spec.title} for lang, translation in lesson.translations.items()},
            "i18n_body": {
                lang: {"body_html": render(translation.body), "takeaways": list(translation.spec.takeaways)}
                for lang, translation in lesson.translations.items()
            },
        },
        {"chapter_id": chapter_id, "position": position, "source": str(lesson.path.relative_to(course.path))},
    )


def prompt_items(course: CourseDoc, course_id: int, lesson_ids: dict[Any, int]) -> list[Item]:
    return [
        Item(
            prompt.id,
            prompt.id,
            {"course_id": course_id, "key": prompt.id},
            {
                "prompt": prompt.prompt,
                "i18n": {
                    lang: {"prompt": translated.prompt}
                    for lang, translation in lesson.translations.items()
                    for translated in translation.spec.workbook
                    if translated.id == prompt.id
                },
            },
            {"lesson_id": lesson_ids[lesson.spec.id], "position": position},
        )
        for _module, _chapter, lesson in course.lessons()
        for position, prompt in enumerate(lesson.spec.workbook, start=1)
    ]


def quiz_items(course: CourseDoc, course_id: int, chapter_ids: dict[Any, int]) -> list[Item]:
    return [
        Item(
            quiz.spec.id,
            quiz.spec.id,
            {"course_id": course_id, "key": quiz.spec.id},
            {
                "title": quiz.spec.title,
                "pass_mark": quiz.spec.pass_mark,
                "max_attempts": quiz.spec.max_attempts,
                "reveal": quiz.spec.reveal or course.spec.quiz_reveal,
                "draw": quiz.spec.draw,
                "retry_after": seconds_of(quiz.spec.retry_after) if quiz.spec.retry_after else None,
                "version": quiz.version,
                "i18n": {lang: {"title": translation.spec.title} for lang, translation in quiz.translations.items()},
            },
            {"chapter_id": chapter_ids[chapter.spec.id]},
        )
        for module in course.modules
        for chapter in module.chapters
        if (quiz := chapter.quiz) is not None
    ]


def _translated_questions(quiz: QuizDoc) -> dict[str, dict]:
    """{question id: {lang: translated question}}"""
    translated: dict[str, dict] = {}
    for lang, translation in quiz.translations.items():
        for question in translation.spec.questions:
            translated.setdefault(question.id, {})[lang] = question
    return translated


def question_items(quiz: QuizDoc, course_id: int, quiz_id: int) -> list[Item]:
    translated = _translated_questions(quiz)
    return [
        Item(
            question.id,
            question.id,
            {"course_id": course_id, "key": question.id},
            {
                "type": question.type,
                "prompt": question.prompt,
                "explanation": question.explanation,
                "lesson_key": question.lesson,
                "points": question.points,
                "accepted": list(question.accepted),
                "draw_group": question.group,
                "i18n": {
                    lang: {"prompt": other.prompt, "explanation": other.explanation, "accepted": list(other.accepted)}
                    for lang, other in translated.get(question.id, {}).items()
                },
            },
            {"quiz_id": quiz_id, "position": position},
        )
        for position, question in enumerate(quiz.spec.questions, start=1)
    ]


def option_items(quiz: QuizDoc, question_ids: dict[Any, int]) -> list[Item]:
    translated = _translated_questions(quiz)
    items = []
    for question in quiz.spec.questions:
        question_id = question_ids[question.id]
        options = question_type(question.type).stored_options(question)
        texts = {  # (lang, option id) → the option's text in that language
            (lang, option.id): option.text
            for lang, other in translated.get(question.id, {}).items()
            for option in other.options
        }
        for position, (key, text, correct) in enumerate(options, start=1):
            i18n = {lang: {"text": texts[(lang, key)]} for lang in quiz.translations if (lang, key) in texts}
            items.append(
                Item(
                    (question_id, key),
                    f"{question.id}/{key}",
                    {"question_id": question_id, "key": key},
                    {"text": text, "correct": correct, "i18n": i18n},
                    {"position": position},
                )
            )
    return items
