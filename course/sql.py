"""The two engines we run on (SQLite and PostgreSQL): connection settings, how a request's transactions
begin, and portable SQL helpers."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import current_app, g, has_request_context, request
from sqlalchemy import bindparam, event, make_url, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.sql.elements import ClauseElement, TextClause

from course.extensions import db


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SQLite: enforce foreign keys, wait for locks instead of failing, WAL for concurrent readers."""
    sqlite3 = sys.modules.get("sqlite3")  # imported only where SQLite is used (see `engine_options`)
    if sqlite3 is None or not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy, not pysqlite, decide when transactions begin, so SAVEPOINTs work (SQLAlchemy docs,
    # "Serializable isolation / Savepoints / Transactional DDL").
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL never corrupts the database and survives an application crash (SQLite's recommended
    # setting for WAL); only a power loss can lose the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def engine_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """SQLALCHEMY_ENGINE_OPTIONS, with what the database's pooler needs (DATABASE_POOLER)."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if config.get("DATABASE_POOLER") == "transaction" and url.get_driver_name() == "psycopg":
        # psycopg prepares a statement on its server connection once it ran 5 times (prepare_threshold). Through a
        # transaction pooler the next run may be on another server connection: "prepared statement "_pg3_0" does
        # not exist" (or "already exists" on a third). PgBouncer before 1.21 keeps no prepared statements at all.
        options["connect_args"] = {**options.get("connect_args", {}), "prepare_threshold": None}
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        # Writers line up for SQLite's write lock (course/sqlite_writers.py), imported here: a PostgreSQL worker
        # leaves the sqlite3 module out.
        from course.sqlite_writers import QueuedWriters

        options["connect_args"] = {**options.get("connect_args", {}), "factory": QueuedWriters}
    return options


@contextmanager
def writers_turn(driver_connection: Any) -> Iterator[None]:
    """A SQLite statement that writes outside a transaction (autocommit) runs in the connection's turn
    (`course.sqlite_writers.QueuedWriters`); any other connection, as it is."""
    take = getattr(driver_connection, "take_turn", None)
    if take is None:
        yield
        return
    take()
    try:
        yield
    finally:
        driver_connection.give_turn()


def insert_ignore(model: type, values: dict[str, Any], conflict: list[str]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING. Returns True if a row was inserted.

    Race-free "create if missing": the database's unique constraint decides, not a check in Python.
    """
    return insert_ignore_returning(model, values, conflict) is not None


def insert_ignore_returning(model: type, values: dict[str, Any], conflict: list[str]) -> Any:
    """`insert_ignore`, returning the new row's primary key (its first column), or None when the row existed."""
    dialect = db.session.get_bind().dialect
    built = _insert_ignoring(model, tuple(values), tuple(conflict), dialect)
    if built is None or any(isinstance(value, ClauseElement) for value in values.values()):
        # a default or a value that is SQL: the dialect's own statement (compiled again each time)
        insert = _dialect_insert(dialect.name)
        key = list(model.__table__.primary_key.columns)
        stmt = insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict).returning(*key)
        # The row it returns, not the rowcount: through the ORM on PostgreSQL the rowcount is not 0 when the
        # conflict skipped the row.
        row = db.session.execute(stmt).first()
    else:
        stmt, defaults = built
        params = {**{name: make() for name, make in defaults}, **values}
        db.session.flush()  # as the ORM's INSERT would: the rows it may refer to go in first
        row = db.session.connection().execute(stmt, params).first()
    return row[0] if row is not None else None


def analyze(tables: list[str]) -> None:
    """PostgreSQL: refresh the planner's statistics of `tables`, in the session's transaction. A rollback takes back
    the column statistics but not the tables' row and page counts, which ANALYZE writes in place (counting the
    transaction's own rows): run it for a write that is meant to be committed (not a dry run).
    For the small tables only a content load writes (the outline): autovacuum analyzes a table once 50 rows and a
    tenth of it have changed, which a course's 40 lessons never reach, and without statistics the planner takes
    every table for a row or two and joins the outline by nested loops: the roll-up's statements on every first
    view and completion took half as long again (docs/PERFORMANCE.md, "Round six"). SQLite: nothing (no ANALYZE is
    run there; its plans are chosen without statistics)."""
    dialect = db.session.get_bind().dialect
    if dialect.name == "postgresql":
        db.session.flush()
        reserved = dialect.identifier_preparer.reserved_words
        db.session.execute(text("ANALYZE " + ", ".join(_quoted(name, reserved) for name in tables)))


# `insert_ignore`'s statements, per model, columns given, conflict target and dialect (whose reserved words are
# quoted): plain SQL that SQLite (3.35+) and PostgreSQL both run, so SQLAlchemy compiles each once and reuses it
# (the dialects' `on_conflict_do_nothing()` is never cached: compiling it again cost a tenth of a lesson's first
# view). With the statement, the Python-side defaults of the columns not given, as the ORM's INSERT would apply
# them. None: a column default that is SQL.
_IGNORING: dict[tuple[type, tuple[str, ...], tuple[str, ...], str], tuple[TextClause, list] | None] = {}


def _insert_ignoring(
    model: type, names: tuple[str, ...], conflict: tuple[str, ...], dialect: Dialect
) -> tuple[TextClause, list[tuple[str, Callable[[], Any]]]] | None:
    key = (model, names, conflict, dialect.name)
    if key not in _IGNORING:
        _IGNORING[key] = _build_insert_ignoring(model, names, conflict, dialect.identifier_preparer.reserved_words)
    return _IGNORING[key]


def _build_insert_ignoring(
    model: type, names: tuple[str, ...], conflict: tuple[str, ...], reserved: frozenset[str] | set[str]
) -> tuple[TextClause, list[tuple[str, Callable[[], Any]]]] | None:
    columns = sa_inspect(model).columns  # by attribute name
    given = {name: columns[name] for name in names}
    defaults: list[tuple[str, Callable[[], Any]]] = []
    for name, column in columns.items():
        default = column.default
        if name in given or default is None:
            continue
        if default.is_scalar:
            defaults.append((name, lambda arg=default.arg: arg))
        elif default.is_callable:
            defaults.append((name, lambda arg=default.arg: arg(None)))  # SQLAlchemy's wrapper of a 0-argument callable
        else:
            return None
        given[name] = column
    table = model.__table__
    returned = list(table.primary_key.columns)[0]

    def quoted(name: str) -> str:
        return _quoted(name, reserved)

    listed = ", ".join(quoted(column.name) for column in given.values())
    sql = (  # the model's own names and placeholders, nothing from outside
        f"INSERT INTO {quoted(table.name)} ({listed})"  # noqa: S608  # nosec B608
        f" VALUES ({', '.join(f':{name}' for name in given)})"
        f" ON CONFLICT ({', '.join(quoted(name) for name in conflict)}) DO NOTHING"
        f" RETURNING {quoted(returned.name)}"
    )
    stmt = text(sql).bindparams(*(bindparam(name, type_=column.type) for name, column in given.items()))
    return stmt, defaults


def _quoted(name: str, reserved: frozenset[str] | set[str]) -> str:
    """A table's or column's name as the engine reads it: quoted only when its dialect reserves it (e.g. "key"), as
    SQLAlchemy writes it (the models' names are lower case, so quoted they are the same names)."""
    plain = name.isidentifier() and name == name.lower() and name not in reserved
    return name if plain else f'"{name}"'


def _dialect_insert(dialect_name: str) -> Callable[..., Any]:
    """The dialect's INSERT with ON CONFLICT, imported when first needed: a worker imports only its own engine's
    dialect (SQLAlchemy's PostgreSQL dialects are about 1.5 MB of a SQLite worker's memory)."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


# -- how a request's transactions begin ----------------------------------------------------------------
# A request that may write takes SQLite's write lock when its transaction begins (BEGIN IMMEDIATE), so it waits
# its turn instead of failing; reading requests (and `reads_first` views until their `writing()` block) begin
# deferred, and on PostgreSQL run in autocommit. Why, and what it saves: docs/PERFORMANCE.md, "Transactions".
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READS_FIRST = "_reads_first"


def reads_first(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view whose request reads in a deferred transaction until it writes (`writing()`). Put it
    right above the function: the decorators around it copy the mark."""
    setattr(view, _READS_FIRST, True)
    return view


@contextmanager
def writing() -> Iterator[None]:
    """A write in a request that reads without a write transaction (a GET, a `reads_first` view): its reads
    are committed (ended), the block runs in a transaction that, on SQLite, takes the write lock when it
    begins, and is committed at the end of the block (rolled back if it raises). Reads after the block begin
    as reads again. Anything decided from the earlier reads must be checked again inside the block."""
    db.session.commit()
    g.request_writes = True
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        g.request_writes = False


def begin_transaction() -> None:
    """From here on the request's reads run in a transaction on PostgreSQL too (for `SET LOCAL`, or a
    server-side cursor); on SQLite they stay deferred, without the write lock."""
    db.session.commit()
    g.request_needs_transaction = True


def begins_reading() -> bool:
    """Whether the transaction beginning now, in this request, only reads (outside a `writing()` block)."""
    if not has_request_context() or g.get("request_writes"):
        return False
    if request.method in SAFE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, _READS_FIRST, False))


@event.listens_for(Engine, "begin")
def _begin(conn: Connection) -> None:
    reading = begins_reading()
    if conn.dialect.name == "sqlite":
        if reading:
            conn.exec_driver_sql("BEGIN")
            return
        driver = conn.connection.dbapi_connection
        take = getattr(driver, "take_turn", None)  # `QueuedWriters`: its turn among the writers, then the lock
        if take is not None:
            take()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if take is not None:
                driver.give_turn()
            raise
    elif conn.dialect.name == "postgresql":
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # asked for by the caller (a rate-limit counter's one statement): SQLAlchemy sets and resets it
        # A connection's own mode (transactional, or AUTOCOMMIT by the engine's `isolation_level`) is remembered the
        # first time it begins, and restored whenever a transaction begins outside a reading request (e.g. the CLI).
        pooled = conn.connection
        own = pooled.info.setdefault(_OWN_AUTOCOMMIT, pooled.dbapi_connection.autocommit)
        autocommit = own or (reading and not g.get("request_needs_transaction"))
        if pooled.dbapi_connection.autocommit != autocommit:
            pooled.dbapi_connection.autocommit = autocommit  # psycopg: settable between transactions, as here


_OWN_AUTOCOMMIT = "founder_course_own_autocommit"
