"""Reading time per (learner, lesson): the time from a recorded view of a lesson to the learner's next action in
the course (a recorded view of a lesson, marking one complete, saving a workbook answer) is credited to the lesson
they were reading, capped per gap, and no interval is credited twice.

Time passes by moving the learner's progress timestamps into the past (`wait`), not by sleeping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import FIXTURE_COURSE, complete_lessons, lesson_url
from sqlalchemy import select
from test_page_costs import Statements
from test_quiz import in_parallel

from course.content.models import Course, Lesson
from course.extensions import db as _db
from course.progress import reading as progress
from course.progress.models import LessonProgress
from course.progress.outline import build_outline

SLACK = 3  # seconds: the requests themselves take some time


def wait(app, minutes: float) -> None:
    """Let `minutes` pass: every progress timestamp moves that far into the past."""
    delta = timedelta(minutes=minutes)
    with app.app_context():
        for row in _db.session.scalars(select(LessonProgress)):
            row.first_viewed_at -= delta
            row.last_viewed_at -= delta
            if row.completed_at is not None:
                row.completed_at -= delta
            if row.time_credited_until is not None:
                row.time_credited_until -= delta
        _db.session.commit()


def spent(app) -> dict[str, int]:
    """Seconds credited per lesson key."""
    with app.app_context():
        rows = _db.session.execute(
            select(Lesson.key, LessonProgress.time_spent_seconds).join(Lesson, Lesson.id == LessonProgress.lesson_id)
        )
        return {key: seconds for key, seconds in rows}


def about(seconds: int) -> object:
    return pytest.approx(seconds, abs=SLACK)


def save_answer(client, text: str):
    return client.post(f"/courses/{FIXTURE_COURSE}/workbook/wb-goal", data={"wb-wb-goal-answer": text})


def test_reading_a_lesson_then_opening_the_next_credits_the_first(app, loaded_course, client, learner):
    client.get(lesson_url("welcome"))
    wait(app, 5)
    client.get(lesson_url("models"))  # not marked complete: the five minutes count all the same
    assert spent(app) == {"welcome": about(300), "models": 0}


def test_a_long_gap_credits_at_most_the_cap(app, loaded_course, client, learner):
    client.get(lesson_url("welcome"))
    wait(app, 120)
    client.get(lesson_url("models"))
    assert spent(app) == {"welcome": app.config["LESSON_TIME_CAP_SECONDS"], "models": 0}


def test_marking_complete_credits_the_lesson_once(app, loaded_course, client, learner):
    client.get(lesson_url("welcome"))
    wait(app, 5)
    complete_lessons(client, "welcome")
    assert spent(app) == {"welcome": about(300)}
    client.get(lesson_url("models"))  # right after: the minutes before the click are not counted again
    assert spent(app) == {"welcome": about(300), "models": 0}


def test_reading_again_after_completion_accumulates(app, loaded_course, client, learner):
    client.get(lesson_url("welcome"))
    wait(app, 5)
    complete_lessons(client, "welcome")
    client.get(lesson_url("models"))
    wait(app, 3)
    client.get(lesson_url("welcome"))  # back to a completed lesson
    wait(app, 4)
    client.get(lesson_url("models"))
    assert spent(app) == {"welcome": about(300 + 240), "models": about(180)}
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        assert build_outline(course, learner.id).time_spent_seconds == about(720)


def test_a_reload_within_the_minute_neither_credits_nor_loses_time(app, loaded_course, client, learner):
    client.get(lesson_url("welcome"))
    wait(app, 0.5)
    client.get(lesson_url("welcome"))  # not recorded
    wait(app, 2)
    client.get(lesson_url("models"))
    assert spent(app) == {"welcome": about(150), "models": 0}


def test_a_workbook_save_credits_the_lesson_being_read(app, loaded_course, client, learner):
    client.get(lesson_url("welcome"))
    wait(app, 5)
    assert save_answer(client, "Ship a demo").status_code == 302
    assert spent(app) == {"welcome": about(300)}
    wait(app, 2)
    client.get(lesson_url("models"))
    assert spent(app) == {"welcome": about(420), "models": 0}


def test_repeated_requests_do_not_credit_an_interval_twice(app, loaded_course, client, learner):
    client.get(lesson_url("welcome"))
    wait(app, 5)
    for _ in range(2):
        complete_lessons(client, "welcome")
        assert save_answer(client, "Ship a demo").status_code == 302
        client.get(lesson_url("models"))
    assert spent(app) == {"welcome": about(300), "models": 0}


def test_parallel_double_submits_credit_once(app, loaded_course, client, learner):
    client.get(lesson_url("welcome"))
    wait(app, 5)
    codes = in_parallel(app, learner, 4, lambda c, i: c.post(f"{lesson_url('welcome')}/complete"))
    assert codes == [302] * 4
    assert spent(app) == {"welcome": about(300)}


def test_two_requests_that_read_the_same_row_credit_it_once(app, loaded_course, client, learner):
    """The UPDATE credits the row only as it was read: a request that read it before another credited it
    writes nothing."""
    client.get(lesson_url("welcome"))
    wait(app, 5)
    with app.test_request_context(method="POST"):  # POST: a request that writes (see course.sql)
        course_id = _db.session.scalar(select(Course.id))
        first = progress._lesson_being_read(learner.id, course_id)
        second = progress._lesson_being_read(learner.id, course_id)
        now = progress.utcnow()
        assert progress._credit(first, now) is True
        assert progress._credit(second, now + timedelta(seconds=1)) is False
        _db.session.commit()
    assert spent(app) == {"welcome": about(300)}


def test_a_recorded_view_writes_the_credit_with_the_view(app, loaded_course, client, learner):
    """Opening the lesson being read again: one UPDATE credits it and moves its last view (with the roll-up's row
    and the dashboard's counter); opening another lesson: one more UPDATE, for the lesson left."""
    client.get(lesson_url("welcome"))
    wait(app, 2)
    with Statements(app) as again:
        client.get(lesson_url("welcome"))
    wait(app, 2)
    with Statements(app) as other:
        client.get(lesson_url("models"))

    def progress_writes(seen: Statements) -> list[str]:
        return [t for t in seen.tables() if t.startswith(("INSERT", "UPDATE", "DELETE"))]

    # and the dashboard's counter of lesson activity, one upsert at the commit (course/progress/rollup.py)
    assert progress_writes(again) == ["UPDATE lesson_progress", "UPDATE learner_course_stats", "INSERT rollup_version"]
    assert progress_writes(other)[:2] == ["UPDATE lesson_progress", "INSERT lesson_progress"]
    assert spent(app) == {"welcome": about(240), "models": 0}


def test_completing_the_lesson_being_read_credits_and_completes_it_in_one_update(app, loaded_course, client, learner):
    """The usual click: the lesson read is the one marked complete — one UPDATE of its row does both. Marking
    another lesson complete credits the one being read, then completes the other."""
    client.get(lesson_url("welcome"))
    wait(app, 3)
    with Statements(app) as same:
        complete_lessons(client, "welcome")
    client.get(lesson_url("models"))
    wait(app, 2)
    with Statements(app) as other:
        complete_lessons(client, "data")  # never opened: created complete

    def progress_writes(seen: Statements) -> list[str]:
        return [t for t in seen.tables() if t in ("UPDATE lesson_progress", "INSERT lesson_progress")]

    assert progress_writes(same) == ["UPDATE lesson_progress"]
    assert progress_writes(other) == ["UPDATE lesson_progress", "UPDATE lesson_progress", "INSERT lesson_progress"]
    assert spent(app) == {"welcome": about(180), "models": about(120), "data": 0}
    with app.app_context():
        completed = _db.session.scalars(
            select(Lesson.key).join(LessonProgress).where(LessonProgress.completed_at.is_not(None))
        )
        assert set(completed) == {"welcome", "data"}
