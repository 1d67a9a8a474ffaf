"""What the busiest writes cost: a quiz submission, a first view of a lesson, a first "mark complete".

Once each has run, running it again compiles no statement: SQLAlchemy caches a statement's compiled form, but never
a dialect's `insert().on_conflict_do_…()` (the roll-up's counters and `insert_ignore` are plain SQL instead) — a
statement it cannot cache shows as NO_CACHE_KEY, one it compiles as CACHE_MISS. And each writes only what changed:
a first view leaves the learner's chapters alone, a completion recomputes the roll-up row's lesson columns (not its
quiz columns) and reads the learner's outline once, a submission takes no savepoint."""

from __future__ import annotations

from conftest import FIXTURE_COURSE, RIGHT_ANSWERS, WRONG_ANSWERS, complete_lessons, lesson_url, submit_quiz
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine.interfaces import CacheStats
from test_page_costs import Statements

from course.badges.models import BadgeCredential
from course.content.models import Lesson
from course.db_types import utcnow
from course.extensions import db as _db
from course.progress import rollup
from course.progress.models import Completion, LessonProgress

COMPILED = (CacheStats.CACHE_MISS, CacheStats.NO_CACHE_KEY)


class Compiled(Statements):
    """The statements the app's engine compiled (or could not cache) inside the block."""

    EVENT = "after_cursor_execute"

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if context is not None and context.compiled is not None and context.cache_hit in COMPILED:
            self.sql.append(" ".join(statement.split())[:120])


def test_a_submission_compiles_nothing_once_one_ran(app, loaded_course, client, learner):
    complete_lessons(client, "welcome", "models")
    # a first pass, then an attempt that passes again, then wrong answers (review cards): each kind once …
    for answers in (RIGHT_ANSWERS, RIGHT_ANSWERS, WRONG_ANSWERS):
        assert submit_quiz(client, "intro-quiz", answers["intro-quiz"]).status_code == 302
    # … and again: nothing compiled
    for answers in (RIGHT_ANSWERS, WRONG_ANSWERS):
        with Compiled(app) as compiled:
            assert submit_quiz(client, "intro-quiz", answers["intro-quiz"]).status_code == 302
        assert compiled.sql == [], compiled.sql


def test_a_first_view_and_a_first_completion_compile_nothing_once_one_ran(app, loaded_course, client, learner):
    assert client.get(lesson_url("welcome")).status_code == 200
    complete_lessons(client, "welcome")
    with Compiled(app) as viewed:
        assert client.get(lesson_url("models")).status_code == 200  # a first view of another lesson
    with Compiled(app) as completed:
        complete_lessons(client, "models")
    assert viewed.sql == [], viewed.sql
    assert completed.sql == [], completed.sql


def test_a_first_view_recomputes_the_lesson_columns_only(app, loaded_course, client, learner):
    assert client.get(lesson_url("welcome")).status_code == 200  # the learner's first: their roll-up row is made
    with Statements(app) as seen:
        assert client.get(lesson_url("models")).status_code == 200
    tables = seen.tables()
    assert "INSERT lesson_progress" in tables
    assert "UPDATE learner_course_stats" in tables  # their row's lesson columns
    assert "INSERT learner_course_stats" not in tables, tables  # not the whole row
    assert not [sql for sql in seen.sql if "learner_chapter_done" in sql], tables  # nor their chapters


def test_a_first_completion_reads_the_outline_once(app, loaded_course, client, learner):
    assert client.get(lesson_url("welcome")).status_code == 200
    with Statements(app) as seen:
        complete_lessons(client, "welcome")
    tables = seen.tables()
    assert "UPDATE lesson_progress" in tables
    assert "UPDATE learner_course_stats" in tables and "INSERT learner_course_stats" not in tables, tables
    assert any("INSERT INTO learner_chapter_done" in sql for sql in seen.sql)  # a lesson completed may complete one
    outline_reads = [sql for sql in seen.sql if sql.count("UNION ALL") >= 4]  # learner_state's one statement
    assert len(outline_reads) == 1, tables


def test_a_first_completion_refreshes_the_roll_up_in_two_statements_on_postgresql(app, loaded_course, client, learner):
    """The row's lesson columns and whether anything is left are one UPDATE … RETURNING; the chapters are recomputed
    by one statement on PostgreSQL (its DELETE in the WITH), two on SQLite (which has no DELETE in a WITH)."""
    assert client.get(lesson_url("welcome")).status_code == 200
    with Statements(app) as seen:
        complete_lessons(client, "welcome")
    with app.app_context():
        postgres = _db.engine.dialect.name == "postgresql"
    stats = [sql for sql in seen.sql if "learner_course_stats" in sql]
    assert len(stats) == 1 and stats[0].startswith("UPDATE") and "RETURNING" in stats[0], stats
    chapters = [sql for sql in seen.sql if "learner_chapter_done" in sql]
    assert len(chapters) == (1 if postgres else 2), chapters


def test_the_last_lesson_left_still_completes_the_course(app, loaded_course, client, learner):
    """Skipping the second outline read must not skip the completion: the roll-up row, recomputed under the write
    lock, counts everything done when the lesson was the last thing left."""
    complete_lessons(client, "welcome", "models", "data", "tuning", "pricing", "growth")
    for quiz in ("intro-quiz", "training-quiz", "launch-quiz"):
        assert submit_quiz(client, quiz, RIGHT_ANSWERS[quiz]).status_code == 302
    with app.test_request_context(method="POST"):  # everything done but one lesson, and no completion yet
        _db.session.execute(delete(BadgeCredential))
        _db.session.execute(delete(Completion))
        lesson_id = _db.session.scalar(select(Lesson.id).where(Lesson.key == "growth"))
        _db.session.execute(
            update(LessonProgress).where(LessonProgress.lesson_id == lesson_id).values(completed_at=None)
        )
        rollup.refresh_learner(learner.id, _db.session.get(Lesson, lesson_id).course_id)
        _db.session.commit()
    done = client.post(f"{lesson_url('growth')}/complete")
    assert done.status_code == 302 and "/summary" in done.location, done.location
    with app.app_context():
        assert _db.session.scalar(select(func.count(Completion.id))) == 1


def test_a_lesson_archived_after_the_outline_was_read_does_not_hold_back_the_completion(
    app, loaded_course, client, learner
):
    """The outline the view read may be older than the write: a content load archived the other lesson left in
    between. Everything is then done, and the completion must be issued (the counts come from the same statement
    as the learner's numbers, not from the outline read before)."""
    from course.content.lookup import get_course_or_404
    from course.progress import journey
    from course.progress.outline import build_outline

    complete_lessons(client, "welcome", "models", "data", "tuning", "pricing", "growth")
    for quiz in ("intro-quiz", "training-quiz", "launch-quiz"):
        assert submit_quiz(client, quiz, RIGHT_ANSWERS[quiz]).status_code == 302
    with app.test_request_context(method="POST"):
        _db.session.execute(delete(BadgeCredential))
        _db.session.execute(delete(Completion))
        left = _db.session.scalars(select(Lesson).where(Lesson.key.in_(("pricing", "growth")))).all()
        _db.session.execute(
            update(LessonProgress)
            .where(LessonProgress.lesson_id.in_([lesson.id for lesson in left]))
            .values(completed_at=None)
        )
        course_id = left[0].course_id
        rollup.refresh_learner(learner.id, course_id)
        _db.session.commit()
        course = get_course_or_404(FIXTURE_COURSE)
        outline = build_outline(course, learner.id)  # read before the load: two lessons left
        chapter, status = outline.find_lesson("growth")
        assert sum(not ls.completed for ls in outline.lessons) == 2
        pricing = next(lesson for lesson in left if lesson.key == "pricing")
        pricing.archived_at = utcnow()  # the load, meanwhile
        rollup.refresh_course(course_id)
        _db.session.commit()
        done = journey.complete_lesson(learner.id, outline, chapter, status)
        _db.session.commit()
        assert done.completed_course
        assert _db.session.scalar(select(func.count(Completion.id))) == 1


def test_passing_the_last_quiz_while_another_tab_finished_the_last_lesson_completes_the_course(
    app, loaded_course, client, learner
):
    """Two tabs finish the last two items at once: the submission's outline, read before its write, still shows the
    lesson undone. With little left, the learner's roll-up row, recomputed in the write, decides: completed."""
    from conftest import quiz_form
    from werkzeug.datastructures import MultiDict

    from course.content.cache import quiz_with_questions
    from course.content.lookup import get_course_or_404
    from course.progress import journey
    from course.progress.outline import build_outline

    complete_lessons(client, "welcome", "models", "data", "tuning", "pricing", "growth")
    for quiz in ("intro-quiz", "training-quiz"):
        assert submit_quiz(client, quiz, RIGHT_ANSWERS[quiz]).status_code == 302
    form = quiz_form(client, "launch-quiz", RIGHT_ANSWERS["launch-quiz"])
    with app.test_request_context(method="POST"):
        _db.session.execute(delete(BadgeCredential))
        _db.session.execute(delete(Completion))
        lesson = _db.session.scalars(select(Lesson).where(Lesson.key == "welcome")).one()  # an earlier chapter's
        _db.session.execute(
            update(LessonProgress).where(LessonProgress.lesson_id == lesson.id).values(completed_at=None)
        )
        rollup.refresh_learner(learner.id, lesson.course_id)
        _db.session.commit()
        course = get_course_or_404(FIXTURE_COURSE)
        outline = build_outline(course, learner.id)  # the submitting tab's read: the lesson and the quiz left
        _chapter, status = outline.find_quiz("launch-quiz")
        status.quiz = quiz_with_questions(course, status.quiz)
        assert outline.left_but(status.quiz) == 1
        checked = journey.check_submission(learner.id, outline, status, MultiDict(form))
        assert checked.ready, checked
        _db.session.execute(  # the other tab's completion, committed meanwhile
            update(LessonProgress).where(LessonProgress.lesson_id == lesson.id).values(completed_at=utcnow())
        )
        rollup.refresh_learner(learner.id, lesson.course_id)
        _db.session.commit()
        recorded = journey.record_submission(
            learner.id, course, outline, status, checked.submission, form["submission_key"]
        )
        _db.session.commit()
        assert recorded.created and recorded.attempt.passed
        assert _db.session.scalar(select(func.count(Completion.id))) == 1


def test_a_submission_takes_no_savepoint(app, loaded_course, client, learner):
    """Its count is read under the learner's lock (PostgreSQL) or the write lock (SQLite): no other transaction can
    take the number meanwhile, so there is nothing to count again."""
    complete_lessons(client, "welcome", "models")
    with Statements(app) as seen:
        assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    assert "INSERT quiz_attempt" in seen.tables()
    assert not [sql for sql in seen.sql if "SAVEPOINT" in sql.upper()], seen.sql


def test_only_a_views_transaction_commits_without_waiting_for_the_disk(app, loaded_course, client, learner):
    """PostgreSQL: a lesson view's transaction turns `synchronous_commit` off for itself (asynchronous commit: a
    crash of the server may lose the last fraction of a second of views); a completion and a quiz attempt wait for
    the disk, and the setting does not outlive the view's transaction on its connection. SQLite: nothing of it."""
    with app.app_context():
        postgres = _db.engine.dialect.name == "postgresql"
    with Statements(app) as viewed:
        assert client.get(lesson_url("welcome")).status_code == 200  # a first view, with nothing read before
        assert client.get(lesson_url("models")).status_code == 200  # one that credits the lesson read before
    with Statements(app) as durable:
        complete_lessons(client, "welcome", "models")
        assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    lazy = [sql for sql in viewed.sql if "synchronous_commit" in sql]
    assert len(lazy) == (2 if postgres else 0), viewed.tables()
    assert all("FOR NO KEY UPDATE" in sql and "set_config" in sql for sql in lazy)  # in the statement taking the lock
    assert not any("synchronous_commit" in sql for sql in durable.sql)
    if postgres:
        with app.app_context():
            rows = _db.session.connection()  # the pool's connection the requests used (the client's only one)
            assert rows.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
            _db.session.rollback()
    with app.app_context():
        assert _db.session.scalar(select(func.count(LessonProgress.id))) == 2
