"""The weekly instructor digest (course/dashboard/digest.py): once per ISO week to each instructor of a running
cohort, in their language — the cohort's numbers, who is newly at risk since the last digest (everyone at risk in
the first), the quiz questions that look miskeyed — with links to the dashboard that work; nothing about a cohort to
anyone who does not teach it."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from conftest import do_login, new_client
from dashboard_factories import add_learner, attempt, make_cohort, view
from sqlalchemy import event, insert, select, update

from config import TestingConfig
from course.accounts.models import User
from course.clock import site_today
from course.cohorts.digest_models import CohortDigest, save_snapshot
from course.dashboard import digest
from course.db_types import utcnow
from course.extensions import db as _db
from course.outbox.kinds import Kind
from course.outbox.messages import set_opted_out
from course.outbox.models import OutboxMessage
from course.privacy.deletion import delete_account
from course.progress import rollup
from course.progress.models import LessonProgress
from course.worker.jobs import run_scheduled


def ago(**kw) -> datetime:
    return utcnow() - timedelta(**kw)


def days_ago(n: int) -> date:
    return site_today(TestingConfig.BABEL_DEFAULT_TIMEZONE) - timedelta(days=n)


@pytest.fixture(autouse=True)
def public_url(app):
    app.config["PUBLIC_URL"] = "http://localhost"


@pytest.fixture
def teacher(app, make_user):
    """An instructor who reads English (an account without a language gets the school's: Chinese)."""
    user = make_user(email="teacher@example.com", role="instructor", name="Teacher")
    with app.app_context():
        _db.session.execute(update(User).where(User.id == user.id).values(language="en"))
        _db.session.commit()
    return user


@pytest.fixture
def cohort_id(app, loaded_course, teacher) -> int:
    opens = {"intro": days_ago(20), "training": days_ago(3), "launch": days_ago(-4)}
    return make_cohort(app, [teacher.id], starts_on=days_ago(30), opens=opens)


def run(app, week_later: int = 0, monkeypatch=None) -> int:
    if week_later:
        monkeypatch.setattr(
            digest, "today", lambda: site_today(TestingConfig.BABEL_DEFAULT_TIMEZONE) + timedelta(weeks=week_later)
        )
    with app.app_context():
        written = digest.send_weekly_digests()
        _db.session.commit()
        return written


def digests(app, user_id: int | None = None) -> list[OutboxMessage]:
    with app.app_context():
        query = select(OutboxMessage).where(OutboxMessage.kind == str(Kind.DIGEST)).order_by(OutboxMessage.id)
        if user_id is not None:
            query = query.where(OutboxMessage.user_id == user_id)
        rows = _db.session.scalars(query).all()
        _db.session.expunge_all()
        return list(rows)


def section(text: str, title: str) -> str:
    """The lines of a digest's text under `title`, up to the next blank line after them."""
    return text.split(title, 1)[1].strip().split("\n\n", 1)[0]


def test_the_numbers_and_everyone_at_risk_in_the_first_digest_once_a_week(app, cohort_id, teacher):
    ann = add_learner(app, cohort_id, "Ann")
    view(app, ann, "welcome", ago(days=10))
    add_learner(app, cohort_id, "Ben")  # never started
    busy = add_learner(app, cohort_id, "Busy")
    view(app, busy, "welcome", ago(hours=2))

    assert run(app) == 1
    assert run(app) == 0  # once a week
    [message] = digests(app)
    text = message.text_body
    assert (message.user_id, message.language, message.status) == (teacher.id, "en", "sent")
    assert message.subject == "Weekly digest: Spring"
    assert message.event_key == f"digest:{cohort_id}:{teacher.id}:{digest.iso_week(site_today('Asia/Shanghai'))}"
    for line in ("Enrolled: 3", "Active in the last 7 days: 1", "Completed: 0", "At risk: 2", "Median progress: 11%"):
        assert line in text, line
    listed = section(text, "At risk now")
    assert "- Ann: No activity for 10 days" in listed and "- Ben: Not started after 30 days" in listed
    assert "Busy" not in listed
    assert section(text, "Quiz questions that look miskeyed") == "None."
    staff = new_client(app)
    assert do_login(staff, teacher.email).status_code == 302
    for url in re.findall(r"http://localhost(/cohorts/\S+)", text):
        assert staff.get(url).status_code == 200, url
    assert f"/cohorts/{cohort_id}/learners/{ann}" in text


def test_the_next_digest_names_only_who_newly_fell_behind(app, cohort_id, teacher, monkeypatch):
    ann = add_learner(app, cohort_id, "Ann")
    view(app, ann, "welcome", ago(days=10))
    cat = add_learner(app, cohort_id, "Cat")
    view(app, cat, "welcome", ago(hours=2))
    assert run(app) == 1
    with app.app_context():  # a week on, Cat has not been back for 12 days
        _db.session.execute(
            update(LessonProgress).where(LessonProgress.user_id == cat).values(last_viewed_at=ago(days=12))
        )
        rollup.refresh_learner(cat, _db.session.scalar(select(LessonProgress.course_id).limit(1)))
        _db.session.commit()
    assert run(app, week_later=1, monkeypatch=monkeypatch) == 1
    first, second = digests(app)
    assert "Ann" in section(first.text_body, "At risk now")
    newly = section(second.text_body, "Newly at risk since last week’s digest")
    assert "- Cat: No activity for 12 days" in newly and "Ann" not in newly
    with app.app_context():
        weeks = _db.session.execute(
            select(CohortDigest.week, CohortDigest.at_risk_ids).order_by(CohortDigest.week)
        ).all()
    assert [ids for _week, ids in weeks] == [[ann], [cat, ann]]  # each week's, most urgent first


def test_a_question_that_looks_miskeyed_is_listed_with_its_evidence(app, cohort_id, teacher):
    for i in range(20):  # as tests/test_item_statistics.py: the strongest learners choose the same wrong option
        uid = add_learner(app, cohort_id, f"L{i:02d}")
        strong = i >= 10
        answers = {
            "intro-q1": "b" if i >= 8 else "a",
            "intro-q2": ["a", "b"] if strong else ["a"],
            "intro-q3": "false",
            "intro-q4": "fine-tuning" if strong else "pre-training",
        }
        attempt(app, uid, "intro-quiz", answers, ago(days=2))
    assert run(app) == 1
    [message] = digests(app)
    flagged = section(message.text_body, "Quiz questions that look miskeyed")
    assert flagged.startswith("- Chapter 1 quiz: What defines a large model?")
    assert "Of the 6 strongest learners" in flagged and "a discrimination of −0.82" in flagged
    path = urlsplit(re.search(r"http://localhost/cohorts/\S+/quizzes/intro-quiz", flagged).group(0)).path
    staff = new_client(app)
    assert do_login(staff, teacher.email).status_code == 302
    assert staff.get(path).status_code == 200
    assert "Of the 6 strongest learners" in message.html_body


def test_each_instructor_hears_only_about_their_own_cohort_in_their_language(app, cohort_id, teacher, make_user):
    ann = add_learner(app, cohort_id, "Ann")
    view(app, ann, "welcome", ago(days=10))
    other = make_user(email="other@example.com", role="instructor", name="Other")
    with app.app_context():
        _db.session.execute(update(User).where(User.id == other.id).values(language="zh_Hans"))
        _db.session.commit()
    other_cohort = make_cohort(app, [other.id], name="Autumn", starts_on=days_ago(10))
    add_learner(app, other_cohort, "Zed")
    assert run(app) == 2
    [mine] = digests(app, teacher.id)
    [theirs] = digests(app, other.id)
    assert "Ann" in mine.text_body and "Zed" not in mine.text_body
    assert "Ann" not in theirs.text_body and "Spring" not in theirs.text_body
    assert theirs.event_key.startswith(f"digest:{other_cohort}:{other.id}:")
    assert theirs.language == "zh_Hans" and "进度中位数" in theirs.text_body and 'lang="zh-Hans"' in theirs.html_body


def test_no_digest_when_turned_off_or_for_a_cohort_not_running(app, loaded_course, cohort_id, teacher, make_user):
    with app.app_context():
        set_opted_out(teacher.id, Kind.DIGEST, True)
        _db.session.commit()
    past = make_user(email="past@example.com", role="instructor")
    make_cohort(app, [past.id], name="Ended", starts_on=days_ago(200))  # ended 80 days ago
    assert run(app) == 0 and digests(app) == []


def test_deleting_an_account_takes_it_out_of_the_digests_memory(app, cohort_id, teacher, make_user):
    ann = add_learner(app, cohort_id, "Ann")
    view(app, ann, "welcome", ago(days=10))
    admin = make_user(email="admin@example.com", role="admin")
    assert run(app) == 1
    with app.app_context():
        assert _db.session.scalars(select(CohortDigest.at_risk_ids)).all() == [[ann]]
        delete_account(_db.session.get(User, ann), by=_db.session.get(User, admin.id))
        _db.session.commit()
        assert _db.session.scalars(select(CohortDigest.at_risk_ids)).all() == [[]]


def test_the_worker_runs_the_digest_with_links_to_where_it_serves(app, cohort_id, teacher):
    """As the worker runs it: the scheduled jobs in an app context, no request; without PUBLIC_URL the links are
    built from LOCAL_URL (course/links.py)."""
    app.config["PUBLIC_URL"] = ""
    ann = add_learner(app, cohort_id, "Ann")
    view(app, ann, "welcome", ago(days=10))
    with app.app_context():
        assert run_scheduled()["weekly digest"] == 1
    [message] = digests(app)
    assert (message.user_id, message.to_address, message.status) == (teacher.id, "teacher@example.com", "sent")
    assert "- Ann: No activity for 10 days" in section(message.text_body, "At risk now")
    local = app.config["LOCAL_URL"]
    urls = re.findall(r"https?://\S+", message.text_body)
    assert urls and all(url.startswith(local + "/") for url in urls), urls
    assert f"{local}/cohorts/{cohort_id}/learners/{ann}" in urls
    staff = new_client(app)
    assert do_login(staff, teacher.email).status_code == 302
    for url in urls:
        if "/unsubscribe/" not in url:
            assert staff.get(urlsplit(url).path).status_code == 200, url


def test_a_weeks_snapshot_written_twice_keeps_one_row_without_an_error(app, cohort_id):
    week = digest.iso_week(site_today(TestingConfig.BABEL_DEFAULT_TIMEZONE))
    with app.app_context():
        save_snapshot(cohort_id, week, [1, 2])
        assert save_snapshot(cohort_id, week, [3]).at_risk_ids == [1, 2]  # the first one written stays
        _db.session.commit()
        assert _db.session.execute(select(CohortDigest.week, CohortDigest.at_risk_ids)).all() == [(week, [1, 2])]


def test_a_snapshot_another_worker_wrote_at_the_same_moment_is_kept_without_an_error(app, cohort_id):
    """Two workers run the digest at once: the other's row for this week appears just before this one inserts it
    (after any look for it); the insert leaves it, and this run goes on."""
    week = digest.iso_week(site_today(TestingConfig.BABEL_DEFAULT_TIMEZONE))
    with app.app_context():
        engine = _db.engine
        other = {"done": False}

        @event.listens_for(engine, "before_cursor_execute")
        def other_worker_first(conn, cursor, statement, parameters, context, executemany):
            if not other["done"] and statement.lstrip().upper().startswith("INSERT INTO COHORT_DIGEST"):
                other["done"] = True
                conn.execute(insert(CohortDigest).values(cohort_id=cohort_id, week=week, at_risk_ids=[7]))

        try:
            found = save_snapshot(cohort_id, week, [1, 2])
            _db.session.commit()
        finally:
            event.remove(engine, "before_cursor_execute", other_worker_first)
        assert other["done"] and found.at_risk_ids == [7]
        assert _db.session.scalars(select(CohortDigest.at_risk_ids)).all() == [[7]]
