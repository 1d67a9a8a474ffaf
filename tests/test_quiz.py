"""Quizzes: grading per question type, and taking a quiz through the site."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from conftest import (
    CHAPTER_LESSONS,
    RIGHT_ANSWERS,
    WRONG_ANSWERS,
    complete_lessons,
    do_login,
    load,
    new_client,
    next_key,
    quiz_form,
    quiz_url,
    submit_quiz,
)
from sqlalchemy import func, select

from course.content.question_types import QUESTION_TYPES, ResponseError
from course.content.short_answer import normalise
from course.extensions import db as _db
from course.quiz.models import Attempt, AttemptAnswer


# -- grading, per question type ------------------------------------------------------------------------
def choice_question(kind: str, correct: set[str], keys: str = "abcd"):
    options = [SimpleNamespace(key=k, text=f"option {k}", correct=k in correct) for k in keys]
    return SimpleNamespace(type=kind, options=options, accepted=[])


def grade(question, values: list[str]) -> bool:
    kind = QUESTION_TYPES[question.type]
    return kind.is_correct(question, kind.read(question, values))


def test_single_choice_is_right_only_with_the_correct_option():
    q = choice_question("single", {"c"})
    assert grade(q, ["c"]) is True
    assert grade(q, ["a"]) is False
    with pytest.raises(ResponseError):
        QUESTION_TYPES["single"].read(q, ["a", "c"])  # two answers to a single-choice question


def test_multiple_choice_is_all_or_nothing():
    q = choice_question("multiple", {"a", "c"})
    assert grade(q, ["c", "a"]) is True  # order does not matter
    assert grade(q, ["a", "c", "a"]) is True  # a repeated value counts once
    assert grade(q, ["a"]) is False  # a subset earns nothing
    assert grade(q, ["a", "b", "c"]) is False  # nor does a superset
    assert grade(q, ["b", "d"]) is False


def test_true_false_is_graded_against_its_answer():
    q = SimpleNamespace(
        type="true_false",
        options=[
            SimpleNamespace(key="true", text="true", correct=False),
            SimpleNamespace(key="false", text="false", correct=True),
        ],
        accepted=[],
    )
    assert grade(q, ["false"]) is True
    assert grade(q, ["true"]) is False
    assert [o.key for o in QUESTION_TYPES["true_false"].shown_options(q)] == ["true", "false"]
    with pytest.raises(ResponseError):
        QUESTION_TYPES["true_false"].read(q, ["maybe"])
    with pytest.raises(ResponseError):
        QUESTION_TYPES["true_false"].read(q, ["true", "false"])


@pytest.mark.parametrize("kind", ["single", "multiple"])
def test_an_unknown_option_is_refused(kind):
    with pytest.raises(ResponseError):
        QUESTION_TYPES[kind].read(choice_question(kind, {"a"}), ["z"])


@pytest.mark.parametrize(
    "typed",
    [
        "fine-tuning",
        " Fine-Tuning ",
        "FINE-TUNING",
        "ＦＩＮＥ－ＴＵＮＩＮＧ",
        "ｆｉｎｅ－ｔｕｎｉｎｇ",
        "\tfine-tuning\n",
        "微调",
        "　微调　",  # ideographic spaces around the Chinese answer
    ],
)
def test_short_text_accepts_answers_after_normalising(typed):
    q = SimpleNamespace(type="short_text", options=[], accepted=["Fine-Tuning", "微调"])
    assert grade(q, [typed]) is True


@pytest.mark.parametrize("typed", ["fine tuning", "finetuning", "fine-tuning!?x", "", "   "])
def test_short_text_refuses_other_answers(typed):
    q = SimpleNamespace(type="short_text", options=[], accepted=["Fine-Tuning"])
    assert grade(q, [typed]) is False


def test_short_text_collapses_inner_spaces():
    q = SimpleNamespace(type="short_text", options=[], accepted=["self attention"])
    assert grade(q, ["Self   Attention"]) is True
    assert normalise("  Ａ  Ｂ　Ｃ ") == "a b c"


def test_short_text_refuses_an_overlong_answer():
    q = SimpleNamespace(type="short_text", options=[], accepted=["x"])
    with pytest.raises(ResponseError):
        QUESTION_TYPES["short_text"].read(q, ["x" * 501])


# -- taking a quiz through the site --------------------------------------------------------------------
INTRO = "intro-quiz"
TRAINING = "training-quiz"
LAUNCH = "launch-quiz"


def attempts(app, quiz_key: str | None = None) -> list[Attempt]:
    from course.content.models import Quiz

    with app.app_context():
        stmt = select(Attempt).order_by(Attempt.id)
        if quiz_key:
            stmt = stmt.join(Quiz).where(Quiz.key == quiz_key)
        rows = _db.session.scalars(stmt).all()
        _db.session.expunge_all()
        return rows


def count_rows(app, model) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def ready(loaded_course, client, learner):
    """A logged-in learner who has read every lesson, so every quiz is open."""
    for lessons in CHAPTER_LESSONS.values():
        complete_lessons(client, *lessons)
    return client


def test_a_right_submission_is_graded_and_shown(app, ready):
    response = submit_quiz(ready, INTRO, RIGHT_ANSWERS[INTRO])
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{quiz_url(INTRO)}/attempts/1")
    (attempt,) = attempts(app)
    assert (attempt.number, attempt.score, attempt.max_score, attempt.percent, attempt.passed) == (1, 4, 4, 100, True)
    page = ready.get(response.headers["Location"]).get_data(as_text=True)
    assert "100%" in page


def test_each_question_is_scored_and_the_pass_mark_applies(app, ready):
    answers = {**RIGHT_ANSWERS[INTRO], "intro-q2": ["a", "c"]}  # one wrong: 3 of 4 = 75 %, pass mark 75
    assert submit_quiz(ready, INTRO, answers).status_code == 302
    answers = {**answers, "intro-q4": "pre-training"}  # two wrong: 50 %
    assert submit_quiz(ready, INTRO, answers).status_code == 302
    first, second = attempts(app)
    assert (first.percent, first.passed) == (75, True)
    assert (second.percent, second.passed, second.number) == (50, False, 2)
    with app.app_context():
        rows = _db.session.scalars(
            select(AttemptAnswer).where(AttemptAnswer.attempt_id == second.id).order_by(AttemptAnswer.position)
        ).all()
        assert [(r.response, r.correct) for r in rows] == [
            (["a"], True),
            (["a", "c"], False),
            (["false"], True),
            ("pre-training", False),
        ]


def test_short_text_is_normalised_through_the_form(app, ready):
    answers = {**RIGHT_ANSWERS[INTRO], "intro-q4": "ＦＩＮＥ－ＴＵＮＩＮＧ"}
    assert submit_quiz(ready, INTRO, answers).status_code == 302
    assert attempts(app)[0].percent == 100


def test_an_unknown_option_is_refused_and_nothing_is_recorded(app, ready):
    response = submit_quiz(ready, INTRO, {**RIGHT_ANSWERS[INTRO], "intro-q1": "z"})
    assert response.status_code == 400
    assert "An answer names an option that does not exist." in response.get_data(as_text=True)
    assert attempts(app) == []


def test_a_missing_answer_is_refused_and_the_other_answers_are_kept(app, ready):
    answers = {**RIGHT_ANSWERS[INTRO], "intro-q4": "my own words"}
    del answers["intro-q1"]
    response = submit_quiz(ready, INTRO, answers)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Please answer this question." in page
    assert re.search(r'id="err-intro-q1"', page)
    # The learner's other answers are still in the form, under the same attempt's tokens.
    token = quiz_form(ready, INTRO, {"intro-q2": ["a", "b", "c"], "intro-q3": "false"})
    assert f'name="submission_key" value="{token["submission_key"]}"' in page
    assert re.search(rf'name="intro-q2" value="{token["intro-q2"][0]}" checked', page)
    assert re.search(rf'name="intro-q2" value="{token["intro-q2"][1]}" checked', page)
    assert not re.search(rf'name="intro-q2" value="{token["intro-q2"][2]}" checked', page)
    assert re.search(rf'name="intro-q3" value="{token["intro-q3"]}" checked', page)
    assert 'value="my own words"' in page
    assert "EXPLAIN-" not in page
    assert attempts(app) == []


def test_a_question_id_from_elsewhere_is_refused(app, ready):
    response = submit_quiz(ready, INTRO, {**RIGHT_ANSWERS[INTRO], "training-q1": "a"})
    assert response.status_code == 400
    assert "This quiz has changed since the page was opened" in response.get_data(as_text=True)
    assert attempts(app) == []


def test_an_empty_submission_is_refused(app, ready):
    response = ready.post(quiz_url(INTRO), data={"submission_key": next_key(ready, INTRO)})
    assert response.status_code == 400
    assert attempts(app) == []


@pytest.mark.parametrize("forged", ["chosen-by-me", "0" * 32])
def test_a_key_the_page_did_not_issue_records_nothing(app, ready, forged):
    """The key picks the attempt's layout (which questions a pool draws, the options' order): a learner who sends
    a key of their own choosing gets the page again (409), nothing recorded, not a layout of their choice."""
    answers = quiz_form(ready, INTRO, RIGHT_ANSWERS[INTRO], forged)
    response = ready.post(quiz_url(INTRO), data=answers)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "This page was out of date" in page
    assert f'name="submission_key" value="{next_key(ready, INTRO)}"' in page
    assert attempts(app) == []


def test_the_page_issues_the_next_attempts_key_and_an_old_one_is_stale(app, ready):
    first = next_key(ready, INTRO)
    assert submit_quiz(ready, INTRO, WRONG_ANSWERS[INTRO]).status_code == 302
    second = next_key(ready, INTRO)
    assert second != first
    assert f'name="submission_key" value="{second}"' in ready.get(quiz_url(INTRO)).get_data(as_text=True)
    # A key for an attempt beyond the next (a guess at a later layout) is refused like any other forged one.
    user_id = attempts(app)[0].user_id
    with app.app_context():
        from course.content.models import Quiz
        from course.quiz.layout import attempt_key

        third = attempt_key(user_id, _db.session.scalar(select(Quiz).where(Quiz.key == INTRO)), 3)
    response = ready.post(quiz_url(INTRO), data=quiz_form(ready, INTRO, RIGHT_ANSWERS[INTRO], third))
    assert response.status_code == 409
    assert [a.number for a in attempts(app)] == [1]


def test_the_same_submission_twice_records_one_attempt(app, ready):
    key = next_key(ready, INTRO)
    first = submit_quiz(ready, INTRO, RIGHT_ANSWERS[INTRO], key=key)
    second = submit_quiz(ready, INTRO, RIGHT_ANSWERS[INTRO], key=key)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert len(attempts(app)) == 1
    assert count_rows(app, AttemptAnswer) == 4


def test_attempts_beyond_the_limit_are_refused(app, ready):
    for _ in range(2):
        assert submit_quiz(ready, TRAINING, WRONG_ANSWERS[TRAINING]).status_code == 302
    response = submit_quiz(ready, TRAINING, RIGHT_ANSWERS[TRAINING])
    assert response.status_code == 409
    assert "You have used all 2 attempts for this quiz." in response.get_data(as_text=True)
    assert [a.number for a in attempts(app)] == [1, 2]
    assert not any(a.passed for a in attempts(app))
    page = ready.get(quiz_url(TRAINING)).get_data(as_text=True)
    assert "You have used all attempts for this quiz." in page
    assert 'name="training-q1"' not in page


def test_a_retry_of_the_last_allowed_attempt_shows_its_result(app, ready):
    """The retry of a submission whose attempt used up the quiz: its result, not "no attempts left"."""
    assert submit_quiz(ready, TRAINING, WRONG_ANSWERS[TRAINING]).status_code == 302
    key = next_key(ready, TRAINING)
    last = submit_quiz(ready, TRAINING, WRONG_ANSWERS[TRAINING], key=key)
    again = submit_quiz(ready, TRAINING, WRONG_ANSWERS[TRAINING], key=key)
    assert again.status_code == 302 and again.headers["Location"] == last.headers["Location"]
    assert [a.number for a in attempts(app)] == [1, 2]


def test_a_retry_after_the_quiz_changed_shows_its_result(app, ready, loaded_course):
    """A question added after the first send: the retry (with the old answers) gets its result, not a 400."""
    key = next_key(ready, INTRO)
    first = submit_quiz(ready, INTRO, RIGHT_ANSWERS[INTRO], key=key)
    quiz_file = loaded_course.root / "mini-course/01-basics/01-intro/quiz.yaml"
    quiz_file.write_text(
        quiz_file.read_text().replace(
            "- id: intro-q4",
            "- id: intro-q4b\n    type: true_false\n"
            "    prompt: A new question.\n    answer: true\n"
            "    explanation: EXPLAIN-NEW\n  - id: intro-q4",
            1,
        )
    )
    assert load(app, loaded_course.root).applied
    again = submit_quiz(ready, INTRO, RIGHT_ANSWERS[INTRO], key=key)
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    assert len(attempts(app)) == 1
    assert submit_quiz(ready, INTRO, RIGHT_ANSWERS[INTRO]).status_code == 400  # a new send: refused


def test_a_missing_submission_key_records_nothing(app, ready):
    response = ready.post(quiz_url(INTRO), data=RIGHT_ANSWERS[INTRO])
    assert response.status_code in (400, 409)
    assert attempts(app) == []


# -- what the quiz page gives away ------------------------------------------------------------------------
@pytest.mark.parametrize("quiz", [INTRO, TRAINING, LAUNCH])
def test_the_quiz_page_never_holds_answers_or_explanations(ready, quiz):
    page = ready.get(quiz_url(quiz)).get_data(as_text=True)
    assert 'name="submission_key"' in page
    assert "EXPLAIN-" not in page
    assert not re.search(r"correct\s*[=:\"']|data-correct|data-answer", page, re.IGNORECASE)
    for accepted in ("fine-tuning", "微调", 'value="one"'):
        assert accepted not in page


def test_the_options_of_a_question_look_the_same_whether_right_or_wrong(ready):
    page = ready.get(quiz_url(INTRO)).get_data(as_text=True)
    options = re.findall(r'<div class="option">(.*?)</div>', page, re.DOTALL)
    q1 = [o for o in options if 'name="intro-q1"' in o]
    assert len(q1) == 3
    shapes = {re.sub(r"\b(in-intro-q1-[123]|value=\"[0-9a-f]{12})\b|Its \w+", "", o) for o in q1}
    assert len(shapes) == 1  # nothing but the place, the token and the text differs


def test_after_each_attempt_reveals_explanations_on_the_result_page(ready):
    page = ready.get(submit_quiz(ready, INTRO, WRONG_ANSWERS[INTRO]).headers["Location"]).get_data(as_text=True)
    for n in range(1, 5):
        assert f"EXPLAIN-INTRO-Q{n}" in page
    assert "fine-tuning" in page  # the accepted answer is shown after the attempt


def test_after_pass_shows_only_correctness_until_the_learner_passes(ready):
    failed = submit_quiz(ready, TRAINING, {**RIGHT_ANSWERS[TRAINING], "training-q2": "false"})
    page = ready.get(failed.headers["Location"]).get_data(as_text=True)
    assert "EXPLAIN-TRAINING" not in page
    assert page.count("✓ Correct") == 1 and page.count("✗ Incorrect") == 1
    assert "Try again" in page
    retake = ready.get(quiz_url(TRAINING)).get_data(as_text=True)
    assert "EXPLAIN-TRAINING" not in retake

    passed = submit_quiz(ready, TRAINING, RIGHT_ANSWERS[TRAINING])
    assert passed.headers["Location"].endswith("/attempts/2")
    page = ready.get(passed.headers["Location"]).get_data(as_text=True)
    assert "EXPLAIN-TRAINING-Q1" in page and "EXPLAIN-TRAINING-Q2" in page
    # Once passed, the earlier attempt's page shows everything too.
    first = ready.get(failed.headers["Location"]).get_data(as_text=True)
    assert "EXPLAIN-TRAINING-Q2" in first


def test_reveal_never_shows_the_score_only(app, ready):
    response = submit_quiz(ready, LAUNCH, RIGHT_ANSWERS[LAUNCH])
    page = ready.get(response.headers["Location"]).get_data(as_text=True)
    assert attempts(app)[0].passed
    assert "EXPLAIN-LAUNCH" not in page
    assert "Correct" not in page and "Incorrect" not in page
    assert "100%" in page


# -- the gate, the history, other learners ----------------------------------------------------------------
def test_the_quiz_is_refused_until_the_chapter_lessons_are_complete(app, loaded_course, client, learner):
    page = client.get(quiz_url(INTRO))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "This quiz opens once the chapter" in body
    assert 'name="intro-q1"' not in body
    assert submit_quiz(client, INTRO, RIGHT_ANSWERS[INTRO]).status_code == 403

    complete_lessons(client, "welcome")
    assert submit_quiz(client, INTRO, RIGHT_ANSWERS[INTRO]).status_code == 403
    assert attempts(app) == []

    complete_lessons(client, "models")
    assert 'name="intro-q1"' in client.get(quiz_url(INTRO)).get_data(as_text=True)
    assert submit_quiz(client, INTRO, RIGHT_ANSWERS[INTRO]).status_code == 302
    assert len(attempts(app)) == 1


def test_the_attempt_history_lists_every_attempt(ready):
    submit_quiz(ready, INTRO, WRONG_ANSWERS[INTRO])
    submit_quiz(ready, INTRO, RIGHT_ANSWERS[INTRO])
    page = ready.get(f"{quiz_url(INTRO)}/attempts")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert f'href="{quiz_url(INTRO)}/attempts/1"' in body
    assert f'href="{quiz_url(INTRO)}/attempts/2"' in body
    assert "Not passed" in body and "✓ Passed" in body
    assert re.search(r"<td>0%</td>", body) and re.search(r"<td>100%</td>", body)


def test_another_learners_attempt_is_not_found(app, ready, make_user):
    mine = submit_quiz(ready, INTRO, RIGHT_ANSWERS[INTRO]).headers["Location"]
    other = make_user(email="other@example.com")
    stranger = new_client(app)
    assert do_login(stranger, other.email).status_code == 302
    assert stranger.get(mine).status_code == 404
    assert ready.get(mine).status_code == 200
    assert ready.get(f"{quiz_url(INTRO)}/attempts/2").status_code == 404


def test_an_unknown_quiz_is_not_found(ready):
    assert ready.get(quiz_url("no-such-quiz")).status_code == 404
    assert submit_quiz(ready, "no-such-quiz", {}).status_code == 404
    assert ready.get("/courses/no-such-course/quizzes/intro-quiz").status_code == 404


def test_quiz_pages_need_a_login(loaded_course, client):
    response = client.get(quiz_url(INTRO))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# -- double submits and parallel tabs ------------------------------------------------------------------------
def in_parallel(app, user, n: int, request) -> list[int]:
    """Run `request(client, i)` from `n` logged-in clients of `user` at the same moment; the status codes."""
    import threading

    clients = [new_client(app) for _ in range(n)]
    for c in clients:
        assert do_login(c, user.email).status_code == 302
    barrier = threading.Barrier(n)
    codes: list[int] = [0] * n

    def run(i: int) -> None:
        barrier.wait()
        codes[i] = request(clients[i], i).status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return codes


def test_parallel_tabs_cannot_pass_the_attempt_limit(app, ready, learner):
    """After attempt 1 of 2: three tabs send the page's key for attempt 2, three a key for attempt 3 (a page the
    learner could only get once attempt 2 exists). One attempt 2 is recorded and its twins show it; every
    attempt-3 send is refused, as stale before attempt 2 commits and as over the limit after."""
    from course.content.models import Quiz
    from course.quiz.layout import attempt_key

    assert submit_quiz(ready, TRAINING, WRONG_ANSWERS[TRAINING]).status_code == 302
    second = next_key(ready, TRAINING)
    user_id = attempts(app)[0].user_id
    with app.app_context():
        third = attempt_key(user_id, _db.session.scalar(select(Quiz).where(Quiz.key == TRAINING)), 3)
    keys = [second, third] * 3
    codes = in_parallel(app, learner, 6, lambda c, i: submit_quiz(c, TRAINING, WRONG_ANSWERS[TRAINING], key=keys[i]))
    assert sorted(codes) == [302, 302, 302, 409, 409, 409]
    assert [codes[i] for i in range(0, 6, 2)] == [302] * 3
    assert sorted(a.number for a in attempts(app)) == [1, 2]


def test_a_double_submit_in_parallel_records_one_attempt(app, ready, learner):
    key = next_key(ready, INTRO)
    codes = in_parallel(app, learner, 4, lambda c, i: submit_quiz(c, INTRO, RIGHT_ANSWERS[INTRO], key=key))
    assert codes == [302] * 4
    assert len(attempts(app)) == 1
    assert count_rows(app, AttemptAnswer) == 4


def test_the_accepted_answer_shown_is_in_the_readers_language(app):
    """The result page shows a short answer's first accepted text: an English reader saw the course's Chinese."""
    q = SimpleNamespace(type="short_text", options=[], accepted=["微调"], i18n={"en": {"accepted": ["fine-tuning"]}})
    kind = QUESTION_TYPES["short_text"]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert kind.correct_response(q) == "fine-tuning"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert kind.correct_response(q) == "微调"
    assert kind.is_correct(q, "微调") and kind.is_correct(q, "Fine-Tuning")  # graded in every language still
