"""The outline's titles and the quiz page's texts are looked up once per process for each outline (quiz) and
language (course/learn/titles.py, course/learn/quiz_texts.py), not for every item on every request; they follow
the reader's language and a change of the content."""

from __future__ import annotations

import re

import pytest
from conftest import FIXTURE_COURSE, complete_lessons, do_login, quiz_url
from sqlalchemy import select

import course.content.i18n
import course.content.question_types
from course.content.models import Chapter, Lesson, Module, Question, QuestionOption, Quiz
from course.extensions import db

OUTLINE = f"/courses/{FIXTURE_COURSE}"
QUIZ = quiz_url("intro-quiz")


@pytest.fixture
def looked_up(monkeypatch) -> list:
    """The objects whose texts `tr` reads (the template's `tr` and the question types' both call it)."""
    seen: list = []
    real = course.content.i18n.tr

    def counting(obj, field, *args, **kwargs):
        seen.append(obj)
        return real(obj, field, *args, **kwargs)

    monkeypatch.setattr(course.content.i18n, "tr", counting)
    monkeypatch.setattr(course.content.question_types, "tr", counting)
    return seen


# A CSRF field's token, written with its name first (`csrf_input`, WTForms' `hidden_tag`) or its value first.
TOKEN = re.compile(r'(<input[^>]*name="(?:[\w-]+-)?csrf_token"[^>]*value=")[^"]+"|value="[^"]+"( name="csrf_token")')


def _without_tokens(html: str) -> str:
    """The page with its CSRF tokens blanked: they carry the second they were signed in, so two requests a second
    apart differ by them alone. Every page with the header has two (log out, the language switch)."""
    blanked, found = TOKEN.subn(lambda m: f'{m.group(1)}"' if m.group(1) else f'value=""{m.group(2)}', html)
    assert found >= 2, found
    return blanked


def test_the_outline_reads_its_titles_once(app, loaded_course, learner, client, looked_up):
    first = client.get(OUTLINE)
    assert first.status_code == 200
    looked_up.clear()
    again = client.get(OUTLINE).get_data(as_text=True)
    assert _without_tokens(again) == _without_tokens(first.get_data(as_text=True))
    # Only the "Start: …" link names an item itself; the list's titles come from the process's copy.
    items = [o for o in looked_up if isinstance(o, (Module, Chapter, Lesson, Quiz))]
    assert len(items) <= 1, items
    for title in ("1.1 Welcome", "Chapter 1 quiz"):
        assert title in again


def test_the_outline_shows_a_title_changed_since(app, loaded_course, learner, client):
    assert "1.1 Welcome" in client.get(OUTLINE).get_data(as_text=True)
    with app.app_context():
        lesson = db.session.scalar(select(Lesson).where(Lesson.key == "models"))
        lesson.title = "1.2 Models, renamed"
        db.session.commit()
    assert "1.2 Models, renamed" in client.get(OUTLINE).get_data(as_text=True)


def test_the_quiz_page_reads_its_texts_once(app, loaded_course, learner, client, looked_up):
    complete_lessons(client, "welcome", "models")
    client.get(OUTLINE)  # shows the flashes of completing
    first = client.get(QUIZ)
    assert first.status_code == 200
    looked_up.clear()
    again = client.get(QUIZ).get_data(as_text=True)
    assert _without_tokens(again) == _without_tokens(first.get_data(as_text=True))
    assert not [o for o in looked_up if isinstance(o, (Question, QuestionOption))]
    for text in ("What defines a large model?", "Its scale", "Parameter count", "(Single choice)", ">True</label>"):
        assert text in again


def test_the_quiz_page_speaks_each_readers_language(app, loaded_course, learner, client):
    complete_lessons(client, "welcome", "models")
    chinese = app.test_client()
    chinese.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    do_login(chinese, learner.email)
    for _round in range(2):  # each language's texts kept apart, whichever was read first
        english = client.get(QUIZ).get_data(as_text=True)
        assert "(Single choice)" in english and ">True</label>" in english and "单选题" not in english
        page = chinese.get(QUIZ).get_data(as_text=True)
        assert "(单选题)" in page and ">正确</label>" in page and "Single choice" not in page


def test_the_quiz_page_shows_an_option_changed_since(app, loaded_course, learner, client):
    complete_lessons(client, "welcome", "models")
    assert "Its colour" in client.get(QUIZ).get_data(as_text=True)
    with app.app_context():
        option = db.session.scalar(select(QuestionOption).where(QuestionOption.text == "Its colour"))
        option.text = "Its colour & shape"
        db.session.commit()
    page = client.get(QUIZ).get_data(as_text=True)
    assert "Its colour &amp; shape" in page and "Its colour<" not in page


def test_a_quiz_page_and_its_submission_compute_the_attempts_layout_once(
    app, loaded_course, learner, client, monkeypatch
):
    """The layout is a function of the quiz, the learner, the key and the secret: kept, it is not computed again
    for a reload or for grading the submission; another quiz content (its draw) gets its own."""
    from conftest import RIGHT_ANSWERS, submit_quiz

    from course.quiz import layout as layouts

    made: list[tuple[int, str]] = []
    compute = layouts._layout

    def counted(user_id, quiz, key, secret):
        made.append((user_id, key))
        return compute(user_id, quiz, key, secret)

    monkeypatch.setattr(layouts, "_layout", counted)
    monkeypatch.setattr(layouts, "_kept", type(layouts._kept)())
    complete_lessons(client, "welcome", "models")
    for _ in range(2):
        assert client.get(quiz_url("intro-quiz")).status_code == 200
    assert len(made) == 1
    assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    assert len(set(made)) == 1, made  # the form, the submission and its grading: the one layout
    with app.app_context():
        quiz = db.session.scalars(select(Quiz).where(Quiz.key == "intro-quiz")).one()
        first = layouts.layout(learner.id, quiz, "k")
        quiz.draw = 1
        assert layouts.layout(learner.id, quiz, "k") is not first
        db.session.rollback()
