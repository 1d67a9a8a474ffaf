"""The dashboard's per-learner roll-up (course/progress/rollup.py) always equals a recomputation from the raw
progress and attempt rows: after a random sequence of lesson views, completions, quiz attempts (passed and
failed), cohort moves and content reloads that archive, move and restore lessons and a quiz. Runs on the
engine the suite runs on (SQLite, or PostgreSQL with TEST_DATABASE_URL); on PostgreSQL, also with one
learner's requests sent at once to two real servers.

The recomputation here is written in Python over the ORM rows and the dashboard's course map, independently of
the SQL that maintains the roll-up."""

from __future__ import annotations

import contextlib
import random
import shutil
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import FIXTURE_CONTENT, FIXTURE_COURSE, RIGHT_ANSWERS, WRONG_ANSWERS, lesson_url, load, service_key
from dashboard_factories import add_learner, make_cohort
from flask import Flask
from servers import Response
from sqlalchemy import select
from test_concurrency import at_once, make_learners, pg_site  # noqa: F401 - pg_site: two servers on PostgreSQL
from test_concurrency import submit as submit_form
from werkzeug.datastructures import MultiDict

from course.cohorts.enrolment import move
from course.cohorts.models import Cohort, Enrolment
from course.content.models import Lesson, Quiz
from course.dashboard.coursemap import load_course_map
from course.extensions import db as _db
from course.progress import rollup
from course.progress.models import LearnerChapterDone, LearnerCourseStats, LessonProgress
from course.progress.reading import mark_complete, record_view
from course.quiz.attempts import SubmissionError
from course.quiz.attempts import record as submit
from course.quiz.grading import read_submission
from course.quiz.models import Attempt

LAUNCH = "02-market/01-launch"
TRAINING = "01-basics/02-training"


def write_content(root: Path, archive_growth: bool, move_data: bool, archive_quiz: bool) -> Path:
    """A copy of the fixture course with some outline changes: the lesson `growth` removed, the lesson `data`
    moved to the last chapter, the last chapter's quiz removed."""
    shutil.copytree(FIXTURE_CONTENT, root)
    course = root / FIXTURE_COURSE
    if archive_growth:
        (course / LAUNCH / "02-growth.md").unlink()
        quiz = course / LAUNCH / "quiz.yaml"
        quiz.write_text(quiz.read_text(encoding="utf-8").replace("    lesson: growth\n", ""), encoding="utf-8")
    if move_data:
        (course / TRAINING / "01-data.md").rename(course / LAUNCH / "03-data.md")
    if archive_quiz:
        (course / LAUNCH / "quiz.yaml").unlink()
    return root


def recomputed(cohort_id: int) -> tuple[dict[int, dict], set[tuple[int, int]]]:
    """The roll-up of the cohort's course, from the raw rows: per learner, and the complete chapters."""
    cm = load_course_map(_db.session.get(Cohort, cohort_id))
    position = {lesson.id: lesson.index for lesson in cm.lessons}
    quizzes = {quiz.id for quiz in cm.quizzes}
    progress = _db.session.scalars(select(LessonProgress).where(LessonProgress.course_id == cm.course_id)).all()
    attempts = _db.session.scalars(
        select(Attempt).join(Quiz, Quiz.id == Attempt.quiz_id).where(Quiz.course_id == cm.course_id)
    ).all()
    stats, chapters = {}, set()
    for user in {p.user_id for p in progress} | {a.user_id for a in attempts}:
        mine = [p for p in progress if p.user_id == user]
        done = {p.lesson_id for p in mine if p.completed_at is not None and p.lesson_id in position}
        tries = defaultdict(list)
        for a in attempts:
            if a.user_id == user and a.quiz_id in quizzes:
                tries[a.quiz_id].append(a)
        passed = {quiz for quiz, rows in tries.items() if any(r.passed for r in rows)}
        stats[user] = {
            "lessons_done": len(done),
            "quizzes_passed": len(passed),
            "quizzes_failing": sum(
                1 for quiz, rows in tries.items() if quiz not in passed and max(r.number for r in rows) >= 2
            ),
            "best_count": len(tries),
            "best_sum": pytest.approx(sum(max(r.percent for r in rows) for rows in tries.values())),
            "furthest_lesson": max((position[p.lesson_id] for p in mine if p.lesson_id in position), default=None),
            "last_viewed_at": max((p.last_viewed_at for p in mine), default=None),
            "last_attempt_at": max((r.submitted_at for rows in tries.values() for r in rows), default=None),
        }
        for chapter in cm.chapters:
            quiz_done = chapter.quiz is None or chapter.quiz.id in passed
            if chapter.items_total and set(chapter.lesson_ids) <= done and quiz_done:
                chapters.add((user, chapter.id))
    return stats, chapters


def stored(course_id: int) -> tuple[dict[int, dict], set[tuple[int, int]]]:
    columns = (
        "lessons_done",
        "quizzes_passed",
        "quizzes_failing",
        "best_count",
        "best_sum",
        "furthest_lesson",
        "last_viewed_at",
        "last_attempt_at",
    )
    rows = _db.session.scalars(select(LearnerCourseStats).where(LearnerCourseStats.course_id == course_id))
    stats = {r.user_id: {c: getattr(r, c) for c in columns} for r in rows}
    done = _db.session.execute(
        select(LearnerChapterDone.user_id, LearnerChapterDone.chapter_id).where(
            LearnerChapterDone.course_id == course_id
        )
    ).all()
    return stats, {tuple(r) for r in done}


def assert_rollup_is_recomputed(app: Flask, cohort_id: int, where: str) -> None:
    with app.app_context():
        course_id = _db.session.get(Cohort, cohort_id).course_id
        expected, found = recomputed(cohort_id), stored(course_id)
    assert found[0] == expected[0], where
    assert found[1] == expected[1], where


@pytest.mark.parametrize("seed", [1, 2])
def test_the_rollup_equals_a_recomputation_after_random_operations(app, loaded_course, tmp_path, seed):
    rng = random.Random(seed)
    cohorts = [make_cohort(app, name="Spring"), make_cohort(app, name="Autumn")]
    learners = [add_learner(app, cohorts[0], f"Learner {i}") for i in range(5)]
    outline = {"archive_growth": False, "move_data": False, "archive_quiz": False}
    operations = ["view", "view", "view", "complete", "complete", "attempt", "attempt", "move", "reload"]
    for step in range(90):
        operation, user = rng.choice(operations), rng.choice(learners)
        with app.test_request_context(method="POST"):  # POST: a request that writes (see course.sql)
            lessons = list(_db.session.scalars(select(Lesson).where(Lesson.archived_at.is_(None))))
            quizzes = list(_db.session.scalars(select(Quiz).where(Quiz.archived_at.is_(None))))
            if operation == "view":
                record_view(user, rng.choice(lessons))
            elif operation == "complete":
                mark_complete(user, rng.choice(lessons))
            elif operation == "attempt" and quizzes:
                quiz = rng.choice(quizzes)
                answers = (RIGHT_ANSWERS if rng.random() < 0.4 else WRONG_ANSWERS)[quiz.key]
                form = MultiDict(
                    [
                        (k, v)
                        for k, values in answers.items()
                        for v in (values if isinstance(values, list) else [values])
                    ]
                )
                with contextlib.suppress(SubmissionError):  # no attempts left: nothing recorded
                    submit(user, quiz, read_submission(quiz, form), service_key(user, quiz))
            elif operation == "move":
                enrolment = _db.session.scalar(select(Enrolment).where(Enrolment.user_id == user))
                move(enrolment, _db.session.get(Cohort, next(c for c in cohorts if c != enrolment.cohort_id)))
            _db.session.commit()
        if operation == "reload":
            key = rng.choice(list(outline))
            outline[key] = not outline[key]
            result = load(app, write_content(tmp_path / f"content-{step}", **outline))
            assert result.applied and not result.problems, result.problems
        assert_rollup_is_recomputed(app, cohorts[0], f"step {step}: {operation} {outline}")

    # a course-wide refresh (what a content load does) leaves the maintained roll-up as it was
    with app.app_context():
        before = stored(_db.session.get(Cohort, cohorts[0]).course_id)
        rollup.refresh_course(_db.session.get(Cohort, cohorts[0]).course_id)
        _db.session.commit()
        assert stored(_db.session.get(Cohort, cohorts[0]).course_id) == before


def test_parallel_requests_of_the_same_learners_keep_the_rollup_whole(pg_site):  # noqa: F811
    """PostgreSQL, real servers: two tabs of each learner open, complete and submit at once. No request fails
    (one learner's refreshes queue on their user row instead of deadlocking with the quiz submission's lock or
    the progress rows' foreign-key locks), and the roll-up equals a fresh recomputation afterwards."""
    learners = [learner for round_ in range(3) for learner in make_learners(pg_site, f"rollup{round_}-", 3)]
    calls = []
    for learner in learners:
        for server in (0, 1):
            calls += [
                lambda lr=learner, s=server: lr.browser.get(lesson_url("welcome"), server=s),
                lambda lr=learner, s=server: lr.browser.get(lesson_url("data"), server=s),
                lambda lr=learner, s=server: lr.browser.post(f"{lesson_url('welcome')}/complete", server=s),
                lambda lr=learner, s=server: lr.browser.post(f"{lesson_url('models')}/complete", server=s),
                lambda lr=learner, s=server: submit_form(
                    lr, "intro-quiz", RIGHT_ANSWERS["intro-quiz"], uuid.uuid4().hex, s
                ),
                lambda lr=learner, s=server: submit_form(
                    lr, "intro-quiz", WRONG_ANSWERS["intro-quiz"], uuid.uuid4().hex, s
                ),
            ]
    outcomes = at_once(calls)
    # 403: the quiz opens once the chapter's lessons are complete; 409: no attempts left
    assert all(isinstance(o, Response) and o.status in (200, 302, 403, 409) for o in outcomes), [
        o for o in outcomes if not (isinstance(o, Response) and o.status in (200, 302, 403, 409))
    ]
    with pg_site.app.app_context():
        course_id = _db.session.scalar(select(Lesson.course_id).where(Lesson.key == "welcome"))
        maintained = stored(course_id)
        rollup.refresh_course(course_id)
        assert stored(course_id) == maintained
        _db.session.rollback()
