"""Quizzes that measure (issue #14): options shuffled per attempt under opaque tokens, question pools (`draw`,
`group`), the reveal policy (`quiz_reveal: after_pass_or_last`) and the cool-down (`retry_after`) —
course/quiz/layout.py, course/quiz/attempts.py, course/progress/journey.py, course/learn/quizzes.py."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import (
    CHAPTER_LESSONS,
    RIGHT_ANSWERS,
    WRONG_ANSWERS,
    complete_lessons,
    load,
    next_key,
    quiz_form,
    quiz_url,
    service_key,
    submit_quiz,
)
from dashboard_factories import add_learner, make_cohort
from sqlalchemy import select, update
from werkzeug.datastructures import MultiDict

from course.cohorts.models import Cohort
from course.content.models import Quiz
from course.content.parser import read_content
from course.dashboard.coursemap import load_course_map
from course.dashboard.quizstats import quiz_stats
from course.extensions import db as _db
from course.quiz import attempts
from course.quiz.grading import read_submission
from course.quiz.layout import layout
from course.quiz.models import Attempt

INTRO = "intro-quiz"
INTRO_YAML = Path("01-basics/01-intro/quiz.yaml")
OPTION_IDS = {"a", "b", "c", "true", "false"}
GROUPS = {"intro-q1": "scale", "intro-q2": "scale", "intro-q3": "adapt", "intro-q4": "adapt"}


def configure(root: Path, settings: str = "", groups: bool = False, course: str = "") -> None:
    """Replace the intro quiz's `reveal` line with `settings` (no line: the course's default applies)."""
    path = root / "mini-course" / INTRO_YAML
    text = path.read_text().replace("reveal: after_each_attempt\n", settings)
    if groups:
        for key, group in GROUPS.items():
            text = text.replace(f"  - id: {key}\n", f"  - id: {key}\n    group: {group}\n")
    path.write_text(text)
    if course:
        manifest = root / "mini-course" / "course.yaml"
        manifest.write_text(manifest.read_text() + course)


@pytest.fixture
def ready(loaded_course, client, learner):
    for lessons in CHAPTER_LESSONS.values():
        complete_lessons(client, *lessons)
    return client


def reload_with(app, root: Path, **settings) -> None:
    configure(root, **settings)
    result = load(app, root)
    assert result.applied and not result.problems, result.problems


def the_quiz() -> Quiz:
    return _db.session.scalar(select(Quiz).where(Quiz.key == INTRO))


def page_of(client, response) -> str:
    return client.get(response.headers["Location"]).get_data(as_text=True)


# -- shuffling and opaque tokens ------------------------------------------------------------------------
def test_attempts_shuffle_the_options_and_a_key_always_gives_the_same_layout(app, loaded_course, db):
    quiz = the_quiz()
    orders = set()
    for n in range(8):
        shown = layout(1, quiz, f"key-{n}")
        q1 = quiz.questions[0]
        orders.add(tuple(shown.tokens[q1.id]))  # option ids in the order shown
        assert shown.tokens == layout(1, quiz, f"key-{n}").tokens  # stable within an attempt
        assert list(shown.tokens[quiz.questions[2].id]) == ["true", "false"]  # true/false keeps its order
    assert len(orders) > 1  # 8 attempts of 3 options: not all in one order
    first, second = layout(1, quiz, "key-0"), layout(1, quiz, "key-1")
    assert set(first.tokens[q1.id].values()).isdisjoint(second.tokens[q1.id].values())  # new tokens each attempt


def test_the_page_carries_only_tokens_and_a_reload_keeps_the_attempt(ready):
    page = ready.get(quiz_url(INTRO)).get_data(as_text=True)
    values = re.findall(r'type="(?:radio|checkbox)" id="[^"]+" name="[^"]+" value="([^"]*)"', page)
    assert len(values) == 3 + 3 + 2
    assert all(re.fullmatch(r"[0-9a-f]{12}", v) for v in values) and not OPTION_IDS & set(values)
    assert not re.search(r'id="in-intro-q\d-[a-z]', page)  # no option id in the element ids either
    key = re.search(r'name="submission_key" value="([^"]+)"', page)[1]
    reloaded = ready.get(quiz_url(INTRO)).get_data(as_text=True)  # a reload: same attempt, same order
    assert f'name="submission_key" value="{key}"' in reloaded
    assert re.findall(r'type="(?:radio|checkbox)" id="[^"]+" name="[^"]+" value="([^"]*)"', reloaded) == values

    submit_quiz(ready, INTRO, WRONG_ANSWERS[INTRO], key=key)
    next_page = ready.get(quiz_url(INTRO)).get_data(as_text=True)
    following = re.search(r'name="submission_key" value="([^"]+)"', next_page)[1]
    assert following != key
    assert set(re.findall(r'value="([0-9a-f]{12})"', next_page)).isdisjoint(values)


def test_attempts_of_the_same_quiz_show_their_options_in_different_orders(ready):
    """The pages of a learner's successive attempts, as they read them: the option texts in another order."""
    orders = []
    for _attempt in range(4):
        page = ready.get(quiz_url(INTRO)).get_data(as_text=True)
        orders.append(tuple(re.findall(r'<label for="in-intro-q[12]-\d+">([^<]+)</label>', page)))
        assert submit_quiz(ready, INTRO, WRONG_ANSWERS[INTRO]).status_code == 302
    assert all(len(order) == 6 for order in orders)
    assert len({tuple(sorted(order)) for order in orders}) == 1  # the same options …
    assert len(set(orders)) > 1  # … not in the same order


def test_a_replayed_submission_is_graded_against_its_own_order(app, ready):
    form = quiz_form(ready, INTRO, RIGHT_ANSWERS[INTRO])
    first = ready.post(quiz_url(INTRO), data=form)
    assert first.status_code == 302 and first.headers["Location"].endswith("/attempts/1")
    ready.get(quiz_url(INTRO))  # the page now shows the next attempt, in another order
    again = ready.post(quiz_url(INTRO), data=form)
    assert again.headers["Location"] == first.headers["Location"]
    with app.app_context():
        (attempt,) = _db.session.scalars(select(Attempt)).all()
        assert attempt.passed and attempt.percent == 100
        stored = {a.question_id: a.response for a in attempts.get_attempt(attempt.user_id, the_quiz(), 1).answers}
        assert ["a"] in stored.values() and ["a", "b"] in stored.values()  # option ids, not tokens
    # The same tokens under the next attempt's key name nothing there.
    other = ready.post(quiz_url(INTRO), data={**form, "submission_key": next_key(ready, INTRO)})
    assert other.status_code == 400


@pytest.mark.parametrize("forged", ["a", "zzzzzzzzzzzz", "0" * 12])
def test_a_forged_token_is_an_invalid_answer_not_an_error(app, ready, forged):
    form = quiz_form(ready, INTRO, RIGHT_ANSWERS[INTRO])
    response = ready.post(quiz_url(INTRO), data={**form, "intro-q1": forged})
    assert response.status_code == 400
    assert "An answer names an option that does not exist." in response.get_data(as_text=True)
    with app.app_context():
        assert _db.session.scalars(select(Attempt)).all() == []


# -- the reveal policy --------------------------------------------------------------------------------
def test_by_default_a_failed_attempt_shows_what_was_wrong_but_not_the_answers(app, ready, content_dir):
    reload_with(app, content_dir, settings="max_attempts: 3\n")
    with app.app_context():
        assert the_quiz().reveal == "after_pass_or_last"  # the course's default
    page = page_of(ready, submit_quiz(ready, INTRO, WRONG_ANSWERS[INTRO]))
    assert "✗ Incorrect" in page and "Your answer:" in page and "Its colour" in page  # their own answer
    assert ">correct answer<" not in page and "tag-right" not in page
    assert "EXPLAIN-" not in page and "Explanation:" not in page
    assert "Its scale" not in page  # the right option of q1 is not named
    assert "once you pass this quiz or use your last attempt" in page

    passed = page_of(ready, submit_quiz(ready, INTRO, RIGHT_ANSWERS[INTRO]))
    assert "EXPLAIN-INTRO-Q1" in passed and ">correct answer<" in passed
    first = ready.get(f"{quiz_url(INTRO)}/attempts/1").get_data(as_text=True)  # history follows the same rule
    assert "EXPLAIN-INTRO-Q1" in first


def test_the_last_attempt_reveals_everything(app, ready, content_dir):
    reload_with(app, content_dir, settings="max_attempts: 2\n")
    assert "EXPLAIN-" not in page_of(ready, submit_quiz(ready, INTRO, WRONG_ANSWERS[INTRO]))
    last = page_of(ready, submit_quiz(ready, INTRO, WRONG_ANSWERS[INTRO]))
    assert "EXPLAIN-INTRO-Q1" in last and "tag-right" in last


def test_a_course_may_reveal_after_each_attempt(app, loaded_course, content_dir, db):
    configure(content_dir, course="quiz_reveal: after_each_attempt\n")
    db.session.commit()
    assert load(app, content_dir).applied
    assert the_quiz().reveal == "after_each_attempt"


# -- the cool-down ---------------------------------------------------------------------------------------
def test_the_cool_down_is_enforced_by_the_server_and_shown_on_the_page(app, ready, content_dir):
    reload_with(app, content_dir, settings="retry_after: 10m\n")
    assert submit_quiz(ready, INTRO, WRONG_ANSWERS[INTRO]).status_code == 302
    refused = submit_quiz(ready, INTRO, RIGHT_ANSWERS[INTRO])
    assert refused.status_code == 429
    assert "Please wait before trying again: your next attempt opens at" in refused.get_data(as_text=True)
    page = ready.get(quiz_url(INTRO)).get_data(as_text=True)
    assert "Next attempt opens at" in page and '<form method="post" class="quiz-form"' not in page
    result = ready.get(f"{quiz_url(INTRO)}/attempts/1").get_data(as_text=True)
    assert "Next attempt opens at" in result and ">Try again<" not in result
    with app.app_context():
        assert len(_db.session.scalars(select(Attempt)).all()) == 1
        # Time passes: the attempts table, which every instance reads, says the cool-down is over.
        (row,) = _db.session.scalars(select(Attempt)).all()
        _db.session.execute(update(Attempt).values(submitted_at=row.submitted_at - timedelta(minutes=11)))
        _db.session.commit()
    assert submit_quiz(ready, INTRO, RIGHT_ANSWERS[INTRO]).status_code == 302


def test_the_service_refuses_inside_the_cool_down_whatever_the_instance(app, loaded_course, content_dir, make_user):
    reload_with(app, content_dir, settings="retry_after: 2h\n")
    user = make_user(email="cool@example.com")
    with app.test_request_context(method="POST"):
        quiz = the_quiz()
        for n, answers in enumerate((WRONG_ANSWERS[INTRO], RIGHT_ANSWERS[INTRO])):
            key = service_key(user.id, quiz)
            submission = read_submission(quiz, MultiDict(answers))  # option ids: no layout
            if n == 0:
                attempts.record(user.id, quiz, submission, key)
            else:
                with pytest.raises(attempts.CoolingDown) as refused:
                    attempts.record(user.id, quiz, submission, key)
                assert refused.value.opens_at > attempts.utcnow() + timedelta(minutes=119)
        _db.session.rollback()


# -- question pools ----------------------------------------------------------------------------------------
def test_a_drawn_quiz_serves_n_questions_with_each_group_and_varies_them(app, ready, content_dir):
    reload_with(app, content_dir, settings="draw: 2\n", groups=True)
    with app.app_context():
        quiz = the_quiz()
        sets = set()
        for n in range(12):
            served = [q.key for q in layout(1, quiz, f"draw-{n}").questions]
            assert len(served) == 2 and {GROUPS[k] for k in served} == {"scale", "adapt"}
            sets.add(tuple(served))
        assert len(sets) > 1
    page = ready.get(quiz_url(INTRO)).get_data(as_text=True)
    assert "2 questions" in page and len(re.findall(r'<fieldset class="question', page)) == 2
    response = submit_quiz(ready, INTRO, RIGHT_ANSWERS[INTRO])
    assert response.status_code == 302
    with app.app_context():
        (attempt,) = _db.session.scalars(select(Attempt)).all()
        assert (attempt.max_score, attempt.percent) == (2, 100)


def test_item_statistics_count_each_drawn_question_its_own_responses(app, loaded_course, content_dir):
    reload_with(app, content_dir, settings="draw: 2\n")
    cohort_id = make_cohort(app, name="Pools")
    served: dict[str, int] = {}
    learners = [add_learner(app, cohort_id, f"P{i}") for i in range(8)]
    with app.test_request_context(method="POST"):
        quiz = the_quiz()
        for uid in learners:
            key = service_key(uid, quiz)
            shown = layout(uid, quiz, key)
            form = MultiDict()
            for q in shown.questions:
                for value in _as_list(RIGHT_ANSWERS[INTRO][q.key]):
                    form.add(q.key, shown.tokens[q.id].get(value, value))
                served[q.key] = served.get(q.key, 0) + 1
            submission = read_submission(quiz, form, shown)
            assert submission.ok, submission.errors
            attempts.record(uid, quiz, submission, key)
        _db.session.commit()
        cohort = _db.session.get(Cohort, cohort_id)
        stats = quiz_stats(cohort, load_course_map(cohort).quiz_by_key(INTRO))
    assert stats.attempts == 8
    assert {q.key: q.responses for q in stats.questions} == {k: served.get(k, 0) for k in GROUPS}
    assert all(q.facility in (None, 1.0) for q in stats.questions)


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# -- the content format --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "groups", "message"),
    [
        ("draw: 5\n", False, "`draw: 5` is more than the quiz's 4 questions"),
        ("draw: 1\n", True, "`draw: 1` cannot represent each of the 2 groups"),
        ("", True, "question intro-q1: `group` is only used with the quiz's `draw`"),
        ("draw: 0\n", False, "`draw`"),
        ("retry_after: 10 minutes\n", False, "a duration is a whole number and a unit: 30s, 10m, 2h or 1d"),
        ("retry_after: 999999d\n", False, "a duration is at most 365d"),
    ],
)
def test_the_checker_reports_wrong_pool_and_cool_down_settings(content_dir, settings, groups, message):
    configure(content_dir, settings=settings, groups=groups)
    _courses, problems, _files = read_content(content_dir)
    found = [p for p in problems if message in p.message]
    assert found, problems
    assert found[0].path.endswith("01-intro/quiz.yaml") and found[0].line > 1  # file:line of the setting


def test_a_layout_is_let_go_once_its_attempt_is_recorded(app, loaded_course, client, learner):
    """The quiz page keeps its attempt's layout for the submission; once recorded it is no longer kept (a replay of
    the submission computes it again, and is still shown its result)."""
    from course.quiz import layout as layouts

    complete_lessons(client, "welcome", "models")
    key = next_key(client, "intro-quiz")  # (the test's own helper keeps a layout under its own copy of the quiz)
    before = set(layouts._kept)
    assert client.get(quiz_url("intro-quiz")).status_code == 200
    shown = [wanted for wanted in layouts._kept if wanted not in before and wanted[4] == key]
    assert len(shown) == 1  # the page's layout, kept for its submission
    assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"], key=key).status_code == 302
    assert shown[0] not in layouts._kept
    again = submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"], key=key)  # the same form sent again
    assert again.status_code == 302
    with app.app_context():
        assert len(_db.session.scalars(select(Attempt).where(Attempt.user_id == learner.id)).all()) == 1
