"""The at-risk list (course/dashboard/risk.py): inactivity after the cohort's number of days, more than one
chapter behind the schedule, repeated quiz failures; one short line a reason; the most urgent first. Then the
demo cohort that `make run` makes: short enough to act on, every learner's reasons traced to their rows."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from conftest import RIGHT_ANSWERS, WRONG_ANSWERS, do_login, new_client
from dashboard_factories import LESSONS, add_learner, attempt, complete_course, make_cohort, view
from sqlalchemy import select, update

from config import TestingConfig
from course.accounts.models import User
from course.clock import school_date, site_today
from course.cohorts.models import ChapterRelease, Cohort, Enrolment
from course.content.models import Course
from course.content.outline import course_outline
from course.dashboard import lists, overview
from course.dashboard.coursemap import load_course_map
from course.dashboard.learners import school_midnight
from course.db_types import utcnow
from course.demo.generator import DEFAULT_RETENTION, generate
from course.extensions import db as _db
from course.progress.models import Completion, LessonProgress
from course.quiz.models import Attempt

CHAPTERS = {"intro": LESSONS[:2], "training": LESSONS[2:4], "launch": LESSONS[4:]}


@pytest.fixture
def instructor(make_user):
    return make_user(email="teacher@example.com", role="instructor", name="Teacher")


@pytest.fixture
def staff(app, instructor):
    client = new_client(app)
    assert do_login(client, instructor.email).status_code == 302
    return client


def ago(**kw) -> datetime:
    return utcnow() - timedelta(**kw)


def days_ago(n: int) -> date:
    """A date `n` days before the school's today (the schedule's dates are the school's)."""
    return site_today(TestingConfig.BABEL_DEFAULT_TIMEZONE) - timedelta(days=n)


def finish(app, user_id: int, chapter: str, at: datetime) -> None:
    """Every lesson of the chapter completed, then its quiz passed at `at`."""
    for lesson in CHAPTERS[chapter]:
        view(app, user_id, lesson, at - timedelta(minutes=30))
    attempt(app, user_id, f"{chapter}-quiz", RIGHT_ANSWERS[f"{chapter}-quiz"], at)


def at_risk(app, cohort_id: int, **params) -> dict[str, lists.LearnerRow]:
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        cohort = _db.session.get(Cohort, cohort_id)
        page = lists.at_risk(cohort, load_course_map(cohort), utcnow(), lists.AtRiskParams(**params))
        return {row.name: row for row in page.rows}


def every_row(app, cohort_id: int) -> dict[str, lists.LearnerRow]:
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        cohort = _db.session.get(Cohort, cohort_id)
        return {row.name: row for row in lists.all_learner_rows(cohort, load_course_map(cohort), utcnow())}


def weekly(app, instructor, released: tuple[int, int, int], name: str = "Spring", starts: int = 30) -> int:
    """A cohort that started `starts` days ago whose chapters opened `released` days ago (negative: to come)."""
    opens = {key: days_ago(n) for key, n in zip(CHAPTERS, released, strict=True)}
    return make_cohort(app, [instructor.id], name=name, starts_on=days_ago(starts), opens=opens)


# -- the rule, reason by reason ---------------------------------------------------------------------------------
def test_inactive_only_with_released_work_left(app, loaded_course, instructor):
    """Only the first chapter is out: whoever finished it is waiting for the next one, not drifting away."""
    cohort_id = weekly(app, instructor, (20, -2, -9))
    ann = add_learner(app, cohort_id, "Ann", enrolled_at=ago(days=25))
    finish(app, ann, "intro", ago(days=15))
    ben = add_learner(app, cohort_id, "Ben", enrolled_at=ago(days=25))
    view(app, ben, "welcome", ago(days=15, hours=1))
    cat = add_learner(app, cohort_id, "Cat", enrolled_at=ago(days=25))
    view(app, cat, "welcome", ago(days=3), completed=False)

    rows = at_risk(app, cohort_id)
    assert list(rows) == ["Ben"]
    assert rows["Ben"].reasons == ["inactive"] and rows["Ben"].reason_lines == ["No activity for 15 days"]
    everyone = every_row(app, cohort_id)
    assert everyone["Ann"].idle_days == 15 and not everyone["Ann"].inactive
    assert not everyone["Cat"].inactive  # three days is not seven


def test_an_extension_moves_when_a_learner_is_behind_not_whether_they_stopped(app, loaded_course, instructor):
    """Gus has three weeks' extension and never started: no chapter is due for him yet, but he is inactive."""
    cohort_id = weekly(app, instructor, (20, 13, 6), starts=20)
    add_learner(app, cohort_id, "Gus", enrolled_at=ago(days=25), extension_days=21)
    row = every_row(app, cohort_id)["Gus"]
    assert (row.chapters_behind, row.inactive) == (0, True)
    assert at_risk(app, cohort_id)["Gus"].reason_lines == ["Not started after 20 days"]


def test_a_chapter_the_schedule_does_not_name_is_due_on_no_date(app, loaded_course, instructor):
    """Chapters added to the course after the cohort was made have no release row: open, but no one is behind."""
    cohort_id = weekly(app, instructor, (20, -2, -9))
    with app.app_context():
        chapter_ids = [c.chapter.id for c in course_outline(_db.session.scalar(select(Course))).chapters]
        _db.session.query(ChapterRelease).filter(
            ChapterRelease.cohort_id == cohort_id, ChapterRelease.chapter_id.in_(chapter_ids[1:])
        ).delete(synchronize_session=False)
        _db.session.commit()
    fay = add_learner(app, cohort_id, "Fay")
    view(app, fay, "welcome", ago(hours=2), completed=False)
    row = every_row(app, cohort_id)["Fay"]
    assert (row.chapters_behind, row.behind, row.far_behind) == (0, False, False)
    assert at_risk(app, cohort_id) == {}


def test_one_chapter_behind_is_slipping_two_is_at_risk(app, loaded_course, instructor):
    """All three chapters are out (15, 8 and 1 days ago): the newest one unfinished is not behind."""
    cohort_id = weekly(app, instructor, (15, 8, 1))
    cal = add_learner(app, cohort_id, "Cal")
    finish(app, cal, "intro", ago(days=10))
    view(app, cal, "data", ago(days=1), completed=False)
    dee = add_learner(app, cohort_id, "Dee")
    view(app, dee, "welcome", ago(days=1), completed=False)
    eli = add_learner(app, cohort_id, "Eli", extension_days=2)  # launch, one day out, is not yet hers
    view(app, eli, "welcome", ago(days=1), completed=False)
    ivy = add_learner(app, cohort_id, "Ivy")
    for chapter in CHAPTERS:
        finish(app, ivy, chapter, ago(hours=5))

    everyone = every_row(app, cohort_id)
    assert {name: (r.chapters_behind, r.behind, r.far_behind) for name, r in everyone.items()} == {
        "Cal": (1, True, False),
        "Dee": (2, True, True),
        "Eli": (1, True, False),
        "Ivy": (0, False, False),
    }
    assert [c.key for c in everyone["Dee"].overdue] == ["intro", "training"]
    rows = at_risk(app, cohort_id)
    assert list(rows) == ["Dee"] and rows["Dee"].reason_lines == ["2 chapters behind the schedule"]
    assert list(at_risk(app, cohort_id, reason="schedule")) == ["Dee"]


def test_two_failed_attempts_at_a_quiz_not_passed_yet(app, loaded_course, instructor):
    cohort_id = weekly(app, instructor, (3, -4, -11))
    fay = add_learner(app, cohort_id, "Fay")
    gus = add_learner(app, cohort_id, "Gus")
    for user_id in (fay, gus):
        for lesson in CHAPTERS["intro"]:
            view(app, user_id, lesson, ago(days=2))
    for n in (3, 2):
        attempt(app, fay, "intro-quiz", WRONG_ANSWERS["intro-quiz"], ago(hours=n))
    attempt(app, gus, "intro-quiz", WRONG_ANSWERS["intro-quiz"], ago(hours=3))

    rows = at_risk(app, cohort_id)
    assert list(rows) == ["Fay"] and rows["Fay"].reason_lines == ["Failed “Chapter 1 quiz” 2 times"]
    assert list(at_risk(app, cohort_id, reason="quiz")) == ["Fay"]
    attempt(app, fay, "intro-quiz", WRONG_ANSWERS["intro-quiz"], ago(hours=1))
    assert at_risk(app, cohort_id)["Fay"].reason_lines == ["Failed “Chapter 1 quiz” 3 times"]
    attempt(app, fay, "intro-quiz", RIGHT_ANSWERS["intro-quiz"], ago(minutes=5))
    assert at_risk(app, cohort_id) == {}  # passed at last


def test_a_learner_who_completed_the_course_is_never_at_risk(app, loaded_course, instructor):
    """Hal completed the course, then a chapter was added (here: its lessons never done) and he stopped coming."""
    cohort_id = weekly(app, instructor, (40, 33, 26), starts=40)
    hal = add_learner(app, cohort_id, "Hal", enrolled_at=ago(days=41))
    finish(app, hal, "intro", ago(days=30))
    complete_course(app, hal, ago(days=30))
    row = every_row(app, cohort_id)["Hal"]
    assert row.completed and row.chapters_behind == 1 and row.idle_days == 30
    assert row.reasons == [] and at_risk(app, cohort_id) == {}


def test_never_started_is_counted_from_the_later_of_enrolment_and_the_start(app, loaded_course, instructor):
    cohort_id = weekly(app, instructor, (10, 3, -4), starts=10)
    early = add_learner(app, cohort_id, "Early", enrolled_at=ago(days=20))
    add_learner(app, cohort_id, "Late", enrolled_at=ago(days=3))
    rows = at_risk(app, cohort_id)
    assert list(rows) == ["Early"]
    with app.test_request_context():
        start = school_midnight(days_ago(10))
    assert rows["Early"].user_id == early and rows["Early"].idle_since == start
    assert rows["Early"].reason_lines == [f"Not started after {(utcnow() - start).days} days"]

    upcoming = make_cohort(app, [instructor.id], name="Next month", starts_on=days_ago(-5))
    add_learner(app, upcoming, "Keen", enrolled_at=ago(days=20))
    assert at_risk(app, upcoming) == {}  # nothing has opened yet


def test_the_cohorts_setting_says_when_a_learner_is_inactive(app, loaded_course, instructor, staff):
    cohort_id = weekly(app, instructor, (20, 13, 6))
    jo = add_learner(app, cohort_id, "Jo")
    finish(app, jo, "intro", ago(days=10))
    finish(app, jo, "training", ago(days=10))
    assert at_risk(app, cohort_id)["Jo"].reason_lines == ["No activity for 10 days"]
    with app.app_context():
        _db.session.execute(update(Cohort).where(Cohort.id == cohort_id).values(inactive_after_days=14))
        _db.session.commit()
    assert at_risk(app, cohort_id) == {}
    assert list(at_risk(app, cohort_id, days=9)) == ["Jo"]  # the page may look with another number
    html = staff.get(f"/cohorts/{cohort_id}/dashboard/at-risk").get_data(as_text=True)
    assert 'name="days" value="14"' in html and "inactive after 14 days without activity" in html
    overview_html = staff.get(f"/cohorts/{cohort_id}/dashboard").get_data(as_text=True)
    assert "No activity (no lesson opened, no quiz submitted) for 14 days" in overview_html


def test_the_most_urgent_come_first(app, loaded_course, instructor, staff):
    """Most reasons, then the longest without activity, then the furthest behind."""
    cohort_id = weekly(app, instructor, (22, 15, 8), starts=22)
    ids = {}
    for name in ("Amy", "Bea", "Cy", "Dot", "Ed"):
        ids[name] = add_learner(app, cohort_id, name, enrolled_at=ago(days=23))
    view(app, ids["Amy"], "welcome", ago(days=9))  # inactive 9 days, 2 behind
    view(app, ids["Bea"], "welcome", ago(days=12))  # inactive 12 days, 2 behind: before Amy
    for n in (3, 2):  # 2 behind and failing, active today: two reasons, least idle
        attempt(app, ids["Cy"], "intro-quiz", WRONG_ANSWERS["intro-quiz"], ago(hours=n))
    finish(app, ids["Dot"], "intro", ago(days=2))  # 1 behind, active: not at risk
    view(app, ids["Ed"], "welcome", ago(days=2))  # 2 behind, active: one reason
    expected = ["Bea", "Amy", "Cy", "Ed"]
    assert list(at_risk(app, cohort_id)) == expected
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        cohort = _db.session.get(Cohort, cohort_id)
        numbers = overview.overview(cohort, load_course_map(cohort), utcnow())
    assert [r.name for r in numbers.top_at_risk] == expected and numbers.at_risk == 4
    html = staff.get(f"/cohorts/{cohort_id}/dashboard/at-risk").get_data(as_text=True)
    assert re.findall(r'<th scope="row"><a href="/cohorts/\d+/learners/\d+">([^<]+)</a>', html) == expected
    bea = html.split(">Bea</a>", 1)[1].split("</tr>", 1)[0]
    assert "No activity for 12 days" in bea and "2 chapters behind the schedule" in bea
    assert "Failed “Chapter 1 quiz” 2 times" in html.split(">Cy</a>", 1)[1].split("</tr>", 1)[0]


# -- the demo cohort of `make run` -----------------------------------------------------------------------------
def test_the_demo_cohort_is_short_enough_to_act_on_and_every_reason_is_traced(app, real_course, make_user):
    """`flask demo accounts --cohort` (what `make run` does): 60 learners, a fixed seed. The at-risk list holds a
    fifth of them or fewer, most learners are active and on schedule, and each learner's reasons (or none) follow
    from their own rows: their last activity, chapter completions against the release dates, their attempts."""
    make_user(email="instructor@example.com", role="instructor")
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        result = generate(60, 1, None, 1, DEFAULT_RETENTION, "instructor@example.com")
        _db.session.commit()
        ((cohort_id, _name),) = result["cohorts"]
        cohort = _db.session.get(Cohort, cohort_id)
        cm = load_course_map(cohort)
        now = utcnow()
        numbers = overview.overview(cohort, cm, now)
        flagged = lists.at_risk(cohort, cm, now, lists.AtRiskParams())
        rows = {row.user_id: row for row in lists.all_learner_rows(cohort, cm, now)}
        expected = traced(cohort, now)

    assert numbers.enrolled == 60
    assert 0 < numbers.at_risk == flagged.total <= 12, numbers.at_risk  # a fifth of the cohort or fewer
    assert numbers.active >= 36 and numbers.on_schedule >= 40  # most are active and on schedule
    assert 0 < sum(r.inactive for r in rows.values()) <= 12  # a few have gone quiet

    for user_id, (reasons, idle_days, chapters_behind, fails) in expected.items():
        row = rows[user_id]
        assert row.reasons == reasons, (row.name, row.reasons, reasons)
        if "inactive" in reasons:
            assert row.idle_days == idle_days
            assert any(str(idle_days) in line for line in row.reason_lines)
        if "schedule" in reasons:
            assert row.chapters_behind == chapters_behind
            assert f"{chapters_behind} chapters behind the schedule" in row.reason_lines
        if "quiz" in reasons:
            assert {q.id: fails[q.id] for q in row.failed_quizzes} == {q: n for q, n in fails.items() if n >= 2}
    # the list: exactly the learners with a reason, the most urgent first
    urgent = sorted(
        (uid for uid, (reasons, *_rest) in expected.items() if reasons),
        key=lambda uid: (-len(expected[uid][0]), rows[uid].idle_since, -expected[uid][2], rows[uid].name, uid),
    )
    assert [row.user_id for row in flagged.rows] == urgent


def traced(cohort: Cohort, now: datetime) -> dict[int, tuple[list[str], int, int, dict[int, int]]]:
    """Each learner's reasons computed again from their own rows, without the dashboard's SQL or roll-up:
    (reasons, days since last active or since they could start, chapters behind, failed attempts per quiz not
    passed)."""
    course = _db.session.get(Course, cohort.course_id)
    releases = dict(
        _db.session.execute(
            select(ChapterRelease.chapter_id, ChapterRelease.opens_on).where(ChapterRelease.cohort_id == cohort.id)
        ).all()
    )
    today = school_date(now)
    start = school_midnight(cohort.starts_on)
    out = {}
    learners = _db.session.execute(
        select(Enrolment.user_id, Enrolment.enrolled_at, Enrolment.extension_days)
        .join(User, User.id == Enrolment.user_id)
        .where(Enrolment.cohort_id == cohort.id)
    ).all()
    for user_id, enrolled_at, extension in learners:
        progress = _db.session.execute(
            select(LessonProgress.lesson_id, LessonProgress.last_viewed_at, LessonProgress.completed_at).where(
                LessonProgress.user_id == user_id
            )
        ).all()
        attempts = _db.session.execute(
            select(Attempt.quiz_id, Attempt.submitted_at, Attempt.passed).where(Attempt.user_id == user_id)
        ).all()
        completed = _db.session.scalar(select(Completion.id).where(Completion.user_id == user_id)) is not None
        moments = [p.last_viewed_at for p in progress] + [a.submitted_at for a in attempts]
        since = max(moments) if moments else max(enrolled_at, start)
        done_lessons = {p.lesson_id for p in progress if p.completed_at is not None}
        passed = {a.quiz_id for a in attempts if a.passed}
        fails = {}
        for a in attempts:
            if a.quiz_id not in passed:
                fails[a.quiz_id] = fails.get(a.quiz_id, 0) + 1
        unfinished = left = 0  # released chapters not complete: counted with the extension, and without
        for chapter in course_outline(course).chapters:
            opens = releases.get(chapter.chapter.id)
            if chapter.reference or not chapter.items_total or opens is None or opens > today:
                continue
            lessons_done = all(lesson.id in done_lessons for lesson in chapter.lessons)
            if not (lessons_done and (chapter.quiz is None or chapter.quiz.id in passed)):
                left += 1
                unfinished += (today - opens).days >= extension
        behind = max(unfinished - 1, 0)
        reasons = []
        if not completed:
            if left and since < now - timedelta(days=cohort.inactive_after_days):
                reasons.append("inactive")
            if behind >= 2:
                reasons.append("schedule")
            if any(n >= 2 for n in fails.values()):
                reasons.append("quiz")
        out[user_id] = (reasons, (now - since).days, behind, fails)
    return out
