"""What recording progress costs: marking a lesson complete that already is reads and writes nothing (no write
lock on SQLite, no reading-time credit), and still leads where the first click did."""

from __future__ import annotations

from conftest import RIGHT_ANSWERS, complete_lessons, lesson_url, quiz_form, quiz_url, submit_quiz
from sqlalchemy import delete, func, select
from test_page_costs import Statements

from course.badges.models import BadgeCredential
from course.content.models import Lesson
from course.extensions import db as _db
from course.progress import reading
from course.progress.models import Completion, LessonProgress

WRITES = ("INSERT", "UPDATE", "DELETE")


def test_marking_a_completed_lesson_complete_again_writes_nothing(app, loaded_course, client, learner):
    client.get(lesson_url("welcome"))
    first = client.post(f"{lesson_url('welcome')}/complete")
    assert first.status_code == 302
    with Statements(app) as seen:
        again = client.post(f"{lesson_url('welcome')}/complete")
    assert again.status_code == 302 and again.location == first.location  # on to the next lesson, as before
    assert not [s for s in seen.tables() if s.startswith(WRITES)], seen.tables()
    assert "BEGIN IMMEDIATE" not in seen.sql  # SQLite: no write lock taken (PostgreSQL: reads in autocommit)


def test_a_first_completion_still_writes_in_its_own_block(app, loaded_course, client, learner):
    client.get(lesson_url("welcome"))
    with Statements(app) as seen:
        assert client.post(f"{lesson_url('welcome')}/complete").status_code == 302
    tables = seen.tables()
    assert "UPDATE lesson_progress" in tables
    with app.app_context():
        if _db.engine.dialect.name == "sqlite":
            assert seen.sql[0] == "BEGIN"  # the request reads first, without the write lock
            assert "BEGIN IMMEDIATE" in seen.sql  # and writes in a block that took it


def test_marking_complete_again_issues_a_completion_that_is_missing(app, loaded_course, client, learner):
    """Everything done but no completion row (e.g. content changed under it): a repeated click is not a no-op."""
    lessons = ["welcome", "models", "data", "tuning", "pricing", "growth"]
    quizzes = ["intro-quiz", "training-quiz", "launch-quiz"]
    with app.app_context():
        live = set(_db.session.scalars(select(Lesson.key).where(Lesson.archived_at.is_(None))))
    assert live == set(lessons), live
    complete_lessons(client, *lessons)
    for quiz in quizzes:
        assert submit_quiz(client, quiz, RIGHT_ANSWERS[quiz]).status_code == 302
    with app.app_context():
        assert _db.session.scalar(select(func.count(Completion.id))) == 1
        _db.session.execute(delete(BadgeCredential))  # the completion's Open Badge, which refers to it
        _db.session.execute(delete(Completion))
        _db.session.commit()
    assert client.post(f"{lesson_url('welcome')}/complete").status_code == 302
    with app.app_context():
        assert _db.session.scalar(select(func.count(Completion.id))) == 1


def test_completing_a_viewed_lesson_is_one_update_of_its_row(app, loaded_course, client, learner):
    client.get(lesson_url("welcome"))
    with Statements(app) as seen:
        assert client.post(f"{lesson_url('welcome')}/complete").status_code == 302
    tables = seen.tables()
    assert "INSERT lesson_progress" not in tables  # the row is there: no INSERT … ON CONFLICT DO NOTHING first
    # the roll-up follows the completion (its row's lesson columns: tests/test_write_costs.py)
    assert any(sql.startswith("UPDATE learner_course_stats SET lessons_done") for sql in seen.sql)


def test_completing_a_lesson_never_opened_creates_its_row_complete(app, loaded_course, client, learner):
    assert client.post(f"{lesson_url('models')}/complete").status_code == 302
    with app.app_context():
        row = _db.session.execute(
            select(LessonProgress.completed_at, LessonProgress.first_viewed_at)
            .join(Lesson, Lesson.id == LessonProgress.lesson_id)
            .where(Lesson.key == "models")
        ).one()
    assert row.completed_at is not None and row.first_viewed_at is not None
    assert "✓" in client.get(f"/courses/{loaded_course.key}").get_data(as_text=True)


def test_the_service_refreshes_nothing_for_a_lesson_complete_already(app, loaded_course, learner):
    with app.test_request_context(method="POST"):  # POST: a request that writes (see course.sql)
        lesson = _db.session.scalar(select(Lesson).where(Lesson.key == "welcome"))
        assert reading.mark_complete(learner.id, lesson).newly is True
        _db.session.commit()
        with Statements(app) as seen:
            assert reading.mark_complete(learner.id, lesson).newly is False
        _db.session.commit()
    assert not [t for t in seen.tables() if "learner_c" in t], seen.tables()  # no roll-up statement


def test_a_submission_reads_the_learners_attempts_once_under_the_lock(app, loaded_course, client, learner):
    """The twin check (the same key recorded already) and the attempt count are one statement (on PostgreSQL, the one
    that writes the attempt too)."""
    complete_lessons(client, "welcome", "models")
    form = quiz_form(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"])
    with Statements(app) as seen:
        assert client.post(quiz_url("intro-quiz"), data=form).status_code == 302
    tables = seen.tables()
    insert = tables.index("INSERT quiz_attempt")
    locked = [i for i, s in enumerate(seen.sql) if s.startswith(("BEGIN IMMEDIATE", "SELECT user_account.id FROM"))]
    start = max(i for i in locked if i < insert) if locked else 0
    counted_by_the_insert = "count(a.id)" in seen.sql[insert]
    reads = tables[start:insert].count("SELECT quiz_attempt") + counted_by_the_insert
    assert reads == 1, tables[start : insert + 1]
    again = client.post(quiz_url("intro-quiz"), data=form)  # the same form again: its result, not a new attempt
    assert again.status_code == 302 and again.location.endswith("/attempts/1")


# -- the pages that link every lesson ---------------------------------------------------------------------------
def test_item_link_prefixes_build_what_url_for_builds(app, loaded_course, learner):
    from flask import url_for

    from course.content.models import Course, Quiz
    from course.learn.links import item_links

    with app.test_request_context("/", base_url="http://localhost/prefix"):  # under a script root, too
        course = _db.session.scalar(select(Course))
        links = item_links(course)
        for lesson in _db.session.scalars(select(Lesson)):
            assert links.lesson + lesson.key == url_for("learn.lesson", course_key=course.key, lesson_key=lesson.key)
        for quiz in _db.session.scalars(select(Quiz)):
            assert links.quiz + quiz.key == url_for("quiz.quiz", course_key=course.key, quiz_key=quiz.key)
        assert links.lesson.startswith("/prefix/courses/")


def test_the_outline_and_a_lesson_link_every_lesson_by_its_url(app, loaded_course, client, learner):
    outline = client.get(f"/courses/{loaded_course.key}").get_data(as_text=True)
    for key in ("welcome", "models", "data", "tuning", "pricing", "growth"):
        assert f'href="{lesson_url(key)}"' in outline
    assert f'href="{quiz_url("intro-quiz")}"' in outline
    lesson = client.get(lesson_url("models")).get_data(as_text=True)
    assert f'href="{lesson_url("welcome")}"' in lesson and f'href="{quiz_url("intro-quiz")}"' in lesson
