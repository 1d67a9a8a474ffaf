"""Portable SQL helpers for the two engines we run on (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, g, has_request_context, request
from sqlalchemy.dialects import postgresql, sqlite

from course.extensions import db


def insert_ignore(model: type, values: dict[str, Any], conflict: list[str]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING. Returns True if a row was inserted.

    Race-free "create if missing": the database's unique constraint decides, not a check in Python.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = list(model.__table__.primary_key.columns)
    stmt = insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict).returning(*key)
    # The row it returns, not the rowcount: through the ORM on PostgreSQL the rowcount is not 0 when the
    # conflict skipped the row.
    return db.session.execute(stmt).first() is not None


# -- when a request's SQLite transactions take the write lock --------------------------------------------
# SQLite has one writer at a time. A transaction that may write begins IMMEDIATE, taking the write lock at
# its start: one that read first and then wrote would fail ("database is locked") when another connection
# committed in between, instead of waiting its turn through the busy timeout. Requests that only read (GET,
# HEAD, OPTIONS) begin deferred transactions, which in WAL mode never wait. A view that reads a lot before
# a short write (grading a quiz) is marked `reads_first`: its reads run without the lock too, and it calls
# `begin_writing()` before its first write. On PostgreSQL none of this changes anything but an extra commit.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READS_FIRST = "_reads_first"


def reads_first(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view whose request reads in a deferred transaction until it calls `begin_writing()`. Put it
    right above the function: the decorators around it copy the mark."""
    setattr(view, _READS_FIRST, True)
    return view


def begin_writing() -> None:
    """From here on the request writes: its reads are committed (ended), and the next transaction takes
    the write lock when it begins. Anything decided from those reads must be checked again by the write."""
    db.session.commit()
    g.sqlite_writing = True


def begins_reading() -> bool:
    """Whether the transaction beginning now, in this request, only reads until `begin_writing()`."""
    if not has_request_context() or g.get("sqlite_writing"):
        return False
    if request.method in SAFE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, _READS_FIRST, False))
