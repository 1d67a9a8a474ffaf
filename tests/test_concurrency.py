"""Nothing lost under concurrency, against real gunicorn servers.

PostgreSQL (TEST_DATABASE_URL names a server): two gunicorn instances of 2 workers each share one fresh
database, as several instances behind a load balancer would. Requests are spread over both instances:
  - 50 learners × 8 parallel submissions (4 submission keys, each sent twice, to both instances) of a quiz
    limited to 2 attempts: never more than 2 attempts, one attempt row per key, one answer row per question;
  - parallel "mark complete" of one lesson: one progress row; parallel final steps: one completion, one
    verification code;
  - a worker killed (SIGKILL) in the middle of submissions leaves no half-written attempt, and retrying every
    submission that got no answer applies it exactly once.
SQLite (always): one gunicorn with 3 workers on one database file; concurrent writes of every kind wait for
the lock (busy timeout, WAL, BEGIN IMMEDIATE) instead of failing.

The learners and their progress are made directly in the database (the services the web uses); everything
under test goes through HTTP, with CSRF on, as a browser would.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    DEFAULT_PASSWORD,
    FIXTURE_CONTENT,
    FIXTURE_COURSE,
    RIGHT_ANSWERS,
    WRONG_ANSWERS,
    build_app,
    dispose,
    fresh_database,
    lesson_url,
    load,
    quiz_url,
    server_url,
    service_key,
    upgrade_to_head,
)
from flask import Flask
from pgbouncer import PgBouncer
from servers import NO_RESPONSE, Browser, Gunicorn, Response
from servers import SECRET_KEY as SERVERS_SECRET_KEY
from sqlalchemy import create_engine, func, make_url, select, text, update
from werkzeug.datastructures import MultiDict

from course.accounts.services import create_user
from course.content.models import Lesson, Quiz, WorkbookPrompt
from course.extensions import db
from course.progress import reading as progress
from course.progress.models import Completion, LessonProgress, WorkbookAnswer
from course.quiz import attempts, grading
from course.quiz.layout import attempt_key, layout
from course.quiz.models import Attempt, AttemptAnswer

POSTGRES = bool(server_url()) and make_url(server_url()).get_backend_name() == "postgresql"
LIMITED_QUIZ = "training-quiz"  # max_attempts: 2 in the fixture course
LIMITED_QUIZ_LESSONS = ("data", "tuning")
ALL_LESSONS = ("welcome", "models", "data", "tuning", "pricing", "growth")
LIMIT_REACHED = "You have used all 2 attempts for this quiz."
STALE = "This page was out of date: the quiz was submitted from another page since. Here it is again."
ATTEMPT_PATH = re.compile(r"/attempts/(\d+)$")


# -- the site ------------------------------------------------------------------------------------------
@dataclass
class Site:
    app: Flask  # the test's own view of the database
    database_url: str
    servers: list[Gunicorn]
    pooler: PgBouncer | None = None  # what the servers reach the database through (the test's view goes straight)

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]


def seeded_app(database_url: str) -> Flask:
    app = build_app(database_url)
    upgrade_to_head(app)
    result = load(app, FIXTURE_CONTENT)
    assert result.applied and not result.problems, result.problems
    return app


@pytest.fixture(scope="module")
def pg_site(tmp_path_factory: pytest.TempPathFactory, pooler: PgBouncer | None) -> Iterator[Site]:
    """Two instances on one database, through PgBouncer in transaction pooling mode when it is installed (CI installs
    it), as production runs them; the test's own view and the migrations go straight to the server."""
    if not POSTGRES:
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with fresh_database("fc_concurrency", tmp_path_factory.mktemp("concurrency"), server=server_url()) as url:
        app = seeded_app(url)
        through = {"DATABASE_POOLER": "transaction"} if pooler else {}
        served = pooler.url(url) if pooler else url
        servers = [Gunicorn(served, workers=2, env=through), Gunicorn(served, workers=2, env=through)]
        try:
            for server in servers:
                server.start()
            for server in servers:
                server.wait_ready()
            yield Site(app, url, servers, pooler)
        finally:
            for server in servers:
                server.stop()
            dispose(app)


# -- learners, made in the database ---------------------------------------------------------------------
@dataclass
class Learner:
    id: int
    email: str
    browser: Browser


# The fixture course's quizzes, read once and detached: a submission's tokens are computed without the database.
_QUIZZES: dict[str, Quiz] = {}


def make_learners(site: Site, prefix: str, count: int, completed: tuple[str, ...] = (), passed: tuple[str, ...] = ()):
    """`count` learners with `completed` lessons and `passed` quizzes, logged in (CSRF token at hand)."""
    app = site.app
    ids = []
    with app.test_request_context(method="POST"):  # POST: a request that writes (see course.sql)
        lessons = db.session.scalars(select(Lesson).where(Lesson.key.in_(completed))).all()
        for n in range(count):
            user = create_user(f"{prefix}{n}@example.com", DEFAULT_PASSWORD)
            for lesson in lessons:
                progress.mark_complete(user.id, lesson)
            for quiz_key in passed:
                quiz = db.session.scalar(select(Quiz).where(Quiz.key == quiz_key))
                submission = grading.read_submission(quiz, MultiDict(_form(RIGHT_ANSWERS[quiz_key])))
                attempts.record(user.id, quiz, submission, service_key(user.id, quiz))
            ids.append(user.id)
        db.session.commit()
        for quiz in db.session.scalars(select(Quiz)):
            for question in quiz.questions:
                question.options  # noqa: B018 - loaded before the rows are detached
            _QUIZZES[quiz.key] = quiz
        db.session.expunge_all()

    def log_in(n: int) -> Learner:
        browser = Browser(site.urls)
        browser.login(f"{prefix}{n}@example.com", DEFAULT_PASSWORD, server=n)
        return Learner(ids[n], f"{prefix}{n}@example.com", browser.freeze())

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(log_in, range(count)))


def _form(answers: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, v) for k, values in answers.items() for v in (values if isinstance(values, list) else [values])]


# -- sending requests at once ---------------------------------------------------------------------------
def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, released together; a call's exception is returned as its result."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=60)
            results[i] = call()
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "requests still running after 3 minutes"
    return results


def key_for(learner: Learner, quiz: str, number: int) -> str:
    """The submission key the quiz page issues for the learner's attempt `number` (under the servers' key)."""
    return attempt_key(learner.id, _QUIZZES[quiz], number, SERVERS_SECRET_KEY.encode())


def submit(learner: Learner, quiz: str, answers: dict, key: str, server: int) -> Response:
    shown = layout(learner.id, _QUIZZES[quiz], key, SERVERS_SECRET_KEY.encode())  # the servers' key
    tokens = {q.key: shown.tokens.get(q.id, {}) for q in shown.questions}
    form = [(name, tokens[name].get(value, value)) for name, value in _form(answers)]
    return learner.browser.post(quiz_url(quiz), [*form, ("submission_key", key)], server=server)


def attempts_of(site: Site, user_ids: list[int], quiz_key: str) -> dict[tuple[int, str], list[int]]:
    """(learner, submission key) → the attempt numbers recorded for it."""
    with site.app.app_context():
        rows = db.session.execute(
            select(Attempt.user_id, Attempt.submission_key, Attempt.number)
            .join(Quiz, Quiz.id == Attempt.quiz_id)
            .where(Quiz.key == quiz_key, Attempt.user_id.in_(user_ids))
        ).all()
    recorded: dict[tuple[int, str], list[int]] = defaultdict(list)
    for user_id, key, number in rows:
        recorded[user_id, key].append(number)
    return recorded


def answer_counts(site: Site, user_ids: list[int]) -> dict[int, list[int]]:
    """attempt id → question ids of its answer rows, for every attempt of these learners."""
    with site.app.app_context():
        rows = db.session.execute(
            select(Attempt.id, AttemptAnswer.question_id)
            .outerjoin(AttemptAnswer, AttemptAnswer.attempt_id == Attempt.id)
            .where(Attempt.user_id.in_(user_ids))
        ).all()
    answers: dict[int, list[int]] = defaultdict(list)
    for attempt_id, question_id in rows:
        answers[attempt_id].extend([question_id] if question_id is not None else [])
    return answers


def assert_every_attempt_whole(site: Site, user_ids: list[int], questions: int) -> None:
    for attempt_id, question_ids in answer_counts(site, user_ids).items():
        assert len(question_ids) == questions == len(set(question_ids)), (attempt_id, question_ids)
    with site.app.app_context():
        orphans = db.session.scalar(
            select(func.count(AttemptAnswer.id))
            .outerjoin(Attempt, Attempt.id == AttemptAnswer.attempt_id)
            .where(Attempt.id.is_(None))
        )
    assert orphans == 0


def redirected_number(response: Response) -> int:
    found = ATTEMPT_PATH.search(response.location)
    assert response.status == 302 and found, response
    return int(found.group(1))


# -- PostgreSQL, two instances -----------------------------------------------------------------------
def test_parallel_identical_submissions_respect_the_limit_and_grade_each_key_once(pg_site: Site):
    """Each learner sends the keys of attempts 1–4 at once, each twice (once to each instance): pages they could
    only hold in turn. Attempt 1 is always recorded; each attempt is recorded under its own number's key only, once;
    a copy sent before its number was next is refused as stale, and nothing passes the limit of 2."""
    learners = make_learners(pg_site, "limit", 50, completed=LIMITED_QUIZ_LESSONS)
    with pg_site.app.app_context():
        limit = db.session.scalar(select(Quiz.max_attempts).where(Quiz.key == LIMITED_QUIZ))
    assert limit == 2
    sent: dict[tuple[int, str], list[Response | BaseException]] = defaultdict(list)
    number_of: dict[str, int] = {}
    for batch in range(0, len(learners), 10):  # 10 learners × 8 requests in flight at a time
        calls, labels = [], []
        for learner in learners[batch : batch + 10]:
            for number in range(1, 5):  # 4 keys, each sent twice, once to each instance: 8 parallel submissions
                key = key_for(learner, LIMITED_QUIZ, number)
                number_of[key] = number
                answers = RIGHT_ANSWERS[LIMITED_QUIZ] if number % 2 else WRONG_ANSWERS[LIMITED_QUIZ]
                for server in (0, 1):
                    calls.append(lambda lr=learner, a=answers, key=key, s=server: submit(lr, LIMITED_QUIZ, a, key, s))
                    labels.append((learner.id, key))
        for label, outcome in zip(labels, at_once(calls), strict=True):
            sent[label].append(outcome)

    recorded = attempts_of(pg_site, [lr.id for lr in learners], LIMITED_QUIZ)
    per_learner = Counter(user_id for (user_id, _key) in recorded)
    assert all(1 <= per_learner[lr.id] <= limit for lr in learners), per_learner  # never more than the limit
    assert all((lr.id, key_for(lr, LIMITED_QUIZ, 1)) in recorded for lr in learners)
    for (user_id, key), outcomes in sent.items():
        numbers = recorded.get((user_id, key), [])
        assert numbers in ([], [number_of[key]]), (key, numbers)  # one attempt row per key, its own number
        for outcome in outcomes:
            assert isinstance(outcome, Response), outcome
            if outcome.status == 409:  # refused: too early (stale) or over the limit, never for another reason
                assert outcome.messages in ([STALE], [LIMIT_REACHED]), outcome
                assert outcome.messages == [STALE] or number_of[key] > limit, (key, outcome.messages)
            else:  # graded, or found already graded: sent to that key's one attempt
                assert numbers and redirected_number(outcome) == numbers[0], (key, numbers, outcome)
    assert_every_attempt_whole(pg_site, [lr.id for lr in learners], questions=len(RIGHT_ANSWERS[LIMITED_QUIZ]))


def test_parallel_mark_complete_makes_one_progress_row(pg_site: Site):
    learners = make_learners(pg_site, "complete", 5)
    calls = [
        lambda lr=learner, lesson=lesson, s=server: lr.browser.post(f"{lesson_url(lesson)}/complete", server=s)
        for learner in learners
        for lesson in ("welcome", "models")
        for server in (0, 1) * 4
    ]
    outcomes = at_once(calls)
    assert all(isinstance(o, Response) and o.status == 302 for o in outcomes), outcomes

    with pg_site.app.app_context():
        rows = db.session.execute(
            select(LessonProgress.user_id, Lesson.key, LessonProgress.completed_at)
            .join(Lesson, Lesson.id == LessonProgress.lesson_id)
            .where(LessonProgress.user_id.in_([lr.id for lr in learners]))
        ).all()
    assert Counter((user_id, key) for user_id, key, _at in rows) == {
        (lr.id, lesson): 1 for lr in learners for lesson in ("welcome", "models")
    }
    assert all(completed_at is not None for _u, _k, completed_at in rows)


def assert_one_completion(site: Site, learner: Learner) -> None:
    with site.app.app_context():
        codes = db.session.scalars(select(Completion.verification_code).where(Completion.user_id == learner.id)).all()
    assert len(codes) == 1, codes
    for server in (0, 1):  # both instances show the same verification link, and it works on both
        summary = learner.browser.get(f"/courses/{FIXTURE_COURSE}/summary", server=server)
        assert summary.status == 200
        assert set(re.findall(r"/verify/([\w-]+)", summary.body)) == {codes[0]}
        assert learner.browser.get(f"/verify/{codes[0]}", server=server).status == 200


def test_parallel_final_submissions_make_one_completion(pg_site: Site):
    """The last step is the last quiz: 8 parallel passing submissions over both instances, four with the page's key
    for attempt 1 and four with attempt 2's (unlimited attempts): attempt 1 completes the course, once."""
    (learner,) = make_learners(pg_site, "finisher", 1, completed=ALL_LESSONS, passed=("intro-quiz", "training-quiz"))
    keys = [key_for(learner, "launch-quiz", number) for number in (1, 2)] * 4
    calls = [
        lambda s=i % 2, key=key: submit(learner, "launch-quiz", RIGHT_ANSWERS["launch-quiz"], key, s)
        for i, key in enumerate(keys)
    ]
    outcomes = at_once(calls)
    assert all(isinstance(o, Response) for o in outcomes), outcomes
    assert [redirected_number(o) for o in outcomes[0::2]] == [1] * 4
    assert all(o.status == 409 and o.messages == [STALE] or redirected_number(o) == 2 for o in outcomes[1::2])
    assert_one_completion(pg_site, learner)


def test_parallel_completes_of_the_last_lesson_make_one_completion(pg_site: Site):
    """Every quiz passed and one lesson left (as after a lesson is added to the course): 8 parallel completes."""
    (learner,) = make_learners(
        pg_site, "last-lesson", 1, completed=ALL_LESSONS[:-1], passed=("intro-quiz", "training-quiz", "launch-quiz")
    )
    calls = [
        lambda s=server: learner.browser.post(f"{lesson_url(ALL_LESSONS[-1])}/complete", server=s)
        for server in (0, 1) * 4
    ]
    outcomes = at_once(calls)
    assert all(isinstance(o, Response) and o.status == 302 for o in outcomes), outcomes
    assert_one_completion(pg_site, learner)


def lock_waiters(engine, database: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND wait_event_type = 'Lock'"),
            {"db": database},
        ).scalar_one()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_a_worker_killed_mid_submission_leaves_nothing_half_written(pg_site: Site):
    quiz, answers = "intro-quiz", RIGHT_ANSWERS["intro-quiz"]  # 4 questions, unlimited attempts
    learners = make_learners(pg_site, "killed", 6, completed=("welcome", "models"))
    sent: dict[tuple[int, str], list[Response | BaseException]] = defaultdict(list)
    learner_of = {lr.id: lr for lr in learners}

    # 1. Deterministic: both workers of instance 0 hold a submission whose attempt row is written but whose
    #    answers wait for a lock this test holds; one worker is killed there, then the lock is released.
    first = pg_site.servers[0]
    engine = create_engine(pg_site.database_url)
    database = make_url(pg_site.database_url).database
    try:
        with engine.connect() as locker:
            locker.execute(text("LOCK TABLE attempt_answer IN EXCLUSIVE MODE"))
            keys = [(learners[i], key_for(learners[i], quiz, 1)) for i in range(2)]
            results: list[Any] = []
            senders = [
                threading.Thread(
                    target=lambda lr=lr, k=k: results.append((lr, k, _try(submit, lr, quiz, answers, k, 0)))
                )
                for lr, k in keys
            ]
            for sender in senders:
                sender.start()
            wait_for(lambda: lock_waiters(engine, database) >= 2, "both workers to wait on the answers lock")
            victim = first.kill_worker()
            locker.rollback()  # releases the lock: the surviving worker finishes its submission
            for sender in senders:
                sender.join(timeout=60)
    finally:
        engine.dispose()
    for learner, key, outcome in results:
        sent[learner.id, key].append(outcome)
    assert sum(isinstance(o, NO_RESPONSE) for _lr, _k, o in results) == 1, results  # the killed worker's request
    assert sum(isinstance(o, Response) and o.status == 302 for _lr, _k, o in results) == 1, results
    first.wait_workers(exclude={victim})

    # 2. A stream of submissions over both instances, with a worker of each killed while it flows.
    stop = threading.Event()
    answered = Counter()
    lock = threading.Lock()

    def stream(learner: Learner, lane: int) -> None:
        """One learner's tab, submitting again and again: the page's key for the next attempt, and the same key
        again when a request got no answer (as a browser resending the form)."""
        n, sends = 1, 0
        while not stop.is_set():
            key = key_for(learner, quiz, n)
            outcome = _try(submit, learner, quiz, answers, key, (lane + sends) % 2)
            with lock:
                sent[learner.id, key].append(outcome)
                answered["all"] += 1
            sends += 1
            if isinstance(outcome, Response) and outcome.status == 302:
                n = redirected_number(outcome) + 1

    # The two learners of part 1 keep their lost request for the retries below; the others stream.
    streams = [threading.Thread(target=stream, args=(lr, i), daemon=True) for i, lr in enumerate(learners[2:])]
    for thread in streams:
        thread.start()
    try:
        for server, after in ((pg_site.servers[1], 20), (pg_site.servers[0], 60)):
            wait_for(lambda after=after: answered["all"] >= after, f"{after} submissions")
            victim = server.kill_worker()
            server.wait_workers(exclude={victim})
        wait_for(lambda: answered["all"] >= 100, "100 submissions")
    finally:
        stop.set()
        for thread in streams:
            thread.join(timeout=60)

    outcomes = [o for os_ in sent.values() for o in os_]
    assert all(isinstance(o, NO_RESPONSE) or o.status == 302 for o in outcomes), [
        (o.status, o.body[:200]) for o in outcomes if isinstance(o, Response) and o.status != 302
    ]
    lost = [label for label, os_ in sent.items() if not any(isinstance(o, Response) for o in os_)]
    assert lost  # at least the request of the worker killed in part 1

    # Retry every submission that got no answer, on either instance: each is applied exactly once.
    for i, (user_id, key) in enumerate(lost):
        sent[user_id, key].append(submit(learner_of[user_id], quiz, answers, key, i % 2))
    recorded = attempts_of(pg_site, list(learner_of), quiz)
    assert set(recorded) == set(sent)  # every key sent is recorded …
    for label, outcomes in sent.items():
        assert len(recorded[label]) == 1, (label, recorded[label])  # … exactly once
        for outcome in outcomes:
            if isinstance(outcome, Response):
                assert redirected_number(outcome) == recorded[label][0]
    assert_every_attempt_whole(pg_site, list(learner_of), questions=len(answers))


def submit_in_turn(learner: Learner, quiz: str, answers: dict, times: int) -> Response:
    """`times` attempts one after another, each with the key the page issues next; the last response (an
    unexpected one is returned at once)."""
    for number in range(1, times + 1):
        response = submit(learner, quiz, answers, key_for(learner, quiz, number), 0)
        if response.status != 302:
            return response
    return response


def _try(call: Callable[..., Response], *args: Any) -> Response | BaseException:
    try:
        return call(*args)
    except NO_RESPONSE as exc:
        return exc


def test_the_cool_down_holds_across_instances(pg_site: Site, tmp_path: Path):
    """A quiz with `retry_after: 1h`: attempt 1 recorded by one instance; attempt 2 sent at once to both instances
    is refused by each (429, with when the next attempt opens); an hour later (the attempt moved back) it is
    recorded, once. The content is loaded back as it was afterwards."""
    import shutil

    content = tmp_path / "content"
    shutil.copytree(FIXTURE_CONTENT, content)
    quiz_file = next(content.rglob("01-intro/quiz.yaml"))
    quiz_file.write_text(quiz_file.read_text().replace("pass_mark: 75\n", "pass_mark: 75\nretry_after: 1h\n", 1))
    assert "retry_after: 1h" in quiz_file.read_text()
    (learner,) = make_learners(pg_site, "cooling", 1, completed=("welcome", "models"))
    quiz, answers = "intro-quiz", WRONG_ANSWERS["intro-quiz"]
    try:
        assert load(pg_site.app, content).applied
        first = submit(learner, quiz, answers, key_for(learner, quiz, 1), 0)
        assert redirected_number(first) == 1
        second = key_for(learner, quiz, 2)
        refused = at_once([lambda s=server: submit(learner, quiz, answers, second, s) for server in (0, 1, 0, 1)])
        for outcome in refused:
            assert isinstance(outcome, Response) and outcome.status == 429, outcome
            assert any("your next attempt opens at" in m for m in outcome.messages), outcome.messages
        page = learner.browser.get(quiz_url(quiz), server=1)
        assert "Next attempt opens at" in page.body and 'name="submission_key"' not in page.body
        with pg_site.app.app_context():
            submitted = db.session.scalar(select(Attempt.submitted_at).where(Attempt.user_id == learner.id))
            db.session.execute(
                update(Attempt)
                .where(Attempt.user_id == learner.id)
                .values(submitted_at=submitted - timedelta(hours=1, minutes=1))
            )
            db.session.commit()
        later = at_once([lambda s=server: submit(learner, quiz, answers, second, s) for server in (0, 1)])
        assert [redirected_number(o) for o in later] == [2, 2]
        assert attempts_of(pg_site, [learner.id], quiz) == {
            (learner.id, key_for(learner, quiz, 1)): [1],
            (learner.id, second): [2],
        }
    finally:
        assert load(pg_site.app, FIXTURE_CONTENT).applied


def test_the_instances_share_a_few_server_connections_through_pgbouncer(pg_site: Site):
    """Where pgbouncer is installed (CI), every test above ran through it in transaction pooling mode."""
    if pg_site.pooler is None:
        pytest.skip("pgbouncer is not installed: the instances talked to PostgreSQL directly")
    database = make_url(pg_site.database_url).database
    pools = [row for row in pg_site.pooler.show("POOLS") if row["database"] == database]
    assert [row["pool_mode"] for row in pools] == ["transaction"]
    servers = [row for row in pg_site.pooler.show("SERVERS") if row["database"] == database]  # only the instances'
    assert 0 < len(servers) <= pg_site.pooler.pool_size, servers


# -- SQLite, several workers ---------------------------------------------------------------------------
def test_sqlite_concurrent_writes_wait_instead_of_failing(tmp_path: Path):
    with fresh_database("fc_sqlite_workers", tmp_path, server=None) as url:
        app = seeded_app(url)
        try:
            with Gunicorn(url, workers=3) as server:
                site = Site(app, url, [server])
                learners = make_learners(site, "sqlite", 8, completed=("welcome", "models"))
                calls: list[Callable[[], Response]] = []
                for lr in learners:
                    for lesson in ("data", "tuning", "pricing", "growth"):
                        calls.append(lambda lr=lr, lesson=lesson: lr.browser.post(f"{lesson_url(lesson)}/complete"))
                    for prompt in ("wb-goal", "wb-model-choice", "wb-price"):
                        form = {f"wb-{prompt}-answer": f"plan of {lr.email} for {prompt}"}
                        calls.append(
                            lambda lr=lr, p=prompt, f=form: lr.browser.post(
                                f"/courses/{FIXTURE_COURSE}/workbook/{p}", f
                            )
                        )
                    calls.append(lambda lr=lr: submit_in_turn(lr, "intro-quiz", RIGHT_ANSWERS["intro-quiz"], 3))
                outcomes = at_once(calls)
                log = server.log()
            assert all(isinstance(o, Response) and o.status == 302 for o in outcomes), [
                o if not isinstance(o, Response) else (o.status, o.body[:300])
                for o in outcomes
                if not (isinstance(o, Response) and o.status == 302)
            ]
            assert "database is locked" not in log and "Traceback" not in log, log

            ids = [lr.id for lr in learners]
            with app.app_context():
                completed = db.session.scalar(
                    select(func.count(LessonProgress.id)).where(
                        LessonProgress.user_id.in_(ids), LessonProgress.completed_at.is_not(None)
                    )
                )
                saved = db.session.execute(
                    select(WorkbookAnswer.user_id, WorkbookPrompt.key, WorkbookAnswer.text)
                    .join(WorkbookPrompt, WorkbookPrompt.id == WorkbookAnswer.prompt_id)
                    .where(WorkbookAnswer.user_id.in_(ids))
                ).all()
            assert completed == len(learners) * 6
            assert {(u, k): t for u, k, t in saved} == {
                (lr.id, p): f"plan of {lr.email} for {p}"
                for lr in learners
                for p in ("wb-goal", "wb-model-choice", "wb-price")
            }
            recorded = attempts_of(site, ids, "intro-quiz")
            assert recorded == {(lr.id, key_for(lr, "intro-quiz", n)): [n] for lr in learners for n in range(1, 4)}
            assert_every_attempt_whole(site, ids, questions=len(RIGHT_ANSWERS["intro-quiz"]))
        finally:
            dispose(app)
