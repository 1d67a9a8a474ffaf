"""A process's copy of course content, the rows every learner page reads and only a content load changes.

- `course(id, content_version, loaded_at)`: the course's row itself (its titles, texts in other languages, settings),
  for the pages that find it by its key (`course.content.lookup.get_course_or_404`).
- `outline(course, load)`: the course's outline (`course.content.outline`): its live modules, chapters, lessons
  (without their bodies), quizzes (without their questions) and workbook prompts, in order.
- `quiz_with_questions(course, quiz)`: one quiz with its live questions and their options, for the quiz page
  and grading; the most recently used quizzes are kept (a course of a thousand quizzes does not fill memory).
- `lesson_with_body(course, lesson)`: a lesson with its rendered texts (in every language), for the lesson page;
  the most recently read lessons are kept, as with quizzes (the bodies are most of a course's size).

Entries are keyed by the course's content version, a digest of its files that every load changing anything
changes, and the time its row was last written (a course deleted and loaded again gets a new one), so a load
in another process (the CLI, another instance) is seen at the next request. Changes made through the ORM in
this process (an admin fix, a test) clear the cache when they are flushed, and a load clears it too.

The cached objects are detached from every session and shared by the requests (and threads) of a process:
read them, never change them, and load anything else they refer to through the request's own session.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Select, bindparam, event, select
from sqlalchemy.orm import Session, selectinload, undefer

from course.content.models import (
    CONTENT_MODELS,
    Course,
    Lesson,
    Question,
    Quiz,
)
from course.extensions import db

QUIZZES_KEPT = 32
LESSONS_KEPT = 48  # the real course has 40 lessons; a body with its translation is about 20 KB


_lock = threading.Lock()
_generation = 0  # moved on by every ORM change to content rows in this process: part of every key
_courses: dict[int, tuple[tuple, Course]] = {}  # course id → ((content_version, loaded_at, _generation), the row)
_outlines: dict[int, tuple[tuple, Any]] = {}  # course id → (_key(course), its Outline)
_quizzes: OrderedDict[tuple, Quiz] = OrderedDict()  # (quiz id, *_key(course)) → quiz with questions
_lessons: OrderedDict[tuple, Lesson] = OrderedDict()  # (lesson id, *_key(course)) → lesson with its texts


def _key(course: Course) -> tuple:
    """What the course's cached content is valid for. Taken before loading: a change meanwhile makes it stale."""
    return (course.content_version, course.loaded_at, _generation)


_COURSE = select(Course).where(Course.id == bindparam("row_id"))


def course(course_id: int, content_version: str, loaded_at: object) -> Course:
    """The course's row, detached, as it was when its content version and load time were these (which the caller
    has just read from the database): from this process's cache unless it changed since."""
    key = (content_version, loaded_at, _generation)
    cached = _courses.get(course_id)
    if cached is not None and cached[0] == key:
        return cached[1]
    with _loading_session() as session:
        loaded = session.scalars(_COURSE, {"row_id": course_id}).one()
    if (loaded.content_version, loaded.loaded_at) == key[:2]:  # not changed in between: kept for that key
        with _lock:
            _courses[course_id] = (key, loaded)
    return loaded


def outline(course: Course, load: Callable[[Session, Course], Any]) -> Any:
    """The course's outline, from this process's cache unless its content changed; else `load(session, course)`
    reads it (on a session of its own, its rows detached)."""
    key = _key(course)
    cached = _outlines.get(course.id)
    if cached is not None and cached[0] == key:
        return cached[1]
    with _loading_session() as session:
        loaded = load(session, course)
    with _lock:
        _outlines[course.id] = (key, loaded)
    return loaded


_QUIZ_WITH_QUESTIONS = (
    select(Quiz)
    .options(selectinload(Quiz.questions).selectinload(Question.options))
    .where(Quiz.id == bindparam("row_id"))
)


def quiz_with_questions(course: Course, quiz: Quiz) -> Quiz:
    """The quiz with its questions and their options loaded, from this process's cache when unchanged."""
    return _recently_used(_quizzes, QUIZZES_KEPT, (quiz.id, *_key(course)), _QUIZ_WITH_QUESTIONS, quiz.id)


# The rendered texts only: the Markdown source (`body_md`) is for loads and checks, not for readers.
_LESSON_WITH_BODY = (
    select(Lesson).options(undefer(Lesson.body_html), undefer(Lesson.i18n_body)).where(Lesson.id == bindparam("row_id"))
)


def lesson_with_body(course: Course, lesson: Lesson) -> Lesson:
    """The lesson with its rendered body and translated bodies, from this process's cache when unchanged."""
    return _recently_used(_lessons, LESSONS_KEPT, (lesson.id, *_key(course)), _LESSON_WITH_BODY, lesson.id)


def _recently_used(store: OrderedDict, size: int, key: tuple, statement: Select, row_id: int) -> object:
    """`statement`'s one row for `row_id`, kept in `store` (its `size` most recently used entries)."""
    with _lock:
        cached = store.get(key)
        if cached is not None:
            store.move_to_end(key)
            return cached
    with _loading_session() as session:
        loaded = session.scalars(statement, {"row_id": row_id}).one()
    with _lock:
        store[key] = loaded
        while len(store) > size:
            store.popitem(last=False)
    return loaded


@contextmanager
def _loading_session() -> Iterator[Session]:
    """A session of its own on the request's connection (same transaction, so no second SQLite connection
    waiting for a lock), whose objects end detached: nothing the request does later (a rollback expiring its
    objects, a change to the same rows) reaches the shared copies, and the request's own objects are never
    the cached ones."""
    session = Session(bind=db.session.connection(), expire_on_commit=False)
    try:
        yield session
        session.expunge_all()
    finally:
        session.close()


def clear() -> None:
    """Forget everything cached (e.g. after statements that change content rows without the ORM's flush)."""
    global _generation
    with _lock:
        _generation += 1
        _courses.clear()
        _outlines.clear()
        _quizzes.clear()
        _lessons.clear()


@event.listens_for(Session, "after_flush")
def _content_flushed(session: Session, _context: object) -> None:
    if any(isinstance(obj, CONTENT_MODELS) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_CHANGED] = True
        clear()


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _content_settled(session: Session) -> None:
    """Cleared again when the change commits (a request of this process may have cached the old rows in
    between) or rolls back (this session may have cached rows that no longer exist)."""
    if session.info.pop(_CHANGED, False):
        clear()


_CHANGED = "founder_course_content_changed"
