"""Which rows of the database are about a user, found by walking the schema (`db.metadata`), so that a new
table is covered the day it is written: the user's own row; in every table with a column referencing
`user_account.id`, the rows where that column is the user (an audit entry names its actor and its target: either
makes it theirs); in a table referencing a table whose every row is one user's, the rows under theirs (an
attempt's answers).

Secrets — password hashes, session tokens, the digests of login sessions and recovery codes, TOTP secrets — are
columns found by their names (`is_secret`): an export leaves them out, and deleting an account deletes the user's
rows of a table that holds one, unless the table has a rule of its own (course/privacy/deletion.py): its login
sessions, MFA factors and recovery codes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, ColumnElement, MetaData, Table, or_, select

from course.extensions import db

USERS = "user_account"
# A column whose name holds one of these is a secret: never exported.
SECRET_WORDS = ("password", "hash", "digest", "secret", "token", "otp")


def is_secret(column: Column) -> bool:
    name = column.name.lower()
    return any(word in name for word in SECRET_WORDS)


@dataclass(frozen=True)
class UserTable:
    """A table holding rows about a user: those whose `user_columns` are the user, or whose `parent_links`
    column points at the user's rows of a parent table."""

    table: Table
    user_columns: tuple[Column, ...]
    parent_links: tuple[tuple[Column, Column, UserTable], ...] = ()  # (this column, the parent's column, parent)

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def owned(self) -> bool:
        """Each row belongs to one user (one user column, never empty; or a child of such rows): the rows of
        a table that references it are theirs too. A table that merely mentions users (an audit entry's actor
        and target, a `created_by`) passes nothing down: the rows under it are other people's."""
        if self.parent_links:
            return all(parent.owned for _column, _target, parent in self.parent_links) and not self.user_columns
        return len(self.user_columns) == 1 and not self.user_columns[0].nullable

    @property
    def secret_columns(self) -> list[Column]:
        return [column for column in self.table.columns if is_secret(column)]

    @property
    def shown_columns(self) -> list[Column]:
        """The columns an export holds: all but the secrets."""
        return [column for column in self.table.columns if not is_secret(column)]

    @property
    def holds_secrets(self) -> bool:
        return bool(self.secret_columns)

    def rows_of(self, user_id: int) -> ColumnElement[bool]:
        """The condition that selects the user's rows of this table."""
        clauses: list[ColumnElement[bool]] = [column == user_id for column in self.user_columns]
        for column, target, parent in self.parent_links:
            clauses.append(column.in_(select(target).where(parent.rows_of(user_id))))
        return or_(*clauses)


def user_tables(metadata: MetaData | None = None) -> list[UserTable]:
    """Every table with rows about a user, parents before children, the user's own table first."""
    metadata = metadata if metadata is not None else db.metadata
    users = metadata.tables[USERS]
    found: dict[str, UserTable] = {USERS: UserTable(users, (users.c.id,))}
    for table in metadata.sorted_tables:  # a table after every table it references
        if table.name in found:
            continue
        direct: list[Column] = []
        links: list[tuple[Column, Column, UserTable]] = []
        for column in table.columns:
            for fk in column.foreign_keys:
                if fk.column.table is users:
                    direct.append(column)
                elif (parent := found.get(fk.column.table.name)) is not None and parent.owned:
                    links.append((column, fk.column, parent))
        if direct or links:
            found[table.name] = UserTable(table, tuple(direct), tuple(links))
    return list(found.values())
