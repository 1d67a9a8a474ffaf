"""Portable SQL helpers for the two engines we run on (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from course.extensions import db


def insert_ignore(model: type, values: dict[str, Any], conflict: list[str]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING. Returns True if a row was inserted.

    Race-free "create if missing": the database's unique constraint decides, not a check in Python.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict)
    result = db.session.execute(stmt)
    return bool(result.rowcount)
