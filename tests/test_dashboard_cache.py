"""The dashboard keeps a page's expensive numbers until the course's counter moves (course/dashboard/cache.py,
`rollup.touch`): a page asked again costs fewer statements, and every change the numbers depend on — a quiz
attempt through the real submission, a lesson view or completion, an enrolment added, moved, extended or
removed, a rename — shows on the next request."""

from __future__ import annotations

from array import array
from datetime import timedelta

import pytest
from conftest import CHAPTER_LESSONS, RIGHT_ANSWERS, WRONG_ANSWERS, complete_lessons, do_login, new_client, submit_quiz
from dashboard_factories import add_learner, attempt, complete_course, make_cohort, view
from sqlalchemy import delete, event, select

from course.accounts.models import User
from course.badges.models import BadgeCredential
from course.cohorts.enrolment import enrol, move, set_extension, unenrol
from course.cohorts.models import Cohort, Enrolment
from course.content.models import Course
from course.dashboard import cache, lists, quizstats
from course.dashboard.coursemap import load_course_map
from course.dashboard.overview import overview
from course.dashboard.quizstats import quiz_stats, quiz_summaries
from course.db_types import utcnow
from course.extensions import db as _db
from course.progress import rollup
from course.progress.completion import maybe_complete_course
from course.progress.models import Completion


@pytest.fixture
def cohort(app, loaded_course, make_user):
    teacher = make_user(email="teacher@example.com", role="instructor", name="Teacher")
    cohort_id = make_cohort(app, [teacher.id])
    now = utcnow()
    ids = [add_learner(app, cohort_id, name) for name in ("Ada", "Bob", "Cy")]
    for uid in ids[:2]:
        view(app, uid, "welcome", now - timedelta(days=3))
    attempt(app, ids[0], "intro-quiz", RIGHT_ANSWERS["intro-quiz"], now - timedelta(days=2))
    return cohort_id, ids, teacher


def _call(app, cohort_id, fn):
    """fn(cohort, course map) in a request, with the number of statements it ran."""
    with app.app_context():
        engine = _db.engine
    statements: list[str] = []

    def count(*args) -> None:
        statements.append(args[2])

    with app.test_request_context():
        cohort = _db.session.get(Cohort, cohort_id)
        cm = load_course_map(cohort)
        event.listen(engine, "before_cursor_execute", count)
        try:
            value = fn(cohort, cm)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return value, len(statements)


def _version(app) -> int:
    with app.app_context():
        return rollup.version(_db.session.scalar(select(Cohort.course_id)))


def _intro(cohort, cm):
    return quiz_stats(cohort, cm.quiz_by_key("intro-quiz"))


def _enrolled_learner(app, cohort_id, make_user, email="eve@example.com"):
    """A new learner of the cohort, logged in, with the intro quiz's lessons complete (so the counters have moved
    for all of that before the test warms the cache)."""
    eve = make_user(email=email)
    with app.test_request_context(method="POST"):
        enrol(_db.session.get(Cohort, cohort_id), _db.session.get(User, eve.id), check_window=False)
        _db.session.commit()
    client = new_client(app)
    assert do_login(client, eve.email).status_code == 302
    complete_lessons(client, "welcome", "models")
    return client


def test_quiz_statistics_are_kept_until_the_next_attempt_through_the_real_submission(app, cohort, make_user):
    cohort_id, _ids, _teacher = cohort
    client = _enrolled_learner(app, cohort_id, make_user)
    first, cold = _call(app, cohort_id, _intro)  # warmed after the enrolment and the lessons
    again, warm = _call(app, cohort_id, _intro)
    assert warm < cold  # the first attempts were not read again
    assert (again.attempts, again.average) == (first.attempts, first.average) == (1, 100.0)

    # the learner submits the quiz as learners do: the page shows it at once (only the attempt moved the counter)
    assert submit_quiz(client, "intro-quiz", WRONG_ANSWERS["intro-quiz"]).status_code == 302
    after, _n = _call(app, cohort_id, _intro)
    assert after.attempts == 2
    assert after.average < first.average


def test_quiz_list_follows_attempts(app, cohort, make_user):
    cohort_id, _ids, _teacher = cohort
    client = _enrolled_learner(app, cohort_id, make_user)
    before, _n = _call(app, cohort_id, lambda c, cm: quiz_summaries(c, cm)[0].learners)
    assert submit_quiz(client, "intro-quiz", WRONG_ANSWERS["intro-quiz"]).status_code == 302
    after, _n = _call(app, cohort_id, lambda c, cm: quiz_summaries(c, cm)[0].learners)
    assert (before, after) == (1, 2)


def test_two_cohorts_of_a_course_never_share_numbers(app, cohort, make_user):
    cohort_id, _ids, _teacher = cohort
    other = make_cohort(app, name="Autumn")
    now = utcnow()
    for fn in (_intro, lambda c, cm: quiz_summaries(c, cm)[0].learners, lambda c, cm: overview(c, cm, now).started):
        mine, _n = _call(app, cohort_id, fn)
        theirs, _n = _call(app, other, fn)
        assert mine != theirs or mine == 0 and theirs == 0
    assert _call(app, other, _intro)[0].attempts == 0
    assert _call(app, other, lambda c, cm: overview(c, cm, now).started)[0] == 0


def test_time_dependent_numbers_are_kept_one_minute(app, cohort):
    cohort_id, _ids, _teacher = cohort
    now = utcnow().replace(second=10)
    _v, cold = _call(app, cohort_id, lambda c, cm: overview(c, cm, now))
    _v, warm = _call(app, cohort_id, lambda c, cm: overview(c, cm, now + timedelta(seconds=40)))
    _v, next_minute = _call(app, cohort_id, lambda c, cm: overview(c, cm, now + timedelta(seconds=60)))
    assert warm < cold and next_minute == cold
    with app.app_context():
        kept = [slot for slot in cache._store().entries if slot[0] == "overview"]
    assert len(kept) == 1  # the newer minute replaced the older one


def test_a_course_completion_moves_the_counter(app, cohort, make_user):
    _cohort_id, ids, _teacher = cohort
    before = _version(app)
    complete_course(app, ids[1], utcnow())  # a Completion added through the ORM
    assert _version(app) != before

    # the service's completion (a plain INSERT … ON CONFLICT DO NOTHING, which no flush sees)
    client = _enrolled_learner(app, _cohort_id, make_user, "fin@example.com")
    for lessons in CHAPTER_LESSONS.values():
        complete_lessons(client, *lessons)
    for quiz, answers in RIGHT_ANSWERS.items():
        assert submit_quiz(client, quiz, answers).status_code == 302
    with app.app_context():
        user_id = _db.session.scalar(select(User.id).where(User.email == "fin@example.com"))
        _db.session.execute(delete(BadgeCredential).where(BadgeCredential.user_id == user_id))
        _db.session.execute(delete(Completion).where(Completion.user_id == user_id))
        _db.session.commit()
    before = _version(app)
    with app.test_request_context(method="POST"):
        course = _db.session.scalar(select(Course).join(Cohort, Cohort.course_id == Course.id))
        assert maybe_complete_course(user_id, course) is not None
        _db.session.commit()
    assert _version(app) != before


def test_overview_is_kept_and_follows_a_lesson_view(app, cohort):
    cohort_id, ids, _teacher = cohort
    now = utcnow()
    first, cold = _call(app, cohort_id, lambda c, cm: overview(c, cm, now))
    again, warm = _call(app, cohort_id, lambda c, cm: overview(c, cm, now))
    assert warm < cold and again.started == first.started == 2
    view(app, ids[2], "welcome", now - timedelta(hours=1))
    after, _n = _call(app, cohort_id, lambda c, cm: overview(c, cm, now))
    assert (after.started, after.active) == (3, first.active + 1)


def test_the_counter_moves_with_every_change_the_dashboard_reads(app, cohort, make_user):
    cohort_id, ids, _teacher = cohort
    seen = [_version(app)]

    def changed(fn) -> None:
        with app.test_request_context(method="POST"):
            fn()
            _db.session.commit()
        seen.append(_version(app))
        assert seen[-1] != seen[-2], fn

    other = make_cohort(app, name="Autumn")
    newcomer = make_user(email="new@example.com")
    enrolment = lambda uid: _db.session.scalar(select(Enrolment).where(Enrolment.user_id == uid))  # noqa: E731
    changed(lambda: set_extension(enrolment(ids[2]), 5, ""))
    changed(lambda: move(enrolment(ids[2]), _db.session.get(Cohort, other)))
    changed(lambda: enrol(_db.session.get(Cohort, cohort_id), _db.session.get(User, newcomer.id), check_window=False))
    changed(lambda: unenrol(enrolment(newcomer.id)))
    changed(lambda: setattr(_db.session.get(User, ids[0]), "name", "Ada Lovelace"))
    with app.app_context():
        course_id = _db.session.scalar(select(Cohort.course_id))
    changed(lambda: rollup.lesson_viewed(ids[0], course_id, utcnow()))

    # what the dashboard does not read leaves it alone: a login's time, a cohort's seat count
    with app.app_context():
        _db.session.get(User, ids[1]).last_login_at = utcnow()
        _db.session.commit()
    assert _version(app) == seen[-1]


def test_grid_follows_a_rename(app, cohort):
    cohort_id, ids, _teacher = cohort
    names = lambda c, cm: [r.name for r in lists.grid(c, cm, utcnow(), lists.GridParams()).rows]  # noqa: E731
    assert _call(app, cohort_id, names)[0] == ["Ada", "Bob", "Cy"]
    with app.app_context():
        _db.session.get(User, ids[0]).name = "Zoe"
        _db.session.commit()
    assert _call(app, cohort_id, names)[0] == ["Bob", "Cy", "Zoe"]


def test_at_risk_list_follows_an_extension(app, loaded_course, make_user):
    today = utcnow().date()
    cohort_id = make_cohort(
        app,
        name="Late",
        opens={
            "intro": today - timedelta(days=30),
            "training": today - timedelta(days=20),
            "launch": today - timedelta(days=10),
        },
    )
    uid = add_learner(app, cohort_id, "Di", enrolled_at=utcnow() - timedelta(days=40))

    def risky(c, cm):
        return [r.user_id for r in lists.at_risk(c, cm, utcnow(), lists.AtRiskParams(reason="schedule")).rows]

    assert _call(app, cohort_id, risky)[0] == [uid]
    with app.test_request_context(method="POST"):
        set_extension(_db.session.scalar(select(Enrolment).where(Enrolment.user_id == uid)), 60, "")
        _db.session.commit()
    assert _call(app, cohort_id, risky)[0] == []


def _statements_into_counters(app, fn):
    """fn()'s value, and the statements it ran that write the counters."""
    with app.app_context():
        engine = _db.engine
    writes: list[str] = []

    def count(*args) -> None:
        if "rollup_version" in args[2] and "INSERT" in args[2]:
            writes.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        return fn(), writes
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_submission_moves_the_counter_once_at_its_commit(app, cohort, make_user):
    cohort_id, _ids, _teacher = cohort
    client = _enrolled_learner(app, cohort_id, make_user)
    before = _version(app)
    response, writes = _statements_into_counters(
        app, lambda: submit_quiz(client, "intro-quiz", WRONG_ANSWERS["intro-quiz"])
    )
    assert response.status_code == 302
    assert _version(app) != before
    assert len(writes) == 1  # every counter the submission moved, in one statement at its commit


def test_a_rolled_back_write_moves_no_counter(app, cohort, make_user):
    cohort_id, ids, _teacher = cohort
    newcomer = make_user(email="new@example.com")
    before = _version(app)
    with app.test_request_context(method="POST"):
        course_id = _db.session.scalar(select(Cohort.course_id))
        enrol(_db.session.get(Cohort, cohort_id), _db.session.get(User, newcomer.id), check_window=False)
        rollup.lesson_viewed(ids[0], course_id, utcnow())
        _db.session.flush()
        _db.session.rollback()
        _db.session.commit()  # a later commit does not write what was rolled back
    assert _version(app) == before


def test_the_counters_are_written_at_the_commit_not_at_the_write(app, cohort, make_user):
    cohort_id, _ids, _teacher = cohort
    newcomer = make_user(email="new@example.com")
    with app.test_request_context(method="POST"):
        _n, writes = _statements_into_counters(
            app,
            lambda: enrol(_db.session.get(Cohort, cohort_id), _db.session.get(User, newcomer.id), check_window=False),
        )
        _db.session.flush()
        assert writes == []  # nothing locked while the transaction goes on
        _n, writes = _statements_into_counters(app, _db.session.commit)
        assert len(writes) == 1


def test_a_new_user_moves_no_counter_until_enrolled(app, cohort, make_user):
    cohort_id, _ids, _teacher = cohort
    before = _version(app)
    with app.test_request_context(method="POST"):
        _n, writes = _statements_into_counters(app, lambda: make_user(email="someone@example.com"))
    assert writes == [] and _version(app) == before


def test_a_savepoint_released_moves_the_counter_at_the_outer_commit(app, cohort, make_user):
    cohort_id, ids, _teacher = cohort
    newcomer = make_user(email="new@example.com")
    before = _version(app)
    with app.test_request_context(method="POST"):
        savepoint = _db.session.begin_nested()
        enrol(_db.session.get(Cohort, cohort_id), _db.session.get(User, newcomer.id), check_window=False)
        savepoint.commit()
        _db.session.commit()
    assert _version(app) != before

    # a commit with a savepoint still open commits it too, and writes its records
    before = _version(app)
    with app.test_request_context(method="POST"):
        _db.session.begin_nested()
        rollup.lesson_viewed(ids[0], _db.session.scalar(select(Cohort.course_id)), utcnow())
        _db.session.commit()
    assert _version(app) != before


def _kept(app, kind):
    with app.app_context():
        return [(slot, entry[1]) for slot, entry in cache._store().entries.items() if slot[0] == kind]


def test_quiz_statistics_keep_numbers_per_question_not_answer_rows(app, cohort):
    cohort_id, _ids, _teacher = cohort
    shown, _n = _call(app, cohort_id, _intro)
    ((_slot, (count, _average, per_question)),) = _kept(app, "quiz_stats")
    assert count == 1 and set(per_question) == {q.id for q in shown.questions}
    assert all(
        isinstance(r, quizstats._Reduced) and len(r.answers) <= quizstats.TOP_ANSWERS for r in per_question.values()
    )


def test_the_cache_is_bounded_by_the_ids_it_keeps(monkeypatch):
    monkeypatch.setattr(cache, "BUDGET", 250)
    store = cache._Store()
    for page in range(5):
        store.put(("grid", page), 1, array("i", range(100)))
    assert store.total <= 250 and list(store.entries) == [("grid", 3), ("grid", 4)]
    store.put(("grid", "huge"), 1, array("i", range(1000)))  # larger than the budget: not kept
    assert ("grid", "huge") not in store.entries
    store.put(("grid", 4), 2, array("i", range(10)))  # a newer counter's value replaces the page's older one
    assert store.get(("grid", 4), 1) is None and len(store.get(("grid", 4), 2)) == 10
    assert store.total == sum(entry[2] for entry in store.entries.values())


def test_searches_are_not_kept(app, cohort):
    cohort_id, _ids, _teacher = cohort
    found, _n = _call(
        app, cohort_id, lambda c, cm: [r.name for r in lists.grid(c, cm, utcnow(), lists.GridParams(q="ad")).rows]
    )
    # kept: the cohort's lowered names (course/dashboard/search.py), not what the search found
    assert found == ["Ada"] and all(slot[2][-1] == "" for slot, _ids in _kept(app, "grid"))
    assert len(_kept(app, "search")) == 1
