"""The demo generator: learners simulated against the real outline, graded by the real grader, completions with
the snapshot the real service writes (so the verification page reads them like any other); attempts under their
real keys answering the questions their layouts serve (a quiz with `draw`), never inside a cool-down; the review
cards the app would make once a quiz's answers are revealed, with reviews scheduled by the real FSRS scheduler."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import do_login, load, new_client
from fsrs import Card, Rating
from sqlalchemy import func, select

from course import clock
from course.accounts.models import User
from course.cohorts.models import Cohort
from course.content.cache import quiz_with_questions
from course.content.models import Course, Question, Quiz
from course.dashboard.coursemap import load_course_map
from course.dashboard.quizstats import quiz_stats
from course.demo.generator import DEMO_PASSWORD, generate
from course.extensions import db as _db
from course.progress.completion import verification
from course.progress.models import Completion, LearnerCourseStats
from course.progress.review import MASTERED_DAYS, SCHEDULER, learners_in_review
from course.progress.review_models import ReviewCard, ReviewLog
from course.quiz.attempts import reveal_level
from course.quiz.grading import grade
from course.quiz.layout import attempt_key, layout
from course.quiz.models import Attempt


def test_demo_attempts_are_graded_by_the_grader_and_completions_verify(app, real_course, make_user):
    make_user(email="instructor@example.com", role="instructor")
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        result = generate(80, 1, None, 3, 0.95, "instructor@example.com", weeks_ago=16)
        _db.session.commit()
        assert result["learners"] == 80 and result["instructor"]

        course = _db.session.scalar(select(Course))
        quizzes = {q.id: quiz_with_questions(course, q) for q in _db.session.scalars(select(Quiz))}
        attempts = _db.session.scalars(select(Attempt)).all()
        assert len(attempts) > 100
        for attempt in attempts:
            quiz = quizzes[attempt.quiz_id]
            assert attempt.submission_key == attempt_key(attempt.user_id, quiz, attempt.number)
            served = layout(attempt.user_id, quiz, attempt.submission_key).questions
            graded = grade(quiz, {a.question_id: a.response for a in attempt.answers}, served)
            assert (attempt.score, attempt.max_score, attempt.percent) == (graded.score, graded.maximum, graded.percent)
            assert [a.correct for a in attempt.answers] == [a["correct"] for a in graded.answers]
            assert attempt.passed == (graded.percent >= quiz.pass_mark)

        for mine in attempts_by_learner_and_quiz().values():  # the course's cool-down: 10 minutes
            for before, after in itertools.pairwise(mine):
                assert after.submitted_at - before.submitted_at >= timedelta(minutes=10)
        assert _db.session.scalar(select(func.count()).select_from(ReviewCard)) > 0

        completions = _db.session.scalars(select(Completion)).all()
        assert completions, "some demo learners finish the course"
        for completion in completions:
            # the fields the real service freezes, which the verification page reads
            assert set(completion.snapshot) == {"name", "course", "course_titles", "quizzes"}
            best = dict(
                _db.session.execute(
                    select(Attempt.quiz_id, func.max(Attempt.percent))
                    .where(Attempt.user_id == completion.user_id)
                    .group_by(Attempt.quiz_id)
                ).all()
            )
            for frozen in completion.snapshot["quizzes"]:
                assert set(frozen) == {"key", "title", "titles", "best_percent", "attempts"}
                quiz = next(q for q in quizzes.values() if q.key == frozen["key"])
                assert frozen["titles"] == {"en": quiz.i18n["en"]["title"]}
                assert frozen["best_percent"] == round(best[quiz.id], 1)
            verified = verification(completion, course)  # the reader asks for English
            assert verified.name and verified.course == course.i18n["en"]["title"]
            english = {q.i18n["en"]["title"] for q in quizzes.values()}
            assert {title for title, _best in verified.quizzes} <= english
            assert len(verified.quizzes) == len(quizzes)
        # the dashboard's roll-up was computed for every learner with any activity
        assert _db.session.scalar(select(func.count()).select_from(LearnerCourseStats)) > 0


# -- a drawn quiz with a cool-down, and spaced review (issue #14) ------------------------------------------------
INTRO_QUIZ = Path("mini-course/01-basics/01-intro/quiz.yaml")
REVIEW_PAGE = "/courses/mini-course/review"


@pytest.fixture
def demo_cohort(app, content_dir, make_user) -> int:
    """The fixture course with its intro quiz drawing 2 of its 4 questions, 10 minutes apart, 3 attempts, under the
    course's default reveal policy (the training quiz reveals after a pass, the launch quiz never), and a demo
    cohort of 120 learners who started 8 weeks ago. Returns the cohort's id."""
    path = content_dir / INTRO_QUIZ
    path.write_text(
        path.read_text().replace("reveal: after_each_attempt\n", "draw: 2\nretry_after: 10m\nmax_attempts: 3\n")
    )
    result = load(app, content_dir)
    assert result.applied and not result.problems, result.problems
    make_user(email="instructor@example.com", role="instructor")
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        made = generate(120, 1, None, 5, 0.95, "instructor@example.com", weeks_ago=8)
        _db.session.commit()
    return made["cohorts"][0][0]


def quizzes_by_id() -> dict[int, Quiz]:
    course = _db.session.scalar(select(Course))
    return {q.id: quiz_with_questions(course, q) for q in _db.session.scalars(select(Quiz))}


def attempts_by_learner_and_quiz() -> dict[tuple[int, int], list[Attempt]]:
    found: dict[tuple[int, int], list[Attempt]] = {}
    for attempt in _db.session.scalars(select(Attempt).order_by(Attempt.user_id, Attempt.quiz_id, Attempt.number)):
        found.setdefault((attempt.user_id, attempt.quiz_id), []).append(attempt)
    return found


def test_demo_attempts_are_the_ones_the_quiz_page_serves(app, demo_cohort):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        quizzes = quizzes_by_id()
        intro = next(q for q in quizzes.values() if q.draw)
        served_sets, first_served = set(), {}
        for (user_id, quiz_id), mine in attempts_by_learner_and_quiz().items():
            quiz = quizzes[quiz_id]
            assert [a.number for a in mine] == list(range(1, len(mine) + 1))
            assert len(mine) <= (quiz.max_attempts or 5)
            for attempt in mine:
                assert attempt.submission_key == attempt_key(user_id, quiz, attempt.number)
                served = layout(user_id, quiz, attempt.submission_key).questions
                answers = sorted(attempt.answers, key=lambda a: a.position)
                assert [a.question_id for a in answers] == [q.id for q in served]
                graded = grade(quiz, {a.question_id: a.response for a in answers}, served)
                assert (attempt.score, attempt.max_score, attempt.percent) == (
                    graded.score,
                    graded.maximum,
                    graded.percent,
                )
                assert [a.correct for a in answers] == [a["correct"] for a in graded.answers]
                if quiz is intro:
                    served_sets.add(tuple(q.key for q in served))
                    if attempt.number == 1:
                        for question in served:
                            first_served[question.key] = first_served.get(question.key, 0) + 1
            if quiz.retry_after:  # never inside the cool-down
                for before, after in itertools.pairwise(mine):
                    assert after.submitted_at - before.submitted_at >= timedelta(seconds=quiz.retry_after)
        assert all(len(served) == 2 for served in served_sets) and len(served_sets) > 2
        # item statistics count each drawn question's own responses
        cohort = _db.session.get(Cohort, demo_cohort)
        stats = quiz_stats(cohort, load_course_map(cohort).quiz_by_key(intro.key))
        assert {q.key: q.responses for q in stats.questions} == first_served


def test_demo_review_cards_are_those_the_app_makes_scheduled_by_fsrs(app, demo_cohort):
    with app.app_context():
        quizzes = quizzes_by_id()
        expected: dict[tuple[int, int], datetime] = {}  # (learner, question) → when its card was made
        for (user_id, quiz_id), mine in attempts_by_learner_and_quiz().items():
            quiz = quizzes[quiz_id]
            left = None if quiz.max_attempts is None else quiz.max_attempts - len(mine)
            if reveal_level(quiz, any(a.passed for a in mine), left) != "full":
                continue  # answers not revealed: no card
            for attempt in mine:
                for answer in attempt.answers:
                    if not answer.correct:  # made when the last attempt revealed the answers
                        expected[(user_id, answer.question_id)] = mine[-1].submitted_at
        cards = _db.session.scalars(select(ReviewCard)).all()
        assert {(c.user_id, c.question_id): c.created_at for c in cards} == expected
        never = next(q for q in quizzes.values() if q.reveal == "never")
        assert not {c.question_id for c in cards} & {q.id for q in never.questions}

        logs: dict[int, list[ReviewLog]] = {}
        for log in _db.session.scalars(select(ReviewLog).order_by(ReviewLog.card_id, ReviewLog.id)):
            logs.setdefault(log.card_id, []).append(log)
        now = clock.now()
        for card in cards:
            state = Card.from_dict(card.state)
            assert state.to_dict() == card.state and state.due == card.due
            mine = logs.get(card.id, [])
            times = [log.reviewed_at for log in mine]
            assert times == sorted(times) and all(card.created_at <= t <= now for t in times)
            assert card.reps == len(mine) and card.lapses <= card.reps
            # the schedule `review.answer` makes from these reviews
            replayed = Card(card_id=card.question_id, due=card.created_at)
            for log in mine:
                assert log.user_id == card.user_id and log.question_id == card.question_id
                assert log.rating == int(Rating.Good if log.correct else Rating.Again)
                replayed, _log = SCHEDULER.review_card(replayed, Rating(log.rating), review_datetime=log.reviewed_at)
                assert log.interval_days == max(0, round((replayed.due - log.reviewed_at) / timedelta(days=1)))
            assert replayed.to_dict() == card.state
            if mine:
                assert (card.interval_days, card.last_reviewed_at) == (mine[-1].interval_days, mine[-1].reviewed_at)
            else:
                assert (card.interval_days, card.last_reviewed_at, card.due) == (0, None, card.created_at)
        reviewed = [card for card in cards if card.reps]
        assert len(reviewed) > len(cards) / 3 and any(card.reps >= 3 for card in cards)
        assert any(card.reps == 0 for card in cards)  # some learners never review
        assert any(card.interval_days >= MASTERED_DAYS for card in cards)


def test_a_demo_cohort_shows_in_review_and_its_learners_review(app, demo_cohort):
    with app.app_context():
        question_ids = list(_db.session.scalars(select(Question.id)))
        in_review = learners_in_review(demo_cohort, question_ids)
        assert sum(in_review.values()) > 0
        email = _db.session.scalar(
            select(User.email)
            .join(ReviewCard, ReviewCard.user_id == User.id)
            .where(ReviewCard.due <= clock.now(), ReviewCard.reps > 0)
            .order_by(User.id)
            .limit(1)
        )
    client = new_client(app)
    assert do_login(client, email, DEMO_PASSWORD).status_code == 302
    page = client.get(REVIEW_PAGE)
    assert page.status_code == 200
    assert re.search(r'action="/courses/mini-course/review/\d+"', page.get_data(as_text=True)), "a due card is shown"
