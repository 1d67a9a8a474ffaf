"""Syncing parsed content into SQL.

`sync(courses)` brings the database in line with the files: it adds what is new, updates what changed,
moves what was reordered or re-parented, archives what was removed (never deletes it), and restores what
comes back. It only flushes; the caller commits once, or rolls back for a dry run.

It works one kind of row at a time, from the top (modules, chapters, lessons, workbook prompts, quizzes,
questions, options), each kind in bulk (`bulk_sync`) from the items the files want (`load_items`): a course of
10,000 questions costs a few dozen statements, not one per row. What it did is the `LoadPlan`.
"""

from __future__ import annotations

from sqlalchemy import select

from course.content import load_items
from course.content.bulk_sync import CHAPTER, LESSON, MODULE, OPTION, PROMPT, QUESTION, QUIZ, Syncer, row_key
from course.content.documents import CourseDoc
from course.content.load_plan import LoadPlan
from course.content.models import Course
from course.content.parser import collector_paused
from course.content.render import render_markdown
from course.db_types import utcnow
from course.extensions import db

__all__ = ["LoadPlan", "sync"]  # LoadPlan: where services and the signal receivers import it from


def sync(courses: list[CourseDoc], archive_missing_courses: bool = True) -> LoadPlan:
    plan = LoadPlan()
    syncer = Syncer(plan, utcnow())
    with collector_paused():
        existing_courses = {course.key: course for course in db.session.scalars(select(Course))}
        for doc in courses:
            _sync_course(syncer, doc, existing_courses)
        if archive_missing_courses:
            syncer.archive_rest("course", existing_courses.values(), row_key)
        db.session.flush()
    return plan


def _sync_course(syncer: Syncer, doc: CourseDoc, existing_courses: dict[str, Course]) -> None:
    size_before = syncer.plan.size
    course = _sync_course_row(syncer, doc, existing_courses)
    _sync_rows_below(syncer, doc, course.id)
    if syncer.plan.size != size_before:
        # Anything written for this course moves its `loaded_at`: the key under which every process caches its
        # content (course.content.cache), also when the files' digest did not change (a renderer's new output).
        course.loaded_at = syncer.now


def _sync_course_row(syncer: Syncer, doc: CourseDoc, existing_courses: dict[str, Course]) -> Course:
    spec = doc.spec
    meta = {
        "author": spec.author,
        "author_note": spec.author_note,
        "closing": spec.closing,
        "keywords": list(spec.keywords),
    }
    course = syncer.upsert(
        "course",
        existing_courses,
        spec.id,
        lambda: Course(key=spec.id),
        {
            "title": spec.title,
            "language": spec.language,
            "summary": spec.summary,
            "meta": meta,
            "quiz_gate": spec.quiz_gate,
            "i18n": {lang: texts.model_dump() for lang, texts in spec.i18n.items() if lang in spec.translations},
        },
        spec.id,
    )
    if course.content_version != doc.version:
        course.content_version = doc.version
    db.session.flush()
    return course


def _sync_rows_below(syncer: Syncer, doc: CourseDoc, course_id: int) -> None:
    """Level by level: each kind's rows point to the ids of the kind above, new or not."""
    module_ids, gone = syncer.sync_kind(MODULE, course_id, load_items.module_items(doc, course_id))
    syncer.archive_kind(MODULE, gone)
    chapter_ids, gone = syncer.sync_kind(CHAPTER, course_id, load_items.chapter_items(doc, course_id, module_ids))
    syncer.archive_kind(CHAPTER, gone)
    # Rendered with this module's `render_markdown`, looked up at each load (a test swaps in a new renderer).
    lessons = load_items.lesson_items(doc, course_id, chapter_ids, render_markdown)
    lesson_ids, gone = syncer.sync_kind(LESSON, course_id, lessons)
    syncer.archive_kind(LESSON, gone)
    _, gone = syncer.sync_kind(PROMPT, course_id, load_items.prompt_items(doc, course_id, lesson_ids), ids_needed=False)
    syncer.archive_kind(PROMPT, gone)
    quiz_ids, gone = syncer.sync_kind(QUIZ, course_id, load_items.quiz_items(doc, course_id, chapter_ids))
    syncer.archive_kind(QUIZ, gone)
    quizzes = [chapter.quiz for module in doc.modules for chapter in module.chapters if chapter.quiz is not None]
    questions = [
        item for quiz in quizzes for item in load_items.question_items(quiz, course_id, quiz_ids[quiz.spec.id])
    ]
    question_ids, archived_questions = syncer.sync_kind(QUESTION, course_id, questions)
    syncer.archive_kind(QUESTION, archived_questions)
    options = [item for quiz in quizzes for item in load_items.option_items(quiz, question_ids)]
    _, gone = syncer.sync_kind(OPTION, course_id, options, ids_needed=False)
    # Options of archived questions stay as they were; options dropped from live questions are archived.
    archived_ids = {row.id for row in archived_questions}
    question_keys = {question_id: key for key, question_id in question_ids.items()}
    syncer.archive_kind(
        OPTION,
        (option for option in gone if option.question_id not in archived_ids),
        lambda option: f"{question_keys[option.question_id]}/{option.key}",
    )
