"""What the learner's busiest pages cost, and the process's copy of course content that keeps it low.

- The cached outline rows and quizzes (`course.content.cache`) are never stale: a load in this process, a
  load by another process (seen only as a new content version in the database), an ORM change.
- A lesson page runs a fixed list of statements and, on SQLite, reads without the write lock; a lesson view
  is recorded to the minute; a quiz submission grades without the write lock and writes after it.
- Rate-limit headers come from the counter the request just wrote, not from more queries.
- A worker gives back password hashing's memory (glibc), and the production entry point leaves Alembic out.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from conftest import (
    RIGHT_ANSWERS,
    ROOT,
    WRONG_ANSWERS,
    complete_lessons,
    lesson_url,
    load,
    quiz_form,
    quiz_url,
    submit_quiz,
)
from sqlalchemy import create_engine, event, select, update

from course.clock import today
from course.cohorts.enrolment import enrol
from course.cohorts.schedule import set_schedule
from course.content.models import Course, Lesson
from course.db_types import utcnow
from course.extensions import db as _db
from course.progress.models import LessonProgress


class Statements:
    """Every SQL statement the app's engine runs inside the block (`EVENT`: the engine event that records one)."""

    EVENT = "before_cursor_execute"

    def __init__(self, app) -> None:
        with app.app_context():
            self.engine = _db.engine
        self.sql: list[str] = []

    def __enter__(self):
        event.listen(self.engine, self.EVENT, self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, self.EVENT, self._record)

    def _record(self, conn, cursor, statement, *args) -> None:
        self.sql.append(" ".join(statement.split()))

    def tables(self) -> list[str]:
        """Each statement as its verb and first table, e.g. "SELECT lesson_progress"; a WITH that writes as its first
        write, e.g. "INSERT quiz_attempt"."""
        out = []
        for sql in self.sql:
            words = sql.replace('"', "").replace("(", " ").split()
            writes = [i for i, w in enumerate(words) if w.upper() in ("INSERT", "UPDATE", "DELETE")]
            if words[0].upper() == "WITH" and writes:
                words = words[writes[0] :]  # a data-modifying WITH (PostgreSQL's statements doing two things)
            verb = words[0].upper()
            table = next((words[i + 1] for i, w in enumerate(words[:-1]) if w.upper() in ("FROM", "INTO")), "")
            if verb == "UPDATE":
                table = words[1]
            out.append(f"{verb} {table}".strip())
        return out


def sqlite_only(app) -> None:
    with app.app_context():
        if _db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's transaction modes")


def lesson_title(client, lesson: str) -> str:
    html = client.get(lesson_url(lesson)).get_data(as_text=True)
    return html.split("<h1>", 1)[1].split("</h1>", 1)[0]


# -- the cache is never stale -----------------------------------------------------------------------------
def test_a_load_in_this_process_is_seen_by_the_next_page(app, loaded_course, client, learner):
    assert lesson_title(client, "welcome") == "1.1 Welcome"
    lesson_file = loaded_course.root / "mini-course/01-basics/01-intro/01-welcome.md"
    lesson_file.write_text(lesson_file.read_text().replace("title: 1.1 Welcome", "title: 1.1 Welcome back"))
    assert load(app, loaded_course.root).applied
    assert lesson_title(client, "welcome") == "1.1 Welcome back"


def test_a_load_by_another_process_is_seen_through_the_content_version(app, loaded_course, client, learner):
    """Another instance (or the CLI) loaded new content: this process learns it only from the database."""
    assert lesson_title(client, "welcome") == "1.1 Welcome"
    with app.app_context():
        other = create_engine(_db.engine.url)  # a connection of its own: no ORM flush in this process
    with other.begin() as conn:
        conn.execute(update(Lesson).where(Lesson.key == "welcome").values(title="Changed elsewhere"))
        conn.execute(update(Course).values(content_version="another-version"))
    other.dispose()
    assert lesson_title(client, "welcome") == "Changed elsewhere"


def test_an_orm_change_in_this_process_is_seen_at_once(app, loaded_course, client, learner):
    complete_lessons(client, "welcome")
    assert f'href="{lesson_url("models")}"' in client.get(lesson_url("welcome")).get_data(as_text=True)
    with app.app_context():
        lesson = _db.session.scalar(select(Lesson).where(Lesson.key == "models"))
        lesson.archived_at = utcnow()
        _db.session.commit()
    page = client.get(lesson_url("welcome")).get_data(as_text=True)
    assert f'href="{lesson_url("models")}"' not in page
    assert client.get(lesson_url("models")).status_code == 404


def test_a_changed_lesson_text_is_seen_on_the_lesson_page(app, loaded_course, client, learner):
    """The lesson's text is kept by the process after its first reading; a load that changes it is seen."""
    assert "The text after the diagram." in client.get(lesson_url("welcome")).get_data(as_text=True)
    lesson_file = loaded_course.root / "mini-course/01-basics/01-intro/01-welcome.md"
    lesson_file.write_text(lesson_file.read_text().replace("The text after the diagram.", "A revised closing line."))
    assert load(app, loaded_course.root).applied
    page = client.get(lesson_url("welcome")).get_data(as_text=True)
    assert "A revised closing line." in page and "The text after the diagram." not in page


def test_a_load_that_only_renders_anew_moves_the_cache_key(app, loaded_course, monkeypatch):
    """The same files rendered differently (a new Markdown renderer): the files' digest stays, so the load
    moves the course's `loaded_at`, which every process's cached copies are keyed by; a load with nothing to
    write leaves it."""
    from course.content import loader

    def loaded_at() -> object:
        with app.app_context():
            return _db.session.scalar(select(Course.loaded_at))

    before = loaded_at()
    assert load(app, loaded_course.root).plan.empty
    assert loaded_at() == before
    monkeypatch.setattr(loader, "render_markdown", lambda text: "<p>rendered anew</p>")
    result = load(app, loaded_course.root)
    assert result.plan.count("lesson", "changed")
    assert loaded_at() > before


def test_a_changed_question_is_seen_on_the_quiz_page(app, loaded_course, client, learner):
    complete_lessons(client, "welcome", "models")
    assert "What defines a large model?" in client.get(quiz_url("intro-quiz")).get_data(as_text=True)
    quiz_file = loaded_course.root / "mini-course/01-basics/01-intro/quiz.yaml"
    quiz_file.write_text(quiz_file.read_text().replace("What defines a large model?", "What makes a model large?"))
    assert load(app, loaded_course.root).applied
    page = client.get(quiz_url("intro-quiz")).get_data(as_text=True)
    assert "What makes a model large?" in page and "What defines a large model?" not in page
    assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302


def test_a_rolled_back_request_leaves_the_shared_copies_usable(app, loaded_course, client, learner):
    """A refused form rolls its request back; the cached rows it showed are not part of that session."""
    client.get(lesson_url("welcome"))
    too_long = "x" * (app.config["WORKBOOK_MAX_CHARS"] + 1)
    refused = client.post("/courses/mini-course/workbook/wb-goal", data={"wb-wb-goal-answer": too_long})
    assert refused.status_code == 400
    complete_lessons(client, "welcome", "models")
    assert submit_quiz(client, "intro-quiz", {"intro-q1": "a"}).status_code == 400  # incomplete: rolled back
    assert lesson_title(client, "welcome") == "1.1 Welcome"
    assert client.get(quiz_url("intro-quiz")).status_code == 200


# -- a lesson page --------------------------------------------------------------------------------------
def enrol_in_a_cohort_with_a_schedule(app, learner) -> None:
    """The learner in a cohort that began a month ago, where the chapter of lesson "pricing" opens next week."""
    from course.accounts.models import User
    from course.cohorts import services as cohorts
    from course.content.models import Chapter

    with app.test_request_context(method="POST"):
        course = _db.session.scalar(select(Course))
        start = today() - timedelta(days=30)
        settings = cohorts.CohortSettings(name="Scheduled", starts_on=start, ends_on=start + timedelta(weeks=10))
        cohort = cohorts.create_cohort(course, settings, [])
        later = _db.session.scalar(select(Lesson.chapter_id).where(Lesson.key == "pricing"))
        dates = {c: start for c in _db.session.scalars(select(Chapter.id))} | {later: today() + timedelta(7)}
        set_schedule(cohort, dates)
        enrol(cohort, _db.session.get(User, learner.id), check_window=False)
        _db.session.commit()


@pytest.mark.parametrize("in_a_cohort", [False, True], ids=["self-paced", "in a cohort with a schedule"])
def test_a_lesson_page_runs_a_fixed_list_of_statements(app, loaded_course, client, learner, in_a_cohort):
    if in_a_cohort:
        enrol_in_a_cohort_with_a_schedule(app, learner)
    client.get(lesson_url("models"))  # first view: recorded, and the course's outline rows and the lesson's text cached
    with Statements(app) as seen:
        page = client.get(lesson_url("models"))
        assert page.status_code == 200
    if in_a_cohort:  # the schedule was read with the rest: the chapter of "pricing" opens next week
        assert client.get(lesson_url("pricing")).status_code == 403
    expected = [
        "SELECT user_account",  # the session's user, through its login session (flask-login)
        # one UNION: the course's row (its content version), the learner's progress, quiz results, completion, cohort
        # and its schedule, and their answers to the lesson's workbook prompts
        "SELECT course",
    ]
    with app.app_context():
        if _db.engine.dialect.name == "sqlite":
            expected.insert(0, "BEGIN")  # deferred: a read-only transaction
    assert seen.tables() == expected
    assert all(table in seen.sql[-1] for table in ("lesson_progress", "enrolment", "workbook_answer"))
    assert "BEGIN IMMEDIATE" not in seen.sql


def test_a_learners_statements_are_short_enough_for_psycopgs_cache(app, loaded_course, client, learner):
    """psycopg rewrites a statement's placeholders for the server once per text, and keeps the rewrite only for texts
    of at most MAX_CACHED_STATEMENT_LENGTH characters: a longer one is rewritten on every run (a lesson page's UNION
    was 4,369 characters with every NULL typed, about 80 microseconds a page). Each page and write of a learner's
    journey, in a cohort with a schedule (the longest UNION: every branch asked for)."""
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH

    enrol_in_a_cohort_with_a_schedule(app, learner)
    with app.app_context():
        engine = _db.engine
    lengths: dict[str, int] = {}

    def record(conn, cursor, statement, *args) -> None:
        lengths[statement] = len(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        for lesson in ("welcome", "models"):
            assert client.get(lesson_url(lesson)).status_code == 200  # a first view
            assert client.get(lesson_url(lesson)).status_code == 200
        complete_lessons(client, "welcome", "models")
        assert client.get("/courses/mini-course").status_code == 200
        assert client.get(quiz_url("intro-quiz")).status_code == 200
        assert submit_quiz(client, "intro-quiz", WRONG_ANSWERS["intro-quiz"]).status_code == 302
        assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302  # a first pass
    finally:
        event.remove(engine, "before_cursor_execute", record)
    longest = max(lengths, key=lengths.get)
    assert len(lengths) > 10 and lengths[longest] <= MAX_CACHED_STATEMENT_LENGTH, longest[:300]


QUIZ_PAGE = [
    "SELECT user_account",  # the session's user
    "SELECT course",  # the course's row (its content version), the learner's progress, quiz results, … (one UNION)
]


def _reads(app, seen: Statements) -> list[str]:
    with app.app_context():
        sqlite = _db.engine.dialect.name == "sqlite"
    return [t for t in seen.tables() if not (sqlite and t == "BEGIN")]


def test_a_quiz_result_page_runs_a_fixed_list_of_statements(app, loaded_course, client, learner):
    """Whatever the number of questions: the attempt with its answers, then the questions with their options
    (before, the page loaded each choice question's options from the template, one query a question)."""
    complete_lessons(client, "welcome", "models")
    assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    url = f"{quiz_url('intro-quiz')}/attempts/1"
    client.get(url)  # the quiz and its questions cached
    with Statements(app) as seen:
        page = client.get(url)
    assert page.status_code == 200 and "What defines a large model?" in page.get_data(as_text=True)
    assert _reads(app, seen) == [
        *QUIZ_PAGE,
        "SELECT quiz_attempt",  # the attempt
        "SELECT attempt_answer",  # its answers (selectinload)
        "SELECT question",  # the questions answered
        "SELECT question",  # their options (selectinload: FROM question JOIN question_option)
    ]


def test_a_quiz_history_page_runs_a_fixed_list_of_statements(app, loaded_course, client, learner):
    complete_lessons(client, "welcome", "models")
    for _ in range(3):
        assert submit_quiz(client, "intro-quiz", WRONG_ANSWERS["intro-quiz"]).status_code == 302
    url = f"{quiz_url('intro-quiz')}/attempts"
    client.get(url)
    with Statements(app) as seen:
        assert client.get(url).status_code == 200
    assert _reads(app, seen) == [*QUIZ_PAGE, "SELECT quiz_attempt"]


def test_a_lesson_view_is_recorded_to_the_minute(app, loaded_course, client, learner):
    client.get(lesson_url("welcome"))
    with app.app_context():
        first = _db.session.scalar(select(LessonProgress.last_viewed_at))
    with Statements(app) as seen:
        client.get(lesson_url("welcome"))
    assert not [s for s in seen.tables() if s.startswith(("INSERT", "UPDATE"))]
    with app.app_context():
        _db.session.execute(update(LessonProgress).values(last_viewed_at=first - timedelta(minutes=2)))
        _db.session.commit()
    client.get(lesson_url("welcome"))
    with app.app_context():
        assert _db.session.scalar(select(LessonProgress.last_viewed_at)) > first - timedelta(seconds=1)


def test_a_recorded_view_holds_the_write_lock_only_for_its_write(app, loaded_course, client, learner):
    """The view is written in a transaction of its own; the page's other statements read as before."""
    sqlite_only(app)
    client.get(lesson_url("welcome"))
    with app.app_context():
        _db.session.execute(update(LessonProgress).values(last_viewed_at=utcnow() - timedelta(minutes=2)))
        _db.session.commit()
    with Statements(app) as seen:
        assert client.get(lesson_url("welcome")).status_code == 200
    sql = seen.sql
    write = next(
        i for i, s in enumerate(sql) if s.startswith(("INSERT INTO lesson_progress", "UPDATE lesson_progress"))
    )
    begins = [(i, s) for i, s in enumerate(sql) if s.startswith("BEGIN")]
    assert max((i, s) for i, s in begins if i < write)[1] == "BEGIN IMMEDIATE"  # the write waits for the lock
    assert all(s == "BEGIN" for i, s in begins if i > write)  # what the page reads after it, it reads without it
    # the page's reads (the outline, with the workbook answers it shows) came before, in a read-only transaction
    (outline,) = [i for i, s in enumerate(sql) if s.startswith("SELECT") and "workbook_answer" in s]
    assert outline < write and max((i, s) for i, s in begins if i < outline)[1] == "BEGIN"


def test_a_lesson_page_does_not_wait_for_a_writer_on_sqlite(app, loaded_course, client, learner, tmp_path):
    """Another connection holds SQLite's write lock: a page that only reads answers at once."""
    sqlite_only(app)
    client.get(lesson_url("welcome"))
    with app.app_context():
        path = _db.engine.url.database
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE course SET summary = summary")
        started = time.monotonic()
        response = client.get(lesson_url("welcome"))
        waited = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert response.status_code == 200
    assert waited < 5, f"the page waited {waited:.1f} s for the writer (busy timeout: 10 s)"


def test_a_quiz_submission_reads_without_the_write_lock_and_writes_after_it(app, loaded_course, client, learner):
    sqlite_only(app)
    complete_lessons(client, "welcome", "models")
    form = quiz_form(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"])
    with Statements(app) as seen:
        assert client.post(quiz_url("intro-quiz"), data=form).status_code == 302
    verbs = seen.tables()
    immediate = [i for i, s in enumerate(seen.sql) if s == "BEGIN IMMEDIATE"]
    writes = [i for i, v in enumerate(verbs) if v.startswith(("INSERT", "UPDATE", "DELETE"))]
    attempt_insert = verbs.index("INSERT quiz_attempt")
    assert seen.sql[0] == "BEGIN"  # the request starts reading
    # the attempt is written in a transaction that took the lock when it began
    assert immediate and max(i for i in immediate if i < attempt_insert) < attempt_insert
    reads_before = verbs[: max(i for i in immediate if i < attempt_insert)]
    assert "SELECT question" in reads_before  # graded from what was read without the lock
    assert all(i > min(immediate) or verbs[i] == "INSERT rate_limit_counter" for i in writes)


# -- rate limits ----------------------------------------------------------------------------------------
def test_rate_limit_headers_come_from_the_counter_just_written(app, loaded_course, client, learner):
    app.config["RATELIMIT_QUIZ"] = "5 per minute"
    complete_lessons(client, "welcome", "models")
    remaining = []
    for _ in range(3):
        with Statements(app) as seen:
            response = submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"])
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
        # the counter's INSERT … RETURNING runs on the driver (course.ratelimit._increment); nothing reads it again
        assert not [t for t in seen.tables() if "rate_limit_counter" in t]
    assert remaining == [4, 3, 2]


def test_a_page_skips_the_rate_limiter(app, loaded_course, client, learner, monkeypatch):
    """Every limit counts POSTs (course.ratelimit.LIMITED_METHODS): a GET is let through before Flask-Limiter
    resolves its route's limits, a POST still has them resolved and counted."""
    from course.extensions import limiter
    from course.ratelimit import LIMITED_METHODS

    resolved = []
    resolve = limiter.limit_manager.resolve_limits

    def resolving(app, endpoint, *rest, **kwargs):
        resolved.append(endpoint)
        return resolve(app, endpoint, *rest, **kwargs)

    monkeypatch.setattr(limiter.limit_manager, "resolve_limits", resolving)
    complete_lessons(client, "welcome", "models")
    resolved.clear()
    assert client.get(lesson_url("welcome")).status_code == 200
    assert client.get(quiz_url("intro-quiz")).status_code == 200
    assert resolved == []
    submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"])
    assert set(resolved) == {"quiz.submit"}  # in the before_request hook and in the decorator
    every = [lim for lims in limiter.limit_manager._decorated_limits.values() for lim in lims]
    assert every and all(lim.methods == tuple(m.lower() for m in LIMITED_METHODS) for lim in every)


# -- memory ---------------------------------------------------------------------------------------------
# glibc raises its mmap threshold to the size of the last large block freed, so argon2id's 19 MiB would come
# from the heap and stay resident after the first login: the production command fixes the threshold at its
# starting value through the environment (README, "Running in production").
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}


def _run(code: str, **env_vars: str) -> str:
    env = {**os.environ, "DATABASE_URL": "sqlite://", "FOUNDER_COURSE_ENV": "development", **env_vars}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_password_hashing_memory_is_given_back():
    """argon2id at the production cost (19 MiB): under the production command's environment, three hashes leave
    the process about as big as before (without it, the first one leaves 19 MB resident for good)."""
    out = _run(
        "from course import create_app\n"
        "from course.accounts.services import hash_password\n"
        "app = create_app(cli=False)\n"
        "def rss(): return int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1])\n"
        "with app.app_context():\n"
        "    before = rss()\n"
        "    for i in range(3): hash_password(f'a password {i}')\n"
        "print((rss() - before) // 1024)\n",
        **MALLOC_ENV,
    )
    assert int(out) < 8, f"{out} MB more after three hashes"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim; reads /proc")
def test_memory_freed_inside_the_heap_is_given_back():
    """What a request frees inside glibc's heap, below blocks still in use, stays resident until it is given back
    (course/ops/memory.py)."""
    out = _run(
        "from course.ops.memory import give_back\n"
        "def rss(): return int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1])\n"
        "blocks = [bytearray(4000) for _ in range(20000)]\n"  # 80 MB in the heap, under the mmap threshold
        "kept = bytearray(4000)\n"  # above them: the heap cannot shrink from its top
        "del blocks\n"
        "before = rss()\n"
        "give_back()\n"
        "print((before - rss()) // 1024)\n",
        **MALLOC_ENV,
    )
    assert int(out) > 60, f"{out} MB given back"


def test_every_so_many_responses_give_memory_back(app, client, monkeypatch):
    """Once every MALLOC_TRIM_EVERY requests, after the response is sent; never with 0."""
    from course.ops import memory

    calls: list[int] = []
    monkeypatch.setattr(memory, "give_back", lambda: calls.append(len(calls)))
    monkeypatch.setitem(app.config, "MALLOC_TRIM_EVERY", 3)
    for _ in range(6):
        given = len(calls)
        response = client.get("/healthz")
        assert response.status_code == 200 and len(calls) == given  # not before the response is sent
        response.close()  # what a server does once the body is out
    assert len(calls) == 2
    monkeypatch.setitem(app.config, "MALLOC_TRIM_EVERY", 0)
    for _ in range(6):
        client.get("/healthz").close()
    assert len(calls) == 2


def test_building_the_app_leaves_the_allocator_alone(monkeypatch):
    """The factory does no I/O and no process tuning: the allocator is the production command's business."""
    import ctypes

    from course import create_app

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("create_app called into the C library")

    monkeypatch.setattr(ctypes, "CDLL", refuse)
    app = create_app("testing")
    assert app.name == "course"


def test_the_production_entry_point_leaves_the_command_line_tools_out():
    out = _run(
        "import sys\nfrom course.wsgi import app\nprint(sorted({'alembic', 'flask_migrate'} & set(sys.modules)))"
    )
    assert out == "[]"


def test_postgresql_reads_outside_transactions_and_writes_inside_them(app, loaded_course, client, learner):
    """Reads run in autocommit mode (no BEGIN/ROLLBACK round trips; under READ COMMITTED each statement sees
    the latest commits either way); a quiz submission writes its attempt in a transaction."""
    with app.app_context():
        if _db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's autocommit mode")
        engine = _db.engine
    complete_lessons(client, "welcome", "models")
    client.get(lesson_url("welcome"))
    seen: list[tuple[str, str]] = []

    def after(conn, cursor, statement, *args) -> None:
        seen.append((statement.split()[0].upper(), cursor.connection.info.transaction_status.name))

    event.listen(engine, "after_cursor_execute", after)
    try:
        assert client.get(lesson_url("welcome")).status_code == 200
        page, seen[:] = list(seen), []
        assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
        submission = list(seen)
    finally:
        event.remove(engine, "after_cursor_execute", after)
    assert page and {status for _, status in page} == {"IDLE"}
    assert {status for verb, status in submission if verb == "INSERT" and status != "IDLE"} == {"INTRANS"}
    assert all(status == "INTRANS" for verb, status in submission if verb in ("SAVEPOINT", "RELEASE"))
