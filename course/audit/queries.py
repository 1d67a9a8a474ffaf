"""Reading the audit log: entries filtered by user, action, cohort and time, newest first — a page at a time, or
streamed whole for a CSV export. Only the entries: the pages above join in the names they show
(`course.cohorts.activity`), since this package imports nothing above it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Row, Select, and_, func, or_, select

from course.audit.log import Action
from course.audit.models import AuditEntry
from course.extensions import db

STREAM_BATCH = 500


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to read; None (or empty) leaves a criterion out."""

    user_id: int | None = None  # the user who acted or was acted on
    action: str | None = None  # an `Action` value
    cohort_id: int | None = None  # entries of the cohort, and learners moved into it
    since: datetime | None = None  # aware; from this moment on
    until: datetime | None = None  # aware; before this moment

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.user_id is not None:
            found.append(or_(AuditEntry.actor_id == self.user_id, AuditEntry.target_user_id == self.user_id))
        if self.action:
            found.append(AuditEntry.action == self.action)
        if self.cohort_id is not None:
            moved_in = and_(
                AuditEntry.action == Action.MOVED.value,
                AuditEntry.after["cohort_id"].as_integer() == self.cohort_id,
            )
            found.append(or_(AuditEntry.cohort_id == self.cohort_id, moved_in))
        if self.since is not None:
            found.append(AuditEntry.at >= self.since)
        if self.until is not None:
            found.append(AuditEntry.at < self.until)
        return found

    def as_details(self) -> dict[str, Any]:
        """The filter as an entry may hold it (an export records what it exported): ids, a name, moments."""
        values = {
            "user_id": self.user_id,
            "action": self.action,
            "cohort_id": self.cohort_id,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {key: value for key, value in values.items() if value is not None}


def entries(filters: AuditFilter) -> Select:
    """The matching entries, newest first (ties: the later entry first). Add columns and joins to it freely."""
    return select(AuditEntry).where(*filters.conditions()).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def count(filters: AuditFilter) -> int:
    return db.session.scalar(select(func.count(AuditEntry.id)).where(*filters.conditions())) or 0


class Page(NamedTuple):
    number: int  # 1-based, at most `pages`
    pages: int  # at least 1
    total: int  # entries on every page
    size: int

    def window(self, stmt: Select) -> Select:
        """`stmt` limited to this page's rows."""
        return stmt.limit(self.size).offset((self.number - 1) * self.size)


def page(filters: AuditFilter, number: int, size: int) -> Page:
    """Page `number` of the matching entries; past the last page (a stale link), the last page. One statement."""
    total = count(filters)
    pages = max(1, -(-total // size))
    return Page(min(max(number, 1), pages), pages, total, size)


def streamed(stmt: Select) -> Iterator[Row]:
    """The rows of `stmt`, read in batches (a server-side cursor on PostgreSQL: call within a transaction,
    `course.sql.begin_transaction`), and the cursor closed even when a download is abandoned half-way."""
    result = db.session.execute(stmt.execution_options(yield_per=STREAM_BATCH))
    try:
        yield from result
    finally:
        result.close()
