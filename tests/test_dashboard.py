"""The instructor dashboard: numbers on a hand-built cohort, the grid, the at-risk list, quiz statistics, one
learner, CSV exports, and who may see any of it."""

from __future__ import annotations

import csv
import io
import re
import statistics
from dataclasses import dataclass
from datetime import timedelta

import pytest
from conftest import RIGHT_ANSWERS, WRONG_ANSWERS, do_login, new_client
from dashboard_factories import (
    LESSONS,
    add_learner,
    attempt,
    bulk_cohort,
    complete_course,
    make_cohort,
    view,
    workbook,
)
from sqlalchemy import select

from course.cohorts.models import Cohort
from course.content.models import Quiz
from course.dashboard import lists, overview
from course.dashboard.coursemap import id_ranges, load_course_map
from course.dashboard.learners import school_midnight
from course.dashboard.quizstats import pearson
from course.db_types import utcnow
from course.extensions import db as _db
from course.progress import rollup


@pytest.fixture
def instructor(make_user):
    return make_user(email="teacher@example.com", role="instructor", name="Teacher")


@pytest.fixture
def staff(app, instructor):
    client = new_client(app)
    assert do_login(client, instructor.email).status_code == 302
    return client


@dataclass
class Story:
    cohort_id: int
    ids: dict[str, int]


@pytest.fixture
def story(app, loaded_course, instructor) -> Story:
    """Six learners with known numbers. Chapters open 20 (intro), 10 (training) and 3 (launch) days ago, so
    intro and training are due (opened more than 7 days ago), launch is not."""
    now = utcnow()
    today = now.date()
    cohort_id = make_cohort(
        app,
        [instructor.id],
        name="Story cohort",
        opens={
            "intro": today - timedelta(days=20),
            "training": today - timedelta(days=10),
            "launch": today - timedelta(days=3),
        },
    )
    ago = lambda **kw: now - timedelta(**kw)  # noqa: E731
    ids = {name: add_learner(app, cohort_id, name, enrolled_at=ago(days=25)) for name in ("Ada", "Bob", "Cy", "Eve")}
    ids["Di"] = add_learner(app, cohort_id, "Di", enrolled_at=ago(days=40))
    ids["Fay"] = add_learner(app, cohort_id, "Fay", enrolled_at=ago(days=25), extension_days=5)

    # Ada: everything, completed the course; last seen a day ago
    for n, lesson in enumerate(LESSONS):
        view(app, ids["Ada"], lesson, ago(days=12 - n))
    for quiz in ("intro-quiz", "training-quiz", "launch-quiz"):
        attempt(app, ids["Ada"], quiz, RIGHT_ANSWERS[quiz], ago(days=5))
    _touch(app, ids["Ada"], "growth", ago(days=1, hours=1))
    complete_course(app, ids["Ada"], ago(days=1, hours=1))
    workbook(app, ids["Ada"], "We will start in Singapore.")
    # Bob: chapter 1 done and passed; opened the first training lesson two days ago
    view(app, ids["Bob"], "welcome", ago(days=15))
    view(app, ids["Bob"], "models", ago(days=15))
    attempt(app, ids["Bob"], "intro-quiz", RIGHT_ANSWERS["intro-quiz"], ago(days=14))
    view(app, ids["Bob"], "data", ago(days=2), completed=False)
    # Cy: one lesson, twenty days ago
    view(app, ids["Cy"], "welcome", ago(days=20))
    # Di: never started
    # Eve: chapter 1 lessons, failed its quiz twice (25 %, then 50 %)
    view(app, ids["Eve"], "welcome", ago(days=12))
    view(app, ids["Eve"], "models", ago(days=12))
    attempt(app, ids["Eve"], "intro-quiz", {**WRONG_ANSWERS["intro-quiz"], "intro-q1": "a"}, ago(days=2))
    attempt(
        app,
        ids["Eve"],
        "intro-quiz",
        {**WRONG_ANSWERS["intro-quiz"], "intro-q1": "a", "intro-q3": "false"},
        ago(days=1),
    )
    # Fay: chapter 1 done and passed; has a 5-day extension, so training is not due for her yet
    view(app, ids["Fay"], "welcome", ago(days=9))
    view(app, ids["Fay"], "models", ago(days=9))
    attempt(app, ids["Fay"], "intro-quiz", RIGHT_ANSWERS["intro-quiz"], ago(days=8))
    _touch(app, ids["Fay"], "models", ago(hours=12))
    return Story(cohort_id, ids)


def _touch(app, user_id, lesson, at) -> None:
    """Move a progress row's last view to `at` (the learner opened the lesson again)."""
    from sqlalchemy import update

    from course.content.models import Lesson
    from course.progress.models import LessonProgress

    with app.app_context():
        lesson_id = _db.session.scalar(select(Lesson.id).where(Lesson.key == lesson))
        _db.session.execute(
            update(LessonProgress)
            .where(LessonProgress.user_id == user_id, LessonProgress.lesson_id == lesson_id)
            .values(last_viewed_at=at)
        )
        rollup.refresh_learner(user_id, _db.session.scalar(select(Lesson.course_id).where(Lesson.id == lesson_id)))
        _db.session.commit()


def _with_cohort(app, cohort_id, fn):
    with app.test_request_context(method="POST"):  # POST: a request that writes (see course.sql)
        cohort = _db.session.get(Cohort, cohort_id)
        cm = load_course_map(cohort)
        return fn(cohort, cm, utcnow())


def names_in(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/cohorts/\d+/learners/\d+">([^<]+)</a>', html)


# -- the numbers --------------------------------------------------------------------------------------------
def test_overview_numbers_on_a_known_cohort(app, story):
    numbers = _with_cohort(app, story.cohort_id, overview.overview)
    assert numbers.enrolled == 6
    assert numbers.started == 5  # everyone but Di
    assert numbers.completed == 1 and numbers.completion_rate == pytest.approx(1 / 6)
    assert numbers.active == 4  # Ada, Bob, Eve (a quiz yesterday), Fay
    # on schedule: every released chapter finished but perhaps the newest: Ada, and Fay thanks to her extension
    assert numbers.on_schedule == 2 and numbers.behind == 4
    assert numbers.at_risk == 3  # Bob is one chapter behind, active: not at risk
    # progress = (lessons done + quizzes passed) / 9: Di 0, Cy 1, Eve 2, Bob 3, Fay 3, Ada 9 → median 2.5 / 9
    assert numbers.median_percent == pytest.approx(100 * 2.5 / 9)
    assert dict(numbers.histogram) == {0: 1, 10: 1, 20: 1, 30: 2, 40: 0, 50: 0, 60: 0, 70: 0, 80: 0, 90: 0, 100: 1}
    # best score per quiz, averaged per learner: Ada 100, Bob 100, Eve 50, Fay 100
    assert numbers.average_best == pytest.approx(87.5) and numbers.quiz_takers == 4
    assert [(s.lesson.key, s.reached, s.stopped) for s in numbers.funnel] == [
        ("welcome", 5, 1),
        ("models", 4, 2),
        ("data", 2, 1),
        ("tuning", 1, 0),
        ("pricing", 1, 0),
        ("growth", 1, 1),
    ]
    assert [c.key for c in numbers.released_chapters] == ["intro", "training", "launch"]  # released so far
    # most reasons first, then the longest idle (Di: since the cohort's start, 30 days ago)
    assert [r.name for r in numbers.top_at_risk] == ["Di", "Cy", "Eve"]


def test_overview_page_shows_the_numbers_and_the_definitions(app, story, staff):
    response = staff.get(f"/cohorts/{story.cohort_id}/dashboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Active in the last 7 days" in html and "On schedule" in html
    assert "except perhaps the newest one" in html  # the definition of the schedule number
    assert "No activity (no lesson opened, no quiz submitted) for 7 days" in html  # the at-risk rule
    assert "<svg" in html and 'role="img"' in html and "<caption>" in html  # a chart with its data table
    assert "style=" not in html and "<script>" not in html


def test_an_empty_cohort_has_an_overview(app, loaded_course, instructor, staff):
    cohort_id = make_cohort(app, [instructor.id], name="Empty")
    numbers = _with_cohort(app, cohort_id, overview.overview)
    assert (numbers.enrolled, numbers.median_percent, numbers.average_best, numbers.top_at_risk) == (0, None, None, [])
    assert staff.get(f"/cohorts/{cohort_id}/dashboard").status_code == 200
    for path in (
        "dashboard/learners",
        "dashboard/at-risk",
        "dashboard/quizzes",
        "dashboard/quizzes/intro-quiz",
        "export/grid.csv",
        "export/at-risk.csv",
        "export/quizzes/intro-quiz.csv",
    ):
        assert staff.get(f"/cohorts/{cohort_id}/{path}").status_code == 200, path


# -- the grid -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ["Ada", "Bob", "Cy", "Di", "Eve", "Fay"]),
        ("?sort=name&dir=desc", ["Fay", "Eve", "Di", "Cy", "Bob", "Ada"]),
        ("?sort=progress&dir=desc", ["Ada", "Bob", "Fay", "Eve", "Cy", "Di"]),
        ("?sort=progress", ["Di", "Cy", "Eve", "Bob", "Fay", "Ada"]),
        ("?sort=last_active&dir=desc", ["Fay", "Eve", "Ada", "Bob", "Cy", "Di"]),
        ("?sort=last_active", ["Di", "Cy", "Bob", "Ada", "Eve", "Fay"]),
        ("?sort=email", ["Ada", "Bob", "Cy", "Di", "Eve", "Fay"]),
        ("?q=ev", ["Eve"]),
        ("?q=EXAMPLE.COM&sort=name&dir=desc", ["Fay", "Eve", "Di", "Cy", "Bob", "Ada"]),
        ("?q=%25", []),  # a LIKE wildcard is searched for literally
        ("?sort=bogus&dir=sideways&page=-3", ["Ada", "Bob", "Cy", "Di", "Eve", "Fay"]),
    ],
)
def test_grid_sorts_and_searches(app, story, staff, query, expected):
    response = staff.get(f"/cohorts/{story.cohort_id}/dashboard/learners{query}")
    assert response.status_code == 200
    assert names_in(response.get_data(as_text=True)) == expected


def test_grid_cells_show_lessons_done_and_best_score(app, story):
    page = _with_cohort(app, story.cohort_id, lambda c, cm, now: lists.grid(c, cm, now, lists.GridParams()))
    eve = next(r for r in page.rows if r.name == "Eve")
    intro = eve.cells[0]
    assert (intro.lessons_done, intro.best, intro.passed, intro.attempts) == (2, 50.0, False, 2)
    assert eve.percent == round(100 * 2 / 9)
    bob = next(r for r in page.rows if r.name == "Bob")
    assert [c.lessons_done for c in bob.cells] == [2, 0, 0]  # the training lesson is opened, not completed


def test_grid_is_paginated_in_sql_and_bad_pages_fall_back(app, loaded_course, instructor, staff):
    cohort_id = bulk_cohort(app, 140, [instructor.id], name="Big")
    base = f"/cohorts/{cohort_id}/dashboard/learners"
    first = names_in(staff.get(base).get_data(as_text=True))
    assert len(first) == 60 and first[0] == "Bulk 00000"  # a demo-sized cohort of 60 on one page
    second = names_in(staff.get(f"{base}?page=2").get_data(as_text=True))
    assert len(second) == 60 and second[0] == "Bulk 00060"
    last = staff.get(f"{base}?page=3").get_data(as_text=True)
    assert len(names_in(last)) == 20 and "Page 3 of 3" in last
    assert names_in(staff.get(f"{base}?page=99").get_data(as_text=True)) == names_in(last)  # clamped
    assert names_in(staff.get(f"{base}?page=abc").get_data(as_text=True)) == first
    assert names_in(staff.get(f"{base}?q=Bulk%200013").get_data(as_text=True)) == [
        f"Bulk {i:05d}" for i in range(130, 140)
    ]


# -- at risk ------------------------------------------------------------------------------------------------
def test_at_risk_reasons(app, story):
    """The rule on the story (course/dashboard/risk.py; tests/test_at_risk.py has its edges)."""

    def at_risk(params):
        page = _with_cohort(app, story.cohort_id, lambda c, cm, now: lists.at_risk(c, cm, now, params))
        return {r.name: r for r in page.rows}, page

    rows, page = at_risk(lists.AtRiskParams())
    assert page.total == 3 and list(rows) == ["Di", "Cy", "Eve"]
    assert rows["Di"].reasons == ["inactive", "schedule"] and rows["Di"].last_active is None
    # enrolled 40 days ago, before the cohort started 30 days ago (the school's midnight): idle since the start
    start = _with_cohort(app, story.cohort_id, lambda c, cm, now: school_midnight(c.starts_on))
    assert rows["Di"].idle_since == start and rows["Di"].idle_days == (utcnow() - start).days
    assert rows["Cy"].reasons == ["inactive", "schedule"] and rows["Cy"].idle_days == 20
    assert rows["Eve"].reasons == ["schedule", "quiz"]
    assert [q.key for q in rows["Eve"].failed_quizzes] == ["intro-quiz"]
    assert rows["Eve"].chapters_behind == 2 and [c.key for c in rows["Eve"].overdue] == ["intro", "training"]
    assert "Bob" not in rows  # one chapter behind (training), active two days ago
    assert "Fay" not in rows  # her extension: launch does not count for her yet

    rows, _page = at_risk(lists.AtRiskParams(days=30))
    assert rows["Cy"].reasons == ["schedule"]  # 20 days idle is not 30
    assert rows["Di"].reasons == ["inactive", "schedule"]  # 30 days since the cohort started
    rows, _page = at_risk(lists.AtRiskParams(reason="quiz"))
    assert list(rows) == ["Eve"]


@pytest.mark.parametrize(
    "query",
    ["?days=0", "?days=abc", "?days=99999", "?reason=bogus", "?page=0", "?page=50", "?days=30&reason=inactive&page=2"],
)
def test_at_risk_page_never_fails_on_bad_parameters(app, story, staff, query):
    response = staff.get(f"/cohorts/{story.cohort_id}/dashboard/at-risk{query}")
    assert response.status_code == 200


def test_at_risk_page_lists_reasons(app, story, staff):
    html = staff.get(f"/cohorts/{story.cohort_id}/dashboard/at-risk").get_data(as_text=True)
    assert names_in(html) == ["Di", "Cy", "Eve"]
    assert re.search(r"Not started after 3[01] days", html) and "No activity for 20 days" in html
    assert "2 chapters behind the schedule" in html and "Failed “Chapter 1 quiz” 2 times" in html


# -- quiz statistics -------------------------------------------------------------------------------------------
# The item statistics and their flags: tests/test_item_statistics.py.


def test_pearson_from_sums():
    x, y = [1, 0, 1, 1, 0], [0.9, 0.2, 0.6, 0.8, 0.4]
    xy = sum(a * b for a, b in zip(x, y, strict=True))
    sums = (len(x), sum(x), sum(y), sum(a * a for a in x), sum(b * b for b in y), xy)
    assert pearson(*sums) == pytest.approx(statistics.correlation(x, y))
    assert pearson(3, 3, 1.5, 3, 1, 1.5) is None  # x constant
    assert pearson(1, 1, 1, 1, 1, 1) is None


def test_unknown_quiz_is_404(app, story, staff):
    assert staff.get(f"/cohorts/{story.cohort_id}/dashboard/quizzes/no-such-quiz").status_code == 404
    assert staff.get(f"/cohorts/{story.cohort_id}/export/quizzes/no-such-quiz.csv").status_code == 404


# -- one learner --------------------------------------------------------------------------------------------
def test_drill_down_shows_progress_attempts_answers_and_workbook(app, story, staff):
    html = staff.get(f"/cohorts/{story.cohort_id}/learners/{story.ids['Eve']}").get_data(as_text=True)
    assert "Eve" in html and "eve@example.com" in html
    assert "Chapter 1 quiz · Attempt 2 · 50%" in html and "Attempt 1 · 25%" in html
    assert "chosen" in html and "correct answer" in html and "✗ Incorrect" in html and "✓ Correct" in html
    assert "pre-training" in html and "Accepted answer:" in html  # a typed answer and the accepted one
    assert "Failed “Chapter 1 quiz” 2 times" in html  # why she is at risk
    ada = staff.get(f"/cohorts/{story.cohort_id}/learners/{story.ids['Ada']}").get_data(as_text=True)
    assert "We will start in Singapore." in ada and "What do you want to build?" in ada
    assert "completed" in ada


def test_drill_down_of_someone_not_in_the_cohort_is_404(app, story, instructor, staff, make_user):
    outsider = make_user(email="outsider@example.com")
    other_cohort = make_cohort(app, [instructor.id], name="Other")
    stranger = add_learner(app, other_cohort, "Stranger")
    for user_id in (outsider.id, stranger, 999_999):
        assert staff.get(f"/cohorts/{story.cohort_id}/learners/{user_id}").status_code == 404


# -- CSV exports --------------------------------------------------------------------------------------------
def _csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode())  # Excel reads the BOM as "this is UTF-8"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_grid_csv(app, story, staff):
    response = staff.get(f"/cohorts/{story.cohort_id}/export/grid.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="cohort-')
    assert "grid" in response.headers["Content-Disposition"]
    rows = _csv(response)
    header, body = rows[0], rows[1:]
    assert header[:4] == ["Full name", "Email", "Enrolled (Asia/Shanghai)", "Progress %"]
    assert "Chapter 1 Introduction: lessons done (of 2)" in header
    assert [r[0] for r in body] == ["Ada", "Bob", "Cy", "Di", "Eve", "Fay"]
    ada = dict(zip(header, body[0], strict=True))
    assert ada["Progress %"] == "100" and ada["Completed"] == "yes"
    assert ada["Chapter 1 Introduction: best quiz %"] == "100"  # as the grid shows it


def test_at_risk_csv(app, story, staff):
    rows = _csv(staff.get(f"/cohorts/{story.cohort_id}/export/at-risk.csv"))
    header, body = rows[0], rows[1:]
    assert [r[0] for r in body] == ["Di", "Cy", "Eve"]
    eve = dict(zip(header, body[2], strict=True))
    assert eve["Reasons"] == "more than one chapter behind; failed a quiz twice or more"
    assert eve["Quizzes failed twice"] == "Chapter 1 quiz"
    quiz_only = _csv(staff.get(f"/cohorts/{story.cohort_id}/export/at-risk.csv?reason=quiz"))
    assert [r[0] for r in quiz_only[1:]] == ["Eve"]


def test_quiz_csv(app, story, staff):
    rows = _csv(staff.get(f"/cohorts/{story.cohort_id}/export/quizzes/intro-quiz.csv"))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Question", "Question id", "Prompt"]
    q1 = [dict(zip(header, r, strict=True)) for r in body if r[1] == "intro-q1"]
    assert [r["Answer id"] for r in q1] == ["a", "b", "c"]
    # first attempts: Ada, Bob, Fay right (a); Eve's first attempt also chose a
    assert [r["Chosen"] for r in q1] == ["4", "0", "0"] and q1[0]["Correct answer"] == "yes"


def test_a_learner_named_like_a_formula_is_exported_as_text(app, story, staff):
    add_learner(app, story.cohort_id, "=cmd|' /C calc'!A0", email="formula@example.com")
    body = _csv(staff.get(f"/cohorts/{story.cohort_id}/export/grid.csv"))[1:]
    assert any(r[0] == "'=cmd|' /C calc'!A0" for r in body)


# -- access -------------------------------------------------------------------------------------------------
def _urls(story: Story) -> list[str]:
    c = story.cohort_id
    return [
        f"/cohorts/{c}/dashboard",
        f"/cohorts/{c}/dashboard/learners?sort=progress",
        f"/cohorts/{c}/dashboard/at-risk",
        f"/cohorts/{c}/dashboard/quizzes",
        f"/cohorts/{c}/dashboard/quizzes/intro-quiz",
        f"/cohorts/{c}/learners/{story.ids['Bob']}",
        f"/cohorts/{c}/export/grid.csv",
        f"/cohorts/{c}/export/at-risk.csv",
        f"/cohorts/{c}/export/quizzes/intro-quiz.csv",
    ]


def test_anonymous_visitors_are_sent_to_log_in(app, story):
    client = new_client(app)
    for url in _urls(story):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_learners_and_other_instructors_get_404_staff_get_200(app, story, make_user):
    learner = make_user(email="learner@example.com")
    other = make_user(email="other-teacher@example.com", role="instructor")
    make_cohort(app, [other.id], name="Not yours")  # the other instructor does teach a cohort
    admin = make_user(email="admin@example.com", role="admin")
    teacher_client = new_client(app)
    assert do_login(teacher_client, "teacher@example.com").status_code == 302
    expected = {learner.email: 404, other.email: 404, admin.email: 200}
    clients = {"teacher@example.com": teacher_client}
    for email in expected:
        clients[email] = new_client(app)
        assert do_login(clients[email], email).status_code == 302
    expected["teacher@example.com"] = 200
    for email, client in clients.items():
        for url in _urls(story):
            assert client.get(url).status_code == expected[email], (email, url)
    # a cohort that does not exist is 404 for staff too
    assert clients["admin@example.com"].get("/cohorts/999999/dashboard").status_code == 404


# -- internals ----------------------------------------------------------------------------------------------
def test_id_ranges_never_span_an_id_outside_the_set():
    assert id_ranges([1, 2, 3, 5], [1, 2, 3, 4, 5, 6]) == [(1, 3), (5, 5)]
    assert id_ranges([2, 3], [1, 2, 3, 4]) == [(2, 3)]
    assert id_ranges([], [1, 2]) == []
    assert id_ranges([4, 9], [4, 9]) == [(4, 9)]  # nothing exists between them


def test_course_map_counts_only_the_current_outline(app, story):
    with app.app_context():
        # Archived through the ORM, which every process's content cache follows (a load moves the course's
        # `loaded_at`, which it follows too).
        _db.session.scalar(select(Quiz).where(Quiz.key == "launch-quiz")).archived_at = utcnow()
        _db.session.flush()
        rollup.refresh_course(_db.session.get(Cohort, story.cohort_id).course_id)  # as a content load does
        _db.session.commit()
    numbers = _with_cohort(app, story.cohort_id, overview.overview)
    assert [q.key for q in _with_cohort(app, story.cohort_id, lambda c, cm, now: cm.quizzes)] == [
        "intro-quiz",
        "training-quiz",
    ]
    assert dict(numbers.histogram)[100] == 1  # Ada: 8 of 8 items, still 100 %, never more
