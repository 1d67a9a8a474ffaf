"""What a quiz submission and the outline page cost beyond their own work: the receivers of `attempt_recorded` do
nothing they need not (no search for review cards an attempt cannot make, one plain check for an LTI launch), the
rate-limit counter runs on the driver, outside SQLAlchemy's transactions, SQLite records an attempt without a
savepoint, and the outline asks for announcements only for a learner in a cohort."""

from __future__ import annotations

import re
import time

import pytest
from conftest import RIGHT_ANSWERS, WRONG_ANSWERS, complete_lessons, submit_quiz
from sqlalchemy import event, select, text
from test_page_costs import Statements

from course.extensions import db as _db
from course.progress.review_models import ReviewCard

OUTLINE = "/courses/mini-course"


def _card_count(app, user_id: int) -> int:
    with app.app_context():
        return len(_db.session.scalars(select(ReviewCard.id).where(ReviewCard.user_id == user_id)).all())


def test_only_an_attempt_that_can_make_review_cards_looks_for_them(app, loaded_course, client, learner):
    """intro-quiz reveals its answers after each attempt: its wrong answers become cards at once. An attempt with
    every answer right at a quiz passed before can make none, and does not look."""
    complete_lessons(client, "welcome", "models")
    with Statements(app) as first_pass:
        assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    assert any("review_card" in sql for sql in first_pass.sql)  # a first pass may open earlier mistakes
    with Statements(app) as right_again:
        assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    assert not any("review_card" in sql for sql in right_again.sql), right_again.tables()
    assert _card_count(app, learner.id) == 0
    with Statements(app) as wrong:
        assert submit_quiz(client, "intro-quiz", WRONG_ANSWERS["intro-quiz"]).status_code == 302
    assert any("review_card" in sql for sql in wrong.sql)
    assert _card_count(app, learner.id) == len(WRONG_ANSWERS["intro-quiz"])


def test_a_first_pass_locks_the_learner_once(app, loaded_course, client, learner):
    """The submission holds their row FOR UPDATE (PostgreSQL) when the roll-up recomputes everything for a first
    pass: the roll-up takes no second lock (SQLite: the write lock, no row lock at all)."""
    complete_lessons(client, "welcome", "models")
    with Statements(app) as first_pass:
        assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    assert any("INSERT INTO learner_course_stats" in sql for sql in first_pass.sql)  # everything recomputed
    locks = [sql for sql in first_pass.sql if "FOR UPDATE" in sql or "FOR NO KEY UPDATE" in sql]
    with app.app_context():
        postgres = _db.engine.dialect.name == "postgresql"
    assert len(locks) == (1 if postgres else 0), locks
    assert not postgres or "FOR UPDATE" in locks[0] and "NO KEY" not in locks[0]


def test_a_learner_who_never_launched_from_a_platform_queues_no_score(app, loaded_course, client, learner):
    """Grade passback asks for a platform's links only for an account a launch made: for the others (read with the
    signed-in user) no LTI statement at all, no score row."""
    complete_lessons(client, "welcome", "models")
    with Statements(app) as seen:
        assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    lti = [table for table in seen.tables() if "lti_" in table]
    assert lti == [], lti
    with app.app_context():
        assert _db.session.execute(text("SELECT count(*) FROM lti_score")).scalar() == 0


def test_an_account_a_launch_made_is_asked_for_its_links(app, loaded_course, client, learner):
    """The same submission by an account from a platform: the one check (a plain statement; no link, no score)."""
    from course.accounts.models import User

    with app.app_context():
        _db.session.get(User, learner.id).from_platform = True
        _db.session.commit()
    complete_lessons(client, "welcome", "models")
    with Statements(app) as seen:
        assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    lti = [table for table in seen.tables() if "lti_" in table]
    assert lti == ["SELECT lti_resource_link"], lti


def test_the_rate_limit_counter_runs_on_the_driver_outside_sqlalchemy(app, loaded_course, client, learner):
    """Its one statement costs no SQLAlchemy transaction (no BEGIN, COMMIT or isolation level around it): what
    SQLAlchemy runs for a submission holds no counter statement, and the counter still moved by one."""
    complete_lessons(client, "welcome", "models")
    with Statements(app) as seen:
        assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    assert not [sql for sql in seen.sql if "rate_limit_counter" in sql]
    before = _quiz_counts(app)
    assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    assert _quiz_counts(app) == [count + 1 for count in before]


def _quiz_counts(app) -> list[int]:
    with app.app_context():
        rows = _db.session.execute(text("SELECT count FROM rate_limit_counter WHERE key LIKE '%quiz%'")).all()
        _db.session.rollback()
    assert len(rows) == 1, rows  # the learner's one quiz counter
    return [rows[0][0]]


def test_a_counted_hit_is_committed_and_its_connection_given_back_as_it_came(app):
    """`_increment` returns with the hit committed (another connection sees it) and the connection in the mode it
    was lent in: a PostgreSQL connection is in autocommit only for the statement."""
    from course.ratelimit import _increment

    with app.app_context():
        engine = _db.engine
        engine.dispose()  # no connection in the pool: the counter's is the one made for it
        params = {"key": "test:hit", "amount": 1, "now": time.time(), "expires_at": time.time() + 60}
        assert _increment(engine, params)[0] == 1
        assert _increment(engine, params)[0] == 2
        with engine.connect() as one, engine.connect() as two:  # the counter's connection, given back, and another
            if engine.dialect.name == "postgresql":  # in autocommit only for the statement
                assert [c.connection.dbapi_connection.autocommit for c in (one, two)] == [False, False]
            for conn in (one, two):  # committed: seen from another connection too
                assert conn.execute(text("SELECT count FROM rate_limit_counter WHERE key = 'test:hit'")).scalar() == 2
                conn.rollback()  # (SQLite: outside a request a connection begins with the write lock)


def test_sqlite_records_an_attempt_without_a_savepoint(app, loaded_course, client, learner):
    """Its transaction holds the database's write lock from before the count: no other writer can take the number.
    (PostgreSQL's holds the learner's row lock: tests/test_write_costs.py checks neither engine takes a savepoint.)"""
    with app.app_context():
        if _db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's write lock")
    complete_lessons(client, "welcome", "models")
    with Statements(app) as seen:
        assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    assert "INSERT quiz_attempt" in seen.tables()
    assert not [sql for sql in seen.sql if "SAVEPOINT" in sql.upper()]


def test_the_outline_asks_for_announcements_only_in_a_cohort(app, loaded_course, client, learner):
    from test_page_costs import enrol_in_a_cohort_with_a_schedule

    with Statements(app) as alone:
        page = client.get(OUTLINE)
    assert page.status_code == 200
    assert not any("announcement" in sql for sql in alone.sql)
    enrol_in_a_cohort_with_a_schedule(app, learner)
    with Statements(app) as in_a_cohort:
        assert client.get(OUTLINE).status_code == 200
    assert any("announcement" in sql for sql in in_a_cohort.sql)


def test_the_outline_counts_the_reviews_due_with_the_learners_outline(app, loaded_course, client, learner):
    """The outline's "N reviews due" is one more branch of the learner's outline statement, not one of its own: a
    learner in no cohort costs the user and that one statement (which reads the course's row too)."""
    from test_review import fail_intro

    fail_intro(client)  # one wrong answer: a card due at once
    with Statements(app) as seen:
        page = client.get(OUTLINE)
    assert page.status_code == 200 and "1 review due" in page.get_data(as_text=True)
    reads = [t for t in seen.tables() if t != "BEGIN"]
    assert reads == ["SELECT user_account", "SELECT course"], reads
    assert "review_card" in seen.sql[-1] and "lesson_progress" in seen.sql[-1]


def test_the_outline_shows_one_progress_bar_for_the_course_and_one_per_module(app, loaded_course, client, learner):
    """The module bars come from the progress bar's macro, the course's from its include: the same markup."""
    complete_lessons(client, "welcome")
    page = client.get(OUTLINE).get_data(as_text=True)
    bars = re.findall(r'<div class="progress" role="progressbar"[^>]*aria-valuenow="(\d+)"[^>]*>', page)
    modules = page.count('<section class="module"')
    assert modules >= 2 and len(bars) == 1 + modules, (bars, modules)
    shown = r'<progress max="100" value="(\d+)">\1%</progress>\s*<span class="progress-text">\1%</span>'
    values = re.findall(shown, page)
    assert values == bars


def test_an_attempt_the_constraints_refuse_is_a_409_that_records_nothing(
    app, loaded_course, client, learner, monkeypatch
):
    """Without a savepoint, a unique violation (another transaction took the number or key: all but impossible
    under the learner's lock) ends the write whole: the quiz again with a 409, never a 500, nothing recorded."""
    from sqlalchemy.exc import IntegrityError

    from course.progress import journey
    from course.quiz.models import Attempt

    complete_lessons(client, "welcome", "models")
    record = journey.record_submission

    def refused(*args, **kwargs):
        record(*args, **kwargs)  # written, then refused as the constraint would: the block rolls it back
        raise IntegrityError("INSERT INTO quiz_attempt …", {}, Exception("duplicate key"))

    monkeypatch.setattr(journey, "record_submission", refused)
    response = submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"])
    assert response.status_code == 409
    assert "out of date" in response.get_data(as_text=True)
    with app.app_context():
        assert _db.session.scalars(select(Attempt).where(Attempt.user_id == learner.id)).all() == []


def test_a_submissions_writes_run_in_one_transaction_after_a_counter_on_postgresql(app, loaded_course, client, learner):
    """The counter takes a connection from the pool into autocommit and gives it back as it came: the attempt's
    own statements, after it, on the same connections, still run in one transaction."""
    with app.app_context():
        engine = _db.engine
        if engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's autocommit")
    complete_lessons(client, "welcome", "models")
    modes: list[tuple[str, bool]] = []

    def record(conn, _cursor, statement, _params, _context, _many) -> None:
        written = re.search(r"INSERT\s+INTO\s+(\w+)", statement)  # the first: PostgreSQL's attempt and answers are one
        if written:
            modes.append((f"INSERT {written[1]}", conn.connection.dbapi_connection.autocommit))
        elif "synchronous_commit" in statement:
            modes.append((statement, conn.connection.dbapi_connection.autocommit))

    engine.dispose()  # fresh connections too: the first use of one may be a counter's
    event.listen(engine, "before_cursor_execute", record)
    try:
        for _ in range(3):  # the pool's connections each taken for a counter, then for a request's writes
            assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    finally:
        event.remove(engine, "before_cursor_execute", record)
    attempts = [autocommit for statement, autocommit in modes if statement == "INSERT quiz_attempt"]
    assert attempts == [False, False, False], modes
    assert not any("synchronous_commit" in statement for statement, _ in modes)


def test_an_attempts_answers_are_one_statement_on_postgresql_and_kept_as_sent(app, loaded_course, client, learner):
    """PostgreSQL: the attempt and every answer of it in one statement (the answers one JSON array), not an INSERT and
    psycopg's `executemany`, which runs one INSERT per answer on the server. The rows are what the learner sent,
    whatever the engine: the choices' option keys as a list, a typed answer as its text (quotes, another script), in
    the quiz's order."""
    from course.content.models import Question
    from course.quiz.models import Attempt, AttemptAnswer

    complete_lessons(client, "welcome", "models")
    typed = 'the "fine" 微调 \\ tuning'
    answers = {**RIGHT_ANSWERS["intro-quiz"], "intro-q4": typed}
    inserts: list[bool] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        tables = tuple(table for table in ("quiz_attempt", "attempt_answer") if f"INSERT INTO {table}" in statement)
        if tables:
            inserts.append((tables, executemany))

    with app.app_context():
        engine = _db.engine
        postgres = engine.dialect.name == "postgresql"
    event.listen(engine, "after_cursor_execute", record)
    try:
        assert submit_quiz(client, "intro-quiz", answers).status_code == 302
    finally:
        event.remove(engine, "after_cursor_execute", record)
    if postgres:  # one statement, one round trip
        assert inserts == [(("quiz_attempt", "attempt_answer"), False)]
    else:  # the attempt, then its answers' one prepared statement run for each
        assert inserts == [(("quiz_attempt",), False), (("attempt_answer",), True)]
    with app.app_context():
        attempt = _db.session.scalars(select(Attempt).where(Attempt.user_id == learner.id)).one()
        rows = _db.session.execute(
            select(Question.key, AttemptAnswer.position, AttemptAnswer.response, AttemptAnswer.correct)
            .join(Question, Question.id == AttemptAnswer.question_id)
            .where(AttemptAnswer.attempt_id == attempt.id)
            .order_by(AttemptAnswer.position)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("intro-q1", 1, ["a"], True),
        ("intro-q2", 2, ["a", "b"], True),
        ("intro-q3", 3, ["false"], True),
        ("intro-q4", 4, typed, False),
    ]
    assert attempt.score == 3 and attempt.max_score == 4


def test_a_submission_is_graded_before_its_write_begins(app, loaded_course, client, learner, monkeypatch):
    """Grading depends on the quiz and the answers alone: it runs before the attempt's write transaction (on SQLite,
    before the database's one write lock is taken, which a second writer would wait on meanwhile), once."""
    from flask import g

    import course.quiz.grading as grading

    graded_while = []
    grade = grading.grade

    def watched(*args, **kwargs):
        graded_while.append(bool(g.get("request_writes")))  # set inside `course.sql.writing()`
        return grade(*args, **kwargs)

    monkeypatch.setattr(grading, "grade", watched)
    complete_lessons(client, "welcome", "models")
    assert submit_quiz(client, "intro-quiz", WRONG_ANSWERS["intro-quiz"]).status_code == 302
    assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    assert graded_while == [False, False]
    with app.app_context():
        scores = _db.session.execute(text("SELECT passed FROM quiz_attempt ORDER BY number")).scalars().all()
    assert [bool(passed) for passed in scores] == [False, True]  # what was graded before is what was recorded


def test_postgresql_counts_a_learners_attempts_in_the_statement_that_writes_the_next(
    app, loaded_course, client, learner
):
    """The attempt the quiz page issued its key for is counted and written in one statement under the learner's lock:
    the write is the lock, that statement, then the roll-up (SQLite: the count read, then the attempt)."""
    complete_lessons(client, "welcome", "models")
    with Statements(app) as seen:
        assert submit_quiz(client, "intro-quiz", WRONG_ANSWERS["intro-quiz"]).status_code == 302
    with app.app_context():
        postgres = _db.engine.dialect.name == "postgresql"
    tables = seen.tables()
    written = tables.index("INSERT quiz_attempt")
    counts = [sql for sql in seen.sql if sql.startswith("SELECT count(quiz_attempt.id)") and "submission_key" in sql]
    if postgres:
        assert tables[written - 1] == "SELECT user_account" and "FOR UPDATE" in seen.sql[written - 1], tables
        assert "count(a.id)" in seen.sql[written] and counts == [], counts
    else:
        assert counts and seen.sql.index(counts[-1]) < written, tables
    with app.app_context():
        numbers = _db.session.execute(text("SELECT number, passed FROM quiz_attempt")).all()
    assert [tuple(row) for row in numbers] == [(1, False)]


def _record(app, learner, key_for: int, expected: int | None, answers: dict):
    """`attempts.record` of the intro quiz as a request would call it: the key of attempt `key_for`, `expected` as the
    request read it. Returns (attempt number, created), or the exception it raised; committed either way."""
    from werkzeug.datastructures import MultiDict

    from course.content.models import Quiz
    from course.quiz import attempts, grading
    from course.quiz.layout import attempt_key

    with app.test_request_context(method="POST"):
        quiz = _db.session.scalar(select(Quiz).where(Quiz.key == "intro-quiz"))
        chosen = {question: value if isinstance(value, list) else [value] for question, value in answers.items()}
        form = MultiDict([(question, option) for question, options in chosen.items() for option in options])
        submission = grading.read_submission(quiz, form)
        try:
            attempt, created = attempts.record(
                learner.id, quiz, submission, attempt_key(learner.id, quiz, key_for), expected=expected
            )
        except attempts.SubmissionError as refused:
            _db.session.rollback()
            return refused
        _db.session.commit()
        return attempt.number, created


def test_an_attempt_counted_and_written_in_one_statement_keeps_every_rule(app, loaded_course, client, learner):
    """The statement that counts and writes an attempt (PostgreSQL) writes nothing when the count is not what the
    request read, and the submission is then judged as before: the same key again returns the attempt it made, a key
    for a number not yet reached is stale; a caller's number that is not its key's is judged on the count read under
    the lock. SQLite reads the count first: the same answers."""
    from course.quiz.attempts import StaleKey
    from course.quiz.models import Attempt

    complete_lessons(client, "welcome", "models")
    wrong, right = WRONG_ANSWERS["intro-quiz"], RIGHT_ANSWERS["intro-quiz"]
    assert _record(app, learner, 1, 1, wrong) == (1, True)
    assert _record(app, learner, 1, 1, wrong) == (1, False)  # a retry the request read before the first committed
    assert isinstance(_record(app, learner, 3, 3, wrong), StaleKey)  # the count is 1: attempt 3's key is not the next
    assert _record(app, learner, 2, 1, right) == (
        2,
        True,
    )  # the caller's number and the key disagree: the count decides
    with app.app_context():
        rows = _db.session.execute(select(Attempt.number, Attempt.passed).where(Attempt.user_id == learner.id)).all()
    assert sorted(tuple(row) for row in rows) == [(1, False), (2, True)]
