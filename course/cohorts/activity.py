"""The audit log as staff read it: entries with the names of who acted and on whom, joined in from
`user_account` when shown (the entries hold ids only; an account deleted since shows as such). Read by a
cohort's activity page (`routes.py`) and the admins' audit log (`course/admin/audit.py`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import Row, Select, select
from sqlalchemy.orm import aliased

from course.accounts.models import User
from course.audit import queries
from course.audit.labels import Line, Names, action_label, lines, user_ids_named_in
from course.audit.models import AuditEntry
from course.cohorts.models import Cohort
from course.extensions import db

PAGE_SIZE = 50
MAX_PAGE = 100_000

_actor = aliased(User, name="actor")
_target = aliased(User, name="target")


class Person(NamedTuple):
    id: int
    name: str | None  # None: the account was deleted
    email: str | None


class ActivityRow(NamedTuple):
    entry: AuditEntry
    actor: Person | None  # None: nobody signed in (the command line, a visitor)
    target: Person | None


def _with_people(stmt: Select) -> Select:
    return (
        stmt.outerjoin(_actor, _actor.id == AuditEntry.actor_id)
        .outerjoin(_target, _target.id == AuditEntry.target_user_id)
        .add_columns(_actor.name, _actor.email, _actor.deleted_at, _target.name, _target.email, _target.deleted_at)
    )


def _row(row: Row) -> ActivityRow:
    entry, *people = row
    return ActivityRow(entry, _person(entry.actor_id, *people[:3]), _person(entry.target_user_id, *people[3:]))


def _person(user_id: int | None, name: str | None, email: str | None, deleted_at: datetime | None) -> Person | None:
    if user_id is None:
        return None
    if name is None or deleted_at is not None:  # no such row, or an account deleted (its row anonymised)
        return Person(user_id, None, None)
    return Person(user_id, name, email)


class Shown(NamedTuple):
    """An entry as a page shows it."""

    entry: AuditEntry
    actor: Person | None
    target: Person | None
    action: str  # its name in the reader's language
    cohort: str | None  # the cohort's name (or #id: a cohort the reader does not see)
    lines: list[Line]  # what changed, and the details


def activity_page(
    filters: queries.AuditFilter, number: int, cohorts: Iterable[Cohort]
) -> tuple[queries.Page, list[Shown]]:
    """Page `number` of the matching entries, newest first, as shown to a reader who sees `cohorts` by name.
    Three statements: the count, the page with its people, the people its values name."""
    page = queries.page(filters, number, PAGE_SIZE)
    rows = [_row(row) for row in db.session.execute(page.window(_with_people(queries.entries(filters))))]
    names = _names_for(rows, cohorts)
    return page, [_shown(row, names) for row in rows]


def all_activity(filters: queries.AuditFilter) -> Iterator[ActivityRow]:
    """Every matching entry with its people, newest first, streamed (see `queries.streamed`)."""
    for row in queries.streamed(_with_people(queries.entries(filters))):
        yield _row(row)


def _names_for(rows: list[ActivityRow], cohorts: Iterable[Cohort]) -> Names:
    """The names the entries' values refer to: the people they name by id (one statement) and `cohorts`."""
    ids = user_ids_named_in(row.entry for row in rows)
    found = db.session.execute(select(User.id, User.name, User.deleted_at).where(User.id.in_(ids))).tuples()
    people = {
        user_id: name if deleted_at is None else _("Deleted account #%(id)s", id=user_id)
        for user_id, name, deleted_at in found
    }
    return Names(people, {cohort.id: cohort.name for cohort in cohorts})


def _shown(row: ActivityRow, names: Names) -> Shown:
    cohort_id = row.entry.cohort_id
    cohort = names.cohorts.get(cohort_id, f"#{cohort_id}") if cohort_id is not None else None
    return Shown(*row, action_label(row.entry.action), cohort, lines(row.entry, names))
