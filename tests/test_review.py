"""Spaced review (course/progress/review.py): the cards a wrong answer makes, the Review page that shows them
freshly shuffled under values that reveal nothing, FSRS's schedule as the clock moves (`CLOCK_OFFSET_DAYS`), and
what the outline, the completion summary and the instructor's quiz statistics say about it."""

from __future__ import annotations

import html
import re

import pytest
from conftest import RIGHT_ANSWERS, WRONG_ANSWERS, complete_lessons, do_login, new_client, submit_quiz
from dashboard_factories import add_learner, attempt, make_cohort
from sqlalchemy import func, select, update

from course.accounts.models import User
from course.content.models import Course, Question
from course.content.question_types import question_type
from course.db_types import utcnow
from course.extensions import db as _db
from course.privacy.deletion import delete_account
from course.progress import review as reviews
from course.progress.models import Completion, LearnerCourseStats
from course.progress.review_models import ReviewCard, ReviewLog
from course.quiz.models import Attempt, AttemptAnswer

REVIEW = "/courses/mini-course/review"
ACTION = re.compile(r'action="/courses/mini-course/review/(\d+)"')
DISPLAY = re.compile(r'name="review_display" value="([^"]+)"')
OPTION = re.compile(r'name="answer" value="([^"]+)">\s*<label for="[^"]+">([^<]*)</label>')
ONLY_Q1_WRONG = {**RIGHT_ANSWERS["intro-quiz"], "intro-q1": "b"}


def fail_intro(client, answers=None) -> None:
    complete_lessons(client, "welcome", "models")
    assert submit_quiz(client, "intro-quiz", answers or ONLY_Q1_WRONG).status_code == 302


def cards(app, user_id: int) -> list[ReviewCard]:
    with app.app_context():
        rows = _db.session.scalars(select(ReviewCard).where(ReviewCard.user_id == user_id).order_by(ReviewCard.id))
        cards = rows.all()
        _db.session.expunge_all()
        return cards


def shown_card(client) -> tuple[int, str, list[tuple[str, str]], str]:
    """The card the Review page shows: its id, the display token, the options (value, text), the page."""
    page = client.get(REVIEW).get_data(as_text=True)
    found = ACTION.search(page)
    assert found, "no card on the Review page"
    options = [(value, html.unescape(text)) for value, text in OPTION.findall(page)]
    return int(found.group(1)), DISPLAY.search(page).group(1), options, page


def answer_form(app, card_id: int, options: list[tuple[str, str]], right: bool) -> list[str] | str:
    """The values to send: the options whose text is a correct (or, `right` false, a wrong) option's text, or a
    typed answer."""
    with app.app_context():
        question = _db.session.get(Question, _db.session.get(ReviewCard, card_id).question_id)
        qtype = question_type(question.type)
        if qtype.input_kind == "text":
            return qtype.correct_response(question) if right else "something else"
        keyed = set(qtype.correct_response(question))
        texts = {str(o.text): o.key in keyed for o in qtype.shown_options(question)}
        chosen = [value for value, text in options if texts[text] == right]
        return chosen if right else chosen[:1]


def review(client, app, right: bool):
    card_id, token, options, _page = shown_card(client)
    values = answer_form(app, card_id, options, right)
    return card_id, token, client.post(f"{REVIEW}/{card_id}", data={"review_display": token, "answer": values})


def set_days(app, days: float) -> None:
    app.config["CLOCK_OFFSET_DAYS"] = days


def test_a_wrong_answer_makes_a_card_due_at_once(app, loaded_course, client, learner):
    fail_intro(client)
    made = cards(app, learner.id)
    assert len(made) == 1 and made[0].due <= utcnow() and made[0].reps == 0
    with app.app_context():
        assert _db.session.get(Question, made[0].question_id).key == "intro-q1"
    assert "1 review due" in client.get("/courses/mini-course").get_data(as_text=True)
    card_id, _token, options, page = shown_card(client)
    assert card_id == made[0].id and "What defines a large model?" in page
    assert sorted(text for _v, text in options) == ["Its colour", "Its name", "Its scale"]
    assert not re.search(r'value="[abc]"', page)  # no option key in the page
    _card, _token, again, _page = shown_card(client)
    assert {v for v, _t in again}.isdisjoint({v for v, _t in options})  # fresh values (and order) each time


def test_a_question_right_after_a_retry_keeps_its_one_card(app, loaded_course, client, learner):
    complete_lessons(client, "welcome", "models")
    assert submit_quiz(client, "intro-quiz", WRONG_ANSWERS["intro-quiz"]).status_code == 302
    assert len(cards(app, learner.id)) == 4
    assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    assert len(cards(app, learner.id)) == 4  # never duplicated
    with app.app_context():
        course_id = _db.session.scalar(select(Course.id).where(Course.key == "mini-course"))
        assert reviews.make_cards(learner.id, course_id) == 0


def test_a_right_answer_grows_the_interval_and_a_wrong_one_is_a_lapse(app, loaded_course, client, learner):
    fail_intro(client)
    card_id, _token, response = review(client, app, right=True)
    assert response.status_code == 302 and "answered=" in response.location
    result = client.get(response.location).get_data(as_text=True)
    assert "Correct" in result and "EXPLAIN-INTRO-Q1" in result
    assert 'href="/courses/mini-course/lessons/welcome"' in result  # back to the lesson
    (card,) = cards(app, learner.id)
    first = card.interval_days
    assert first >= 1 and card.reps == 1 and card.lapses == 0
    assert "review due" not in client.get("/courses/mini-course").get_data(as_text=True)
    assert "Nothing to review right now." in client.get(REVIEW).get_data(as_text=True)

    set_days(app, first + 0.5)  # the clock moves: due again
    assert "1 review due" in client.get("/courses/mini-course").get_data(as_text=True)
    assert review(client, app, right=True)[2].status_code == 302
    (card,) = cards(app, learner.id)
    assert card.interval_days > first and card.reps == 2

    set_days(app, first + card.interval_days + 1)
    assert review(client, app, right=False)[2].status_code == 302
    (card,) = cards(app, learner.id)
    assert card.lapses == 1 and card.reps == 3 and card.interval_days < first + 2
    with app.app_context():
        ratings = _db.session.scalars(select(ReviewLog.rating).order_by(ReviewLog.id)).all()
    assert ratings == [3, 3, 1]  # Good, Good, Again

    # The retention chart (a row a week) and its table.
    page = client.get(REVIEW).get_data(as_text=True)
    chart = page[page.index('<figure class="chart"') : page.index("</figure>")]
    assert chart.count('<g class="chart-row">') == 8 and chart.count("<title>") == 8  # a title per week
    table = re.findall(r'<tr><th scope="row">[^<]+</th><td>(\d+)</td><td>([^<]+)</td></tr>', page)
    # one review in each of the last three weeks (the clock moved days ahead between them): right, right, wrong
    assert table == [("0", "—")] * 5 + [("1", "100%"), ("1", "100%"), ("1", "0%")]


def test_reviews_never_change_quiz_scores_or_completion(app, loaded_course, client, learner):
    fail_intro(client)

    def snapshot():
        with app.app_context():
            return (
                _db.session.execute(select(Attempt.number, Attempt.score, Attempt.passed)).all(),
                _db.session.execute(select(AttemptAnswer.question_id, AttemptAnswer.correct)).all(),
                _db.session.execute(select(LearnerCourseStats.__table__)).all(),
                _db.session.scalar(select(func.count()).select_from(Completion)),
            )

    before = snapshot()
    assert review(client, app, right=False)[2].status_code == 302
    assert snapshot() == before


def test_a_card_or_review_of_someone_else_is_not_found(app, loaded_course, client, learner, make_user):
    fail_intro(client)
    card_id, token, response = review(client, app, right=True)
    log_id = int(response.location.split("answered=")[1].split("#")[0])
    other = new_client(app)
    do_login(other, make_user(email="other@example.com").email)
    assert other.post(f"{REVIEW}/{card_id}", data={"review_display": token, "answer": "x"}).status_code == 404
    assert other.get(f"{REVIEW}?answered={log_id}").status_code == 404
    assert client.get(f"{REVIEW}?answered=nonsense").status_code == 404


def test_a_form_sent_twice_counts_once(app, loaded_course, client, learner):
    fail_intro(client)
    card_id, token, options, _page = shown_card(client)
    data = {"review_display": token, "answer": answer_form(app, card_id, options, right=False)}
    first = client.post(f"{REVIEW}/{card_id}", data=data)
    second = client.post(f"{REVIEW}/{card_id}", data=data)
    assert first.status_code == second.status_code == 302 and first.location == second.location
    with app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(ReviewLog)) == 1
    (card,) = cards(app, learner.id)
    assert card.reps == 1


def test_bad_answers_are_refused_with_a_message(app, loaded_course, client, learner):
    fail_intro(client)
    card_id, token, _options, _page = shown_card(client)
    empty = client.post(f"{REVIEW}/{card_id}", data={"review_display": token})
    assert empty.status_code == 400 and "Please answer this question." in empty.get_data(as_text=True)
    forged = client.post(f"{REVIEW}/{card_id}", data={"review_display": token, "answer": "a"})
    assert forged.status_code == 400 and "does not exist" in forged.get_data(as_text=True)
    tampered = client.post(f"{REVIEW}/{card_id}", data={"review_display": token + "x", "answer": "a"})
    assert tampered.status_code == 400 and "please reload the review" in tampered.get_data(as_text=True)
    assert review(client, app, right=True)[2].status_code == 302
    # a new display of a card that is no longer due: refused, nothing written
    _card, fresh, _options, _page = shown_card_or_none(client, app, card_id)
    late = client.post(f"{REVIEW}/{card_id}", data={"review_display": fresh, "answer": "x"})
    assert late.status_code == 409 and "not due for review yet" in late.get_data(as_text=True)
    with app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(ReviewLog)) == 1


def shown_card_or_none(client, app, card_id: int):
    """A display token for `card_id` made as the page makes one (the page itself shows no card that is not due)."""
    from course.progress.review_display import new_display

    with client.session_transaction() as session:
        assert session.get("_user_id")
    with app.test_request_context():
        user_id = _db.session.scalar(select(ReviewCard.user_id).where(ReviewCard.id == card_id))
        return card_id, new_display(user_id, card_id).token, [], ""


def test_the_summary_counts_cards_mastered(app, loaded_course, client, learner):
    fail_intro(client, WRONG_ANSWERS["intro-quiz"])
    assert "0 of 4 cards mastered" in client.get("/courses/mini-course/summary").get_data(as_text=True)
    with app.app_context():
        first = _db.session.scalar(select(ReviewCard.id).order_by(ReviewCard.id))
        _db.session.execute(update(ReviewCard).where(ReviewCard.id == first).values(interval_days=30))
        _db.session.commit()
    assert "1 of 4 cards mastered" in client.get("/courses/mini-course/summary").get_data(as_text=True)


def test_the_quiz_statistics_count_learners_still_in_review(app, loaded_course, make_user):
    teacher = make_user(email="teacher@example.com", role="instructor")
    cohort = make_cohort(app, [teacher.id])
    ann, bob = add_learner(app, cohort, "Ann Wrong"), add_learner(app, cohort, "Bob Wrong")
    outsider = make_user(email="outsider@example.com")
    with app.app_context():
        course_id = _db.session.scalar(select(Course.id).where(Course.key == "mini-course"))
    for user_id in (ann, bob, outsider.id):
        attempt(app, user_id, "intro-quiz", {**ONLY_Q1_WRONG, "intro-q2": ["a"]}, utcnow())
        with app.app_context():
            reviews.make_cards(user_id, course_id)
            _db.session.commit()
    with app.app_context():  # Bob has mastered intro-q2
        q2 = _db.session.scalar(select(Question.id).where(Question.key == "intro-q2"))
        _db.session.execute(
            update(ReviewCard).where(ReviewCard.user_id == bob, ReviewCard.question_id == q2).values(interval_days=40)
        )
        _db.session.commit()
    client = new_client(app)
    assert do_login(client, teacher.email).status_code == 302
    page = client.get(f"/cohorts/{cohort}/dashboard/quizzes/intro-quiz").get_data(as_text=True)
    shown = re.findall(r"Still in review: (\d+) learner", page)
    assert shown == ["2", "1", "0", "0"]  # q1: Ann and Bob (not the outsider); q2: Ann; q3, q4: nobody


def test_deleting_an_account_deletes_its_review_cards_and_reviews(app, loaded_course, client, learner):
    fail_intro(client)
    assert review(client, app, right=False)[2].status_code == 302
    with app.app_context():
        user = _db.session.get(User, learner.id)
        delete_account(user, by=user)
        _db.session.commit()
        assert _db.session.scalar(select(func.count()).select_from(ReviewCard)) == 0
        assert _db.session.scalar(select(func.count()).select_from(ReviewLog)) == 0


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_review_page_speaks_the_learners_language(app, loaded_course, client, learner, language):
    fail_intro(client)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    page = client.get(REVIEW)
    assert page.status_code == 200
    assert f'lang="{"en" if language == "en" else "zh-Hans"}"' in page.get_data(as_text=True)


def test_no_card_shows_an_answer_the_quiz_still_withholds(app, loaded_course, client, learner):
    """training-quiz reveals its answers only once passed: a failed attempt makes no card (a review would show the
    right answer), the pass makes them. launch-quiz never reveals: its mistakes never make cards."""
    complete_lessons(client, "welcome", "models", "data", "tuning", "pricing", "growth")
    assert submit_quiz(client, "training-quiz", WRONG_ANSWERS["training-quiz"]).status_code == 302
    assert submit_quiz(client, "launch-quiz", WRONG_ANSWERS["launch-quiz"]).status_code == 302
    assert cards(app, learner.id) == []
    page = client.get("/courses/mini-course/review").get_data(as_text=True)
    assert "Nothing to review right now." in page and "review due" not in client.get("/courses/mini-course").get_data(
        as_text=True
    )
    assert submit_quiz(client, "training-quiz", RIGHT_ANSWERS["training-quiz"]).status_code == 302  # passed
    with app.app_context():
        training = set(
            _db.session.scalars(select(Question.id).where(Question.key.in_(WRONG_ANSWERS["training-quiz"].keys())))
        )
    assert {card.question_id for card in cards(app, learner.id)} == training
