"""SQLite: writers take their turn in the kernel (course/sqlite_writers.py, `QueuedWriters`). A write transaction
holds an exclusive flock on the file beside the database from its BEGIN IMMEDIATE to its end, whatever ends it; a
writer that finds the turn taken waits for it to be given back instead of sleeping in SQLite's busy handler (which,
past its `busy_timeout`, refuses it); a thread that already holds the turn is not made to wait for itself."""

from __future__ import annotations

import fcntl
import gc
import os
import sqlite3
import threading
import time

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError

from course.extensions import db as _db
from course.sqlite_writers import WRITERS_FILE_SUFFIX, QueuedWriters

HOLD = 0.4  # seconds a writer holds the turn in the tests below: four times the waiting writer's busy_timeout


@pytest.fixture
def database(app) -> str:
    with app.app_context():
        engine = _db.engine
        if engine.dialect.name != "sqlite":
            pytest.skip("SQLite's writers; PostgreSQL's wait on row locks")
        path = engine.url.database
    return path


def _turn_is_free(database: str) -> bool:
    """Whether an exclusive flock on the writers' file can be had now (taken and given back at once if so)."""
    fd = os.open(database + WRITERS_FILE_SUFFIX, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing the file gives its lock back
    return True


def _engine(database: str, busy_ms: int = 10_000):
    """Another engine on the database, as another process's would be, its writers waiting `busy_ms` in SQLite."""
    engine = create_engine(f"sqlite:///{database}", connect_args={"factory": QueuedWriters})

    def busy(dbapi_connection, record) -> None:  # after the app's own pragmas (course/sql.py), which set 10 s
        dbapi_connection.execute(f"PRAGMA busy_timeout={busy_ms}")

    event.listen(engine, "connect", busy)
    return engine


def test_a_write_transaction_holds_the_turn_until_it_ends(app, database):
    with app.app_context():
        engine = _db.engine
    assert _turn_is_free(database)
    with engine.begin() as conn:  # outside a request: a writing transaction (BEGIN IMMEDIATE)
        conn.execute(text("CREATE TABLE IF NOT EXISTS turn_probe (n INTEGER)"))
        assert not _turn_is_free(database)
    assert _turn_is_free(database)  # committed
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("INSERT INTO turn_probe VALUES (1)"))
        assert not _turn_is_free(database)
        raise RuntimeError("rolled back")
    assert _turn_is_free(database)  # rolled back
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM turn_probe")).scalar() == 0
        conn.commit()


def test_a_waiting_writer_waits_for_its_turn_past_sqlites_busy_timeout(app, database):
    """The second writer's busy_timeout is a quarter of the first one's transaction: in SQLite's busy handler it
    would be refused ("database is locked"); in the queue it writes once the first has committed."""
    first, second = _engine(database), _engine(database, busy_ms=int(HOLD * 1000 / 4))
    with first.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS turn_probe (n INTEGER)"))
    holding = threading.Event()

    def hold() -> None:
        with first.begin() as conn:
            conn.execute(text("INSERT INTO turn_probe VALUES (1)"))
            holding.set()
            time.sleep(HOLD)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with second.begin() as conn:
            conn.execute(text("INSERT INTO turn_probe VALUES (2)"))
        waited = time.monotonic() - started
    finally:
        holder.join(10)
    with second.connect() as conn:
        assert conn.execute(text("SELECT n FROM turn_probe ORDER BY rowid")).scalars().all() == [1, 2]
    assert waited >= HOLD / 2  # it did wait, for the first writer's commit
    first.dispose()
    second.dispose()


def test_a_thread_holding_the_turn_is_refused_a_second_writer_not_stuck(app, database):
    """A second write transaction in the thread that holds the turn (on another connection) would wait for itself:
    it takes no turn and SQLite refuses it after its busy_timeout, as before the queue."""
    engine = _engine(database, busy_ms=100)
    outcome: list[object] = []

    def nested() -> None:
        try:
            with engine.connect() as outer, engine.connect() as inner:
                outer.begin()
                outer.execute(text("CREATE TABLE IF NOT EXISTS turn_probe (n INTEGER)"))
                inner.begin()  # BEGIN IMMEDIATE: the write lock is the outer transaction's
        except OperationalError as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=nested, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the second writer waited for its own thread's turn"
    assert len(outcome) == 1 and "locked" in str(outcome[0])
    assert _turn_is_free(database)
    engine.dispose()


def test_a_connection_dropped_while_holding_the_turn_gives_it_back(app, database):
    connection = sqlite3.connect(database, factory=QueuedWriters)
    connection.take_turn()
    assert not _turn_is_free(database)
    del connection
    gc.collect()
    assert _turn_is_free(database)


def test_a_database_in_memory_takes_no_turn():
    connection = sqlite3.connect(":memory:", factory=QueuedWriters)
    connection.take_turn()  # nothing to wait for: no other connection sees this database
    assert connection.writers_file is None
    connection.close()
