"""The app through PgBouncer in transaction pooling mode (Debian's 1.18, started by tests/pgbouncer.py), as production
with several instances runs it (README, "Running in production", "Through PgBouncer"): a transaction runs on
whichever of the pool's few server connections is free, and in autocommit each statement may run on another one.
Checked here, each against what makes it work:

- prepared statements: psycopg prepares a statement once it ran 5 times on a connection; with DATABASE_POOLER=
  transaction it prepares none (`course.sql.engine_options`). A control shows the same steps fail without it;
- `SET LOCAL`: the dashboard's `jit = off` holds for its own transaction and reaches no other client's;
- a server-side cursor: a CSV export of 3,000 learners read in batches while other clients use the pool between them;
- autocommit switching (`course.sql`): a GET's reads in autocommit, then a real transaction on the same connection;
- the rate limits' counter, on a connection of its own, does not wait for a server connection while the request
  holds one (`course.ratelimit`): with all but one taken, a rate-limited POST still gets its answer;
- the worker's queue in the database: no prepared statements, and polled rather than LISTENed to;
- a journey of several learners at once — log in, a lesson, a quiz submission — and their instructor's dashboard.

Skipped unless TEST_DATABASE_URL names PostgreSQL and pgbouncer is installed (CI installs it), except the checks of
the setting itself.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from conftest import (
    FIXTURE_CONTENT,
    RIGHT_ANSWERS,
    TEST_BADGE_KEYS,
    add_factor,
    build_app,
    dispose,
    do_login,
    fresh_database,
    lesson_url,
    load,
    new_client,
    quiz_url,
    server_url,
    submit_quiz,
    upgrade_to_head,
)
from dashboard_factories import bulk_cohort
from flask import Flask
from pgbouncer import POOL_SIZE, PgBouncer, available
from sqlalchemy import bindparam, event, insert, make_url, select, text
from sqlalchemy.exc import DBAPIError

from config import Config
from course import create_app
from course.accounts.models import User
from course.accounts.services import create_user
from course.extensions import db
from course.ratelimit import RateLimitCounter
from course.sql import engine_options
from course.worker import queue
from course.worker.queue import queue_url, storage_for, through_transaction_pooler

needs_pgbouncer = pytest.mark.skipif(
    not available(server_url()), reason="needs PostgreSQL (TEST_DATABASE_URL) and pgbouncer installed"
)
PREPARE_THRESHOLD = 5  # psycopg's default: a statement run this many times on a connection is prepared there
EXPORTED = 3000  # learners in the cohort whose CSV export streams
LEARNERS = 6  # learners on their journey at once (more than the pool's server connections)
TEACHER = "teacher@example.com"
PASSWORD = "correct horse battery"


@dataclass
class World:
    bouncer: PgBouncer
    direct_url: str
    database: str
    cohort_id: int

    @property
    def pooled_url(self) -> str:
        return self.bouncer.url(self.direct_url)

    def raw(self) -> psycopg.Connection:
        """A plain psycopg client of the pooler, as another instance's worker would be (no prepared statements)."""
        url = make_url(self.pooled_url)
        return psycopg.connect(
            host=url.host, port=url.port, dbname=url.database, user=url.username, prepare_threshold=None
        )


@pytest.fixture(scope="module")
def world(pooler: PgBouncer | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A database of its own (the migrations run straight on the server, as the README says they may), with the
    fixture course, an instructor and a cohort of EXPORTED learners."""
    assert pooler is not None
    with fresh_database("fc_pgbouncer", tmp_path_factory.mktemp("pgbouncer"), server=server_url()) as url:
        app = build_app(url)
        try:
            upgrade_to_head(app)
            assert load(app, FIXTURE_CONTENT).applied
            with app.app_context():
                teacher = create_user(TEACHER, PASSWORD, name="Teacher", role="instructor")
                add_factor(teacher.id)
                for n in range(LEARNERS):
                    create_user(f"journey{n}@example.com", PASSWORD, name=f"Journey {n}")
                create_user("limited@example.com", PASSWORD, name="Limited")
                db.session.commit()
                teacher_id = teacher.id
            cohort_id = bulk_cohort(app, EXPORTED, [teacher_id], name="Pooled")
        finally:
            dispose(app)
        yield World(pooler, url, make_url(url).database, cohort_id)


@pytest.fixture
def pooled_app(world: World) -> Iterator[Callable[..., Flask]]:
    """`pooled_app(pooler="transaction")`: the app on the world's database through PgBouncer, configured as
    DATABASE_POOLER says (the environment's setting, given to the factory as production's from_env would)."""
    apps: list[Flask] = []

    def make(pooler: str = "transaction") -> Flask:
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": world.pooled_url,
                "DATABASE_POOLER": pooler,
                "BADGE_KEY_DIR": str(TEST_BADGE_KEYS),
            }
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        dispose(app)


def in_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads at once; an exception is returned as the call's result."""

    def run(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:  # reported by the test that looks at the results
            return exc

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


# -- the setting ----------------------------------------------------------------------------------------------
def test_the_pooler_setting_is_read_from_the_environment_and_checked(monkeypatch):
    monkeypatch.setenv("DATABASE_POOLER", "Transaction")
    assert Config.from_env()["DATABASE_POOLER"] == "transaction"
    monkeypatch.setenv("DATABASE_POOLER", "none")
    assert Config.from_env()["DATABASE_POOLER"] == ""
    monkeypatch.setenv("DATABASE_POOLER", "statement")  # PgBouncer's statement mode: no transactions at all
    with pytest.raises(RuntimeError, match="DATABASE_POOLER must be one of transaction, session, none"):
        Config.from_env()


def test_through_a_transaction_pooler_psycopg_prepares_nothing_and_the_queue_polls():
    pooled = "postgresql+psycopg://app@pgbouncer-host:6432/course"
    given = {"pool_size": 3, "connect_args": {"connect_timeout": 5}}
    settings = {"SQLALCHEMY_DATABASE_URI": pooled, "DATABASE_POOLER": "transaction", "SQLALCHEMY_ENGINE_OPTIONS": given}
    assert engine_options(settings) == {
        "pool_size": 3,
        "connect_args": {"connect_timeout": 5, "prepare_threshold": None},
    }
    assert given == {"pool_size": 3, "connect_args": {"connect_timeout": 5}}  # the configured options left as they were
    assert engine_options({"SQLALCHEMY_DATABASE_URI": pooled, "DATABASE_POOLER": "session"}) == {}
    assert engine_options({"SQLALCHEMY_DATABASE_URI": "sqlite://", "DATABASE_POOLER": "transaction"}) == {}
    config = {"SQLALCHEMY_DATABASE_URI": pooled, "DATABASE_POOLER": "transaction", "WORKER_QUEUE_URL": ""}
    _storage, kwargs = storage_for(queue_url(config), pooled=through_transaction_pooler(config))
    assert kwargs["blocking"] is False and kwargs["prepare_threshold"] is None
    direct = {**config, "WORKER_QUEUE_URL": "postgresql://app@db-host:5432/course"}  # straight to the server
    _storage, kwargs = storage_for(queue_url(direct), pooled=through_transaction_pooler(direct))
    assert "blocking" not in kwargs and "prepare_threshold" not in kwargs


# -- prepared statements --------------------------------------------------------------------------------------
def repeat_over_two_server_connections(app: Flask) -> list[str]:
    """The same query, run more than PREPARE_THRESHOLD times in transactions of one pooled connection (on one server
    connection, the only one in use), then again while another client's transaction holds that server connection
    (PgBouncer hands out its last used one first): so on another. Returns the errors."""
    query = select(User.id).where(User.email == bindparam("email"))
    errors = []
    with app.app_context(), db.engine.connect() as first, db.engine.connect() as second:
        for _ in range(PREPARE_THRESHOLD + 2):
            first.execute(query, {"email": TEACHER}).all()
            first.commit()
        second.execute(text("SELECT 1")).all()  # its transaction now holds the server connection `first` used
        for _ in range(3):
            try:
                first.execute(query, {"email": TEACHER}).all()
            except DBAPIError as error:
                errors.append(str(error.orig))
            first.rollback()
        second.rollback()
    return errors


def repeat_from_several_clients(app: Flask, clients: int = 8, transactions: int = 15) -> list[str]:
    """More clients than server connections, each running the same two queries in many short transactions."""
    query = select(User.id).where(User.email == bindparam("email"))
    counted = select(RateLimitCounter.count).where(RateLimitCounter.key == bindparam("key"))

    def client() -> list[str]:
        errors = []
        with app.app_context(), db.engine.connect() as conn:
            for _ in range(transactions):
                try:
                    conn.execute(query, {"email": TEACHER}).all()
                    conn.execute(counted, {"key": "none"}).all()
                    conn.commit()
                except DBAPIError as error:
                    errors.append(str(error.orig))
                    conn.rollback()
        return errors

    results = in_parallel([client] * clients)
    assert not [r for r in results if isinstance(r, BaseException)], results
    return [error for errors in results for error in errors]


@needs_pgbouncer
def test_no_prepared_statement_errors_through_the_transaction_pooler(pooled_app):
    app = pooled_app("transaction")
    assert repeat_over_two_server_connections(app) == []
    assert repeat_from_several_clients(app) == []


@needs_pgbouncer
def test_control_without_the_setting_psycopgs_prepared_statements_fail_through_pgbouncer(pooled_app):
    """The test above can fail: the app told nothing of the pooler keeps psycopg's prepare_threshold, and the same
    steps meet a statement prepared on another server connection."""
    errors = repeat_over_two_server_connections(pooled_app(""))
    # "… does not exist", or "… already exists" on a server connection where another client prepared that name
    assert errors and all("prepared statement" in error for error in errors), errors


def on_every_server_connection(world: World, query: str) -> list[Any]:
    """`query`'s answer on each of the pool's server connections (POOL_SIZE clients in a transaction at once)."""
    clients = [world.raw() for _ in range(POOL_SIZE)]
    try:
        return [conn.execute(query).fetchone()[0] for conn in clients]
    finally:
        for conn in clients:
            conn.close()


# -- SET LOCAL --------------------------------------------------------------------------------------------------
def teacher_client(app: Flask):
    client = new_client(app)
    assert do_login(client, TEACHER, PASSWORD).status_code == 302
    return client


@needs_pgbouncer
def test_set_local_jit_holds_for_the_dashboards_transaction_only(world, pooled_app):
    app = pooled_app()
    client = teacher_client(app)
    server_default = on_every_server_connection(world, "SHOW jit")[0]
    assert server_default != "off"  # else the check below could not tell SET LOCAL from the server's setting
    seen: list[str] = []  # jit as the dashboard's statements after its SET LOCAL run with it

    def after(conn, cursor, statement, *args) -> None:
        if statement.startswith("SET LOCAL jit") or seen:
            seen.append(cursor.connection.execute("SHOW jit").fetchone()[0])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", after)
    try:
        for page in ("dashboard", "dashboard/learners", "dashboard/quizzes"):
            seen.clear()
            assert client.get(f"/cohorts/{world.cohort_id}/{page}").status_code == 200
            assert len(seen) >= 2 and set(seen) == {"off"}, (page, seen)  # every statement after it, in its transaction
    finally:
        event.remove(engine, "after_cursor_execute", after)
    assert on_every_server_connection(world, "SHOW jit") == [server_default] * POOL_SIZE  # never another client's


# -- a server-side cursor ---------------------------------------------------------------------------------------
@needs_pgbouncer
def test_a_csv_export_streams_through_the_pooler_while_other_clients_use_it(world, pooled_app):
    """The grid export reads its learners in batches of 500 from a server-side cursor, which exists only in its
    transaction on one server connection: between the chunks of the download other clients run transactions."""
    app = pooled_app()
    client = teacher_client(app)
    response = client.get(f"/cohorts/{world.cohort_id}/export/grid.csv", buffered=False)
    assert response.status_code == 200
    chunks, others = [], 0
    with world.raw() as other:
        for chunk in response.response:
            chunks.append(chunk if isinstance(chunk, bytes) else chunk.encode())
            for _ in range(POOL_SIZE):  # short transactions of another client, on any free server connection
                assert other.execute("SELECT count(*) FROM user_account").fetchone()[0] > EXPORTED
                other.commit()
                others += 1
    response.close()
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert len(rows) == 1 + EXPORTED
    assert len(chunks) > 2 and others > 2 * POOL_SIZE  # the download came in several chunks, others ran between


@needs_pgbouncer
def test_an_abandoned_download_ends_its_transaction(world, pooled_app):
    app = pooled_app()
    client = teacher_client(app)
    response = client.get(f"/cohorts/{world.cohort_id}/export/grid.csv", buffered=False)
    first = next(iter(response.response))
    assert first
    response.close()
    with world.raw() as other:
        idle = other.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state LIKE 'idle in transaction%%'",
            (world.database,),
        ).fetchone()[0]
    assert idle == 0


# -- autocommit switching ---------------------------------------------------------------------------------------
@needs_pgbouncer
def test_reads_in_autocommit_then_a_real_transaction_on_the_same_connection(pooled_app):
    """A GET's reads run in autocommit, each statement on its own (through the pooler, perhaps on another server
    connection). The same pooled connection used afterwards outside a request (the CLI, the worker) is in a
    transaction again: one transaction id throughout, and its rollback undoes its write."""
    app = pooled_app()
    xid = text("SELECT pg_current_xact_id()::text")
    with app.test_request_context("/", method="GET"):
        reads = [db.session.scalar(xid) for _ in range(2)]
        dbapi = db.session.connection().connection.dbapi_connection
        assert dbapi.autocommit is True
        assert reads[0] != reads[1]  # two transactions: one a statement
        db.session.commit()
    with app.app_context():
        again = db.session.connection().connection.dbapi_connection
        assert again is dbapi and again.autocommit is False  # the same connection, in its own mode again
        first = db.session.scalar(xid)
        db.session.execute(insert(RateLimitCounter).values(key="autocommit-probe", count=1, expires_at=0))
        assert db.session.scalar(xid) == first
        db.session.rollback()
        assert db.session.scalar(select(RateLimitCounter.key).where(RateLimitCounter.key == "autocommit-probe")) is None
        db.session.rollback()


# -- the rate limits' own connection ----------------------------------------------------------------------------
@needs_pgbouncer
def test_a_rate_limited_post_goes_through_with_one_server_connection_free(world, pooled_app):
    """A rate limit counts in its own short transaction, on another connection. A POST that writes (here the
    account's password form, limited per user) has read the learner's row in its transaction by then: had it kept
    that transaction (and its server connection) while waiting for a server connection for the counter, requests
    doing so at once could take the whole pool and wait for each other until PgBouncer's query_wait_timeout. Here
    all but one are taken: the request still gets its answer (the form's, an empty form refused), at once."""
    app = pooled_app()
    client = new_client(app)
    assert do_login(client, "limited@example.com", PASSWORD).status_code == 302
    holders = [world.raw() for _ in range(POOL_SIZE - 1)]
    try:
        for holder in holders:
            holder.execute("SELECT 1")  # a transaction left open: its server connection stays taken
        response = client.post("/account/password", data={"pw-current": "", "pw-password": ""})
    finally:
        for holder in holders:
            holder.close()
    assert response.status_code == 400, response.status_code
    with app.app_context():
        assert db.session.scalar(select(RateLimitCounter.count).where(RateLimitCounter.key.contains("account"))) == 1
        db.session.rollback()


# -- the worker's queue ------------------------------------------------------------------------------------------
@needs_pgbouncer
def test_the_workers_queue_in_the_database_polls_through_the_pooler(world, pooled_app, monkeypatch):
    """The worker's queue (Huey) in the app's database, reached through the pooler: its own psycopg connection
    prepares no statement, and an empty queue is polled — a LISTEN would stay on a server connection that other
    clients get, and the wake-ups would go to them."""
    for name in ("storage", "storage_class", "storage_kwargs"):  # the queue's binding, given back afterwards
        monkeypatch.setattr(queue.huey, name, getattr(queue.huey, name))
    monkeypatch.setattr(queue, "_state", dict(queue._state))
    storage = queue.bind(pooled_app()).storage
    try:
        for _ in range(PREPARE_THRESHOLD + 2):
            storage.enqueue(b"wake")
            assert storage.dequeue() == b"wake"
        with world.raw() as holder:
            holder.execute("SELECT 1")  # holds the server connection the queue used last: the next is another
            storage.enqueue(b"wake")
            assert storage.dequeue() == b"wake"
        assert storage.dequeue() is None
    finally:
        storage.close()
    assert on_every_server_connection(world, "SELECT count(*) FROM pg_listening_channels()") == [0] * POOL_SIZE


# -- a journey ------------------------------------------------------------------------------------------------
def journey(app: Flask, n: int) -> list[tuple[str, int]]:
    client = new_client(app)
    statuses = [("login", do_login(client, f"journey{n}@example.com", PASSWORD).status_code)]
    for _ in range(3):
        statuses.append(("lesson", client.get(lesson_url("welcome")).status_code))
    for lesson in ("welcome", "models"):
        statuses.append(("complete", client.post(f"{lesson_url(lesson)}/complete").status_code))
    statuses.append(("quiz page", client.get(quiz_url("intro-quiz")).status_code))
    statuses.append(("submission", submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code))
    statuses.append(("outline", client.get("/courses/mini-course").status_code))
    return statuses


@needs_pgbouncer
def test_a_journey_of_several_learners_at_once_and_their_dashboard(world, pooled_app):
    app = pooled_app()
    barrier = threading.Barrier(LEARNERS)

    def go(n: int) -> list[tuple[str, int]]:
        barrier.wait(timeout=30)
        return journey(app, n)

    results = in_parallel([lambda n=n: go(n) for n in range(LEARNERS)])
    expected = [("login", 302), *[("lesson", 200)] * 3, ("complete", 302), ("complete", 302), ("quiz page", 200)]
    for result in results:
        assert not isinstance(result, BaseException), result
        assert result[:-2] == expected and result[-2] == ("submission", 302) and result[-1] == ("outline", 200)
    client = teacher_client(app)
    for page in ("dashboard", "dashboard/learners", "dashboard/at-risk", "dashboard/quizzes"):
        assert client.get(f"/cohorts/{world.cohort_id}/{page}").status_code == 200, page
    used = [row for row in world.bouncer.show("POOLS") if row["database"] == world.database]
    assert used and used[0]["pool_mode"] == "transaction"
    servers = [row for row in world.bouncer.show("SERVERS") if row["database"] == world.database]
    assert 1 < len(servers) <= POOL_SIZE  # the learners' connections shared a few server connections
