"""What the quiz page says about a quiz's questions, in the reader's language: each question's prompt, its options'
texts and its type's label — looked up once per process for each quiz and language, rather than for every question
and option on every request.

Keyed by the quiz itself: the process's cached copy with its questions (`course.content.cache.quiz_with_questions`),
which a content change replaces, so a new copy gets new texts and the old ones go with it. Only what the page shows
anyway: never which option is right. The course's texts are kept escaped for HTML, as the page would escape them.
"""

from __future__ import annotations

import threading
from typing import NamedTuple
from weakref import WeakKeyDictionary

from markupsafe import Markup, escape

from course.content.i18n import content_language, tr
from course.content.models import Quiz
from course.content.question_types import QUESTION_TYPES, question_type
from course.i18n import language


class QuizTexts(NamedTuple):
    prompts: dict[int, Markup]  # question id → its prompt
    options: dict[int, dict[str, Markup]]  # question id → option key → its text (course.quiz.layout's `served`)
    labels: dict[str, str]  # question type → its label ("Single choice")


_lock = threading.Lock()
_texts: WeakKeyDictionary[Quiz, dict[str, QuizTexts]] = WeakKeyDictionary()


def quiz_texts(quiz: Quiz) -> QuizTexts:
    """`quiz`'s texts in the reader's language (the interface's: the labels and true/false are ours, the rest the
    course's own or its translation)."""
    tag = language().tag
    by_language = _texts.get(quiz)
    texts = by_language.get(tag) if by_language is not None else None
    if texts is None:
        texts = _read(quiz)
        with _lock:
            _texts.setdefault(quiz, {})[tag] = texts
    return texts


def _read(quiz: Quiz) -> QuizTexts:
    lang = content_language()
    prompts: dict[int, Markup] = {}
    options: dict[int, dict[str, Markup]] = {}
    for question in quiz.questions:
        prompts[question.id] = escape(tr(question, "prompt", lang=lang))
        options[question.id] = {o.key: escape(o.text) for o in question_type(question.type).shown_options(question)}
    return QuizTexts(prompts, options, {name: str(kind.label) for name, kind in QUESTION_TYPES.items()})
