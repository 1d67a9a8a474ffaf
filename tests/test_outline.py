"""One definition of a course's outline (`course.content.outline`): what is live and in which order. Everything
else that lists or counts the outline derives from it, and the SQL that restates it (the progress roll-up's
`lessons` and `quizzes`) is checked against it here, also with ties in positions and archived items."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from course.clock import today
from course.cohorts.schedule import default_schedule, schedule_rows
from course.cohorts.services import CohortSettings, create_cohort
from course.content.models import Chapter, Course, Lesson, Module, Quiz
from course.content.outline import course_outline
from course.dashboard.coursemap import load_course_map
from course.db_types import utcnow
from course.extensions import db as _db
from course.progress.outline import build_outline, percent
from course.progress.rollup import CHAPTERS, OUTLINE


def sql_outline(course_id: int) -> tuple[list[tuple[int, int, int]], set[tuple[int, int]], dict[int, int]]:
    """What the roll-up's SQL takes the outline to be: (lesson, chapter, position) in order, (quiz, chapter),
    and each chapter's number of items."""
    lessons = _db.session.execute(
        text(f"WITH{OUTLINE} SELECT lesson_id, chapter_id, pos FROM lessons ORDER BY pos"), {"course_id": course_id}
    ).all()
    quizzes = _db.session.execute(
        text(f"WITH{OUTLINE} SELECT quiz_id, chapter_id FROM quizzes"), {"course_id": course_id}
    ).all()
    chapters_cte = CHAPTERS.split("items AS (")[0].rstrip().rstrip(",")  # WITH outline, chapters
    items = _db.session.execute(
        text(chapters_cte.format(outline=OUTLINE) + " SELECT chapter_id, items FROM chapters"),
        {"course_id": course_id},
    ).all()
    return [tuple(r) for r in lessons], {tuple(r) for r in quizzes}, dict(items)  # type: ignore[misc]


def assert_sql_agrees(course: Course) -> None:
    outline = course_outline(course)
    lessons, quizzes, items = sql_outline(course.id)
    assert lessons == [(lesson.id, lesson.chapter_id, i) for i, lesson in enumerate(outline.lessons)]
    assert quizzes == {(quiz.id, quiz.chapter_id) for quiz in outline.quizzes}
    assert items == {c.chapter.id: c.items_total for c in outline.chapters if c.items_total}


def the_course() -> Course:
    return _db.session.scalar(select(Course))


def test_the_roll_ups_sql_orders_and_counts_as_the_outline(app, loaded_course):
    with app.test_request_context(method="POST"):
        course = the_course()
        assert_sql_agrees(course)
        outline = course_outline(course)
        assert [c.chapter.key for c in outline.chapters] == ["intro", "training", "launch"]
        assert [lesson.key for lesson in outline.lessons] == [
            "welcome",
            "models",
            "data",
            "tuning",
            "pricing",
            "growth",
        ]


def test_they_agree_with_ties_in_positions_and_archived_items(app, loaded_course):
    """Positions tie (two modules at 1, two lessons at 1): ids break the ties, the same way in both."""
    with app.test_request_context(method="POST"):
        course = the_course()
        for module in _db.session.scalars(select(Module)):
            module.position = 1
        for lesson in _db.session.scalars(select(Lesson).where(Lesson.key.in_(["data", "tuning"]))):
            lesson.position = 1
        _db.session.scalar(select(Lesson).where(Lesson.key == "pricing")).archived_at = utcnow()
        _db.session.scalar(select(Quiz).where(Quiz.key == "training-quiz")).archived_at = utcnow()
        _db.session.flush()  # the ORM change clears the process's cached outline
        assert_sql_agrees(course)
        # a whole module archived takes its chapters, lessons and quizzes with it
        _db.session.scalar(select(Module).order_by(Module.id.desc())).archived_at = utcnow()
        _db.session.flush()
        assert_sql_agrees(course)
        assert "launch" not in [c.chapter.key for c in course_outline(course).chapters]


def test_what_derives_from_the_outline_lists_and_counts_as_it_does(app, loaded_course, make_user):
    learner = make_user()
    with app.test_request_context(method="POST"):
        course = the_course()
        _db.session.scalar(select(Chapter).where(Chapter.key == "training")).archived_at = utcnow()
        _db.session.flush()
        outline = course_outline(course)
        start = today() - timedelta(weeks=1)
        cohort = create_cohort(course, CohortSettings("A", start, start + timedelta(weeks=8)), [])
        # a cohort's schedule: the outline's chapters, in its order, one a week
        assert [row.chapter.id for row in schedule_rows(cohort)] == [c.chapter.id for c in outline.chapters]
        assert list(default_schedule(course, start)) == [c.chapter.id for c in outline.chapters]
        # the dashboard's course map: the same lessons, numbered in course order, the same items to count
        course_map = load_course_map(cohort)
        assert [(lesson.id, lesson.index) for lesson in course_map.lessons] == [
            (lesson.id, outline.lesson_index[lesson.id]) for lesson in outline.lessons
        ]
        assert [quiz.id for quiz in course_map.quizzes] == [quiz.id for quiz in outline.quizzes]
        assert course_map.items_total == outline.items_total
        # the learner's outline: the same items, counted with the same rule
        learner_outline = build_outline(course, learner.id)
        assert learner_outline.items_total == outline.items_total
        assert [ls.lesson.id for ls in learner_outline.lessons] == [lesson.id for lesson in outline.lessons]


@pytest.mark.parametrize(
    ("done", "total", "expected"), [(0, 0, 0), (0, 8, 0), (1, 8, 12), (4, 8, 50), (8, 8, 100), (9, 8, 100)]
)
def test_progress_is_a_whole_percentage_never_above_100(done, total, expected):
    assert percent(done, total) == expected
