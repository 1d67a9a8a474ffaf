"""Progress: roll-ups per chapter, module and course; the course completion, exactly once; page costs."""

from __future__ import annotations

import re

import pytest
from conftest import (
    CHAPTER_LESSONS,
    FIXTURE_COURSE,
    RIGHT_ANSWERS,
    complete_lessons,
    do_login,
    lesson_url,
    new_client,
    quiz_url,
    submit_quiz,
)
from sqlalchemy import event, func, select

from course.content.models import Course, Lesson
from course.extensions import db as _db
from course.progress import completion as progress
from course.progress.models import Completion, LessonProgress
from course.progress.outline import build_outline

OUTLINE = f"/courses/{FIXTURE_COURSE}"


def outline_of(app, user_id: int | None):
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        return build_outline(course, user_id)


def finish_everything(client) -> None:
    for lessons in CHAPTER_LESSONS.values():
        complete_lessons(client, *lessons)
    for quiz, answers in RIGHT_ANSWERS.items():
        assert submit_quiz(client, quiz, answers).status_code == 302


def test_progress_rolls_up_from_lessons_to_chapter_module_and_course(app, loaded_course, client, learner):
    outline = outline_of(app, learner.id)
    assert (outline.items_done, outline.items_total, outline.percent) == (0, 9, 0)
    assert not outline.started and outline.next_step()[1].key == "welcome"

    complete_lessons(client, "welcome")
    outline = outline_of(app, learner.id)
    intro, training, launch = outline.chapters
    assert (intro.items_done, intro.items_total, intro.percent) == (1, 3, 33)
    assert [m.percent for m in outline.modules] == [17, 0]  # 1 of 6, 0 of 3
    assert outline.percent == 11  # 1 of 9
    assert intro.lessons_done == 1 and not intro.completed
    assert [ls.lesson.key for ls in intro.lessons_left] == ["models"]
    assert intro.quiz is not None and not intro.quiz.open

    complete_lessons(client, "models")
    assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    outline = outline_of(app, learner.id)
    intro = outline.chapters[0]
    assert intro.completed and intro.percent == 100
    assert intro.quiz.passed and intro.quiz.attempts == 1 and intro.quiz.best_percent == 100
    assert [m.percent for m in outline.modules] == [50, 0]
    assert outline.percent == 33
    assert not outline.modules[0].completed

    page = client.get(OUTLINE).get_data(as_text=True)
    assert "3 of 9 items done" in page
    assert re.search(r'id="chapter-intro">Chapter 1 Introduction\s*<span class="chapter-status">✓ Done', page)
    assert 'aria-valuenow="33"' in page  # the course bar
    assert 'aria-valuenow="50"' in page  # the first module's bar


def test_one_learners_progress_is_not_anothers(app, loaded_course, client, learner, make_user):
    complete_lessons(client, "welcome", "models")
    other = make_user()
    assert outline_of(app, other.id).items_done == 0
    assert outline_of(app, learner.id).items_done == 2
    assert outline_of(app, None).items_done == 0


def test_reading_time_is_capped_per_visit(app, loaded_course, client, learner):
    client.get(lesson_url("welcome"))
    with app.app_context():
        row = _db.session.scalar(select(LessonProgress))
        row.last_viewed_at = row.last_viewed_at.replace(year=row.last_viewed_at.year - 1)
        _db.session.commit()
    complete_lessons(client, "welcome")
    with app.app_context():
        assert _db.session.scalar(select(LessonProgress.time_spent_seconds)) == app.config["LESSON_TIME_CAP_SECONDS"]


def test_the_course_is_completed_exactly_once(app, loaded_course, client, learner):
    finish_everything(client)
    with app.app_context():
        (completion,) = _db.session.scalars(select(Completion)).all()
        code = completion.verification_code
        assert completion.snapshot["name"] == "Ada Founder"
        assert [q["best_percent"] for q in completion.snapshot["quizzes"]] == [100, 100, 100]
    # Completing a lesson again, twice, and passing a quiz again change nothing.
    for _ in range(2):
        response = client.post(f"{lesson_url('growth')}/complete")
        assert response.status_code == 302
    assert submit_quiz(client, "launch-quiz", RIGHT_ANSWERS["launch-quiz"]).status_code == 302
    with app.app_context():
        rows = _db.session.scalars(select(Completion)).all()
        assert [c.verification_code for c in rows] == [code]


def test_the_service_issues_one_completion_however_often_it_is_called(app, loaded_course, client, learner):
    finish_everything(client)
    with app.test_request_context(method="POST"):  # POST: a request that writes (see course.sql)
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        first = progress.maybe_complete_course(learner.id, course)
        second = progress.maybe_complete_course(learner.id, course)
        _db.session.commit()
        assert first.id == second.id
        assert _db.session.scalar(select(func.count(Completion.id))) == 1


def test_no_completion_while_anything_is_left(app, loaded_course, client, learner):
    for lessons in CHAPTER_LESSONS.values():
        complete_lessons(client, *lessons)
    submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"])
    submit_quiz(client, "training-quiz", RIGHT_ANSWERS["training-quiz"])
    with app.app_context():
        assert _db.session.scalar(select(func.count(Completion.id))) == 0
    summary = client.get(f"{OUTLINE}/summary").get_data(as_text=True)
    assert "Your completion summary is ready when" in summary
    assert f'href="{quiz_url("launch-quiz")}">Continue: Chapter 3 quiz' in summary


def test_a_lesson_added_after_completion_does_not_take_the_completion_away(app, loaded_course, client, learner):
    finish_everything(client)
    new = loaded_course.root / FIXTURE_COURSE / "02-market/01-launch/03-retention.md"
    new.write_text("---\nid: retention\ntitle: 3.3 Retention\n---\n\nKeep your users.\n", encoding="utf-8")
    from conftest import load

    assert load(app, loaded_course.root).applied
    outline = outline_of(app, learner.id)
    assert outline.completion is not None
    assert outline.percent == 90  # 9 of 10 items
    assert client.get(f"{OUTLINE}/summary/print").status_code == 200


# -- what a page costs ------------------------------------------------------------------------------------
class QueryCounter:
    def __init__(self, app):
        with app.app_context():
            self.engine = _db.engine
        self.count = 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args):
        self.count += 1


def add_learners(app, n: int) -> None:
    """`n` other learners with progress on every lesson."""
    from course.accounts.models import User

    with app.app_context():
        lessons = _db.session.scalars(select(Lesson)).all()
        for i in range(n):
            user = User(email=f"bulk{i}@example.com", name=f"Bulk {i}", password_hash="x")
            _db.session.add(user)
            _db.session.flush()
            _db.session.add_all(
                LessonProgress(user_id=user.id, lesson_id=lesson.id, course_id=lesson.course_id) for lesson in lessons
            )
        _db.session.commit()


@pytest.mark.parametrize(
    "path",
    [
        "/courses",
        OUTLINE,
        lesson_url("welcome"),
        f"{OUTLINE}/summary",
        quiz_url("intro-quiz"),
    ],
)
def test_a_page_costs_the_same_number_of_queries_for_1_and_for_50_learners(app, loaded_course, client, learner, path):
    complete_lessons(client, "welcome", "models")
    client.get(path)  # warm up: first-visit writes, hasher, caches
    with QueryCounter(app) as few:
        assert client.get(path).status_code == 200
    add_learners(app, 50)
    with QueryCounter(app) as many:
        assert client.get(path).status_code == 200
    assert many.count == few.count


def test_the_outline_costs_the_same_whatever_the_learners_progress(app, loaded_course, client, learner):
    client.get(OUTLINE)  # warm up: the process's copy of the course's outline rows
    with QueryCounter(app) as fresh:
        client.get(OUTLINE)
    finish_everything(client)
    with QueryCounter(app) as done:
        client.get(OUTLINE)
    assert done.count == fresh.count


def test_another_learner_cannot_see_my_summary(app, loaded_course, client, learner, make_user):
    finish_everything(client)
    client.post(f"{OUTLINE}/workbook/wb-goal", data={"wb-wb-goal-answer": "secret plan"})
    other = make_user()
    stranger = new_client(app)
    do_login(stranger, other.email)
    page = stranger.get(f"{OUTLINE}/summary").get_data(as_text=True)
    assert "secret plan" not in page
    assert "You completed" not in page
    assert stranger.get(f"{OUTLINE}/summary/print").status_code == 404


def test_parallel_final_submits_issue_one_completion(app, loaded_course, client, learner):
    from test_quiz import in_parallel

    for lessons in CHAPTER_LESSONS.values():
        complete_lessons(client, *lessons)
    for quiz in ("intro-quiz", "training-quiz"):
        submit_quiz(client, quiz, RIGHT_ANSWERS[quiz])
    codes = in_parallel(app, learner, 4, lambda c, i: submit_quiz(c, "launch-quiz", RIGHT_ANSWERS["launch-quiz"]))
    assert codes == [302] * 4
    with app.app_context():
        assert _db.session.scalar(select(func.count(Completion.id))) == 1


def test_parallel_mark_complete_makes_one_row(app, loaded_course, client, learner):
    from test_quiz import in_parallel

    codes = in_parallel(app, learner, 4, lambda c, i: c.post(f"{lesson_url('welcome')}/complete"))
    assert codes == [302] * 4
    with app.app_context():
        assert _db.session.scalar(select(func.count(LessonProgress.id))) == 1
