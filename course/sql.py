"""The two engines we run on (SQLite and PostgreSQL): connection settings, how a request's transactions
begin, and portable SQL helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import current_app, g, has_request_context, request
from sqlalchemy import event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from course.extensions import db


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SQLite: enforce foreign keys, wait for locks instead of failing, WAL for concurrent readers."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
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
    return options


def insert_ignore(model: type, values: dict[str, Any], conflict: list[str]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING. Returns True if a row was inserted.

    Race-free "create if missing": the database's unique constraint decides, not a check in Python.
    """
    return insert_ignore_returning(model, values, conflict) is not None


def insert_ignore_returning(model: type, values: dict[str, Any], conflict: list[str]) -> Any:
    """`insert_ignore`, returning the new row's primary key (its first column), or None when the row existed."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = list(model.__table__.primary_key.columns)
    stmt = insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict).returning(*key)
    # The row it returns, not the rowcount: through the ORM on PostgreSQL the rowcount is not 0 when the
    # conflict skipped the row.
    row = db.session.execute(stmt).first()
    return row[0] if row is not None else None


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
        conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        # A connection's own mode (transactional, or AUTOCOMMIT by SQLAlchemy's option) is remembered the first
        # time it begins, and restored whenever a transaction begins outside a reading request (e.g. the CLI).
        pooled = conn.connection
        own = pooled.info.setdefault(_OWN_AUTOCOMMIT, pooled.dbapi_connection.autocommit)
        autocommit = own or (reading and not g.get("request_needs_transaction"))
        if pooled.dbapi_connection.autocommit != autocommit:
            pooled.dbapi_connection.autocommit = autocommit  # psycopg: settable between transactions, as here


_OWN_AUTOCOMMIT = "founder_course_own_autocommit"
