"""SQLite: writers wait for their turn in the kernel.

SQLite lets one connection write at a time. A writer that finds the write lock taken sleeps and tries again: 1 ms,
then 2, 5, 10 … (its busy handler, up to `busy_timeout`), so it wakes up late for a lock held a millisecond. With two
workers recording quiz submissions, a fifth of the two cores sat idle in those sleeps (docs/PERFORMANCE.md, "Round
ten"). So a writing connection first takes its turn: an exclusive flock(2) on a file beside the database, which the
kernel hands to the next waiter the moment the last one gives it up, and gives its turn back as its transaction ends.
SQLite's own lock still decides who writes (a process that takes no turn, e.g. the sqlite3 shell, is waited for as
before); the turn only lines the writers up. A writer waits for its turn as long as the one before it writes, as a
PostgreSQL row lock is waited for (gunicorn's timeout ends a worker stuck in a request).

`course.sql` gives the engine this connection class (sqlite3's `factory`) for a database in a file, takes the turn
before a writing transaction's BEGIN IMMEDIATE and around the rate-limit counter's statement (`writers_turn`).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import weakref
from typing import Any

WRITERS_FILE_SUFFIX = "-writers"
_turns = threading.local()  # .held: the writers' files whose turn this thread holds, on one of its connections


class QueuedWriters(sqlite3.Connection):
    """A SQLite connection whose write transactions take their turn first (`take_turn`), and give it back when they
    end: at its commit, its rollback, its close, or when it is garbage collected without either."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        path = os.fspath(database) if isinstance(database, str | os.PathLike) else ""
        self.writers_file = (
            path + WRITERS_FILE_SUFFIX if path and path != ":memory:" and not path.startswith("file:") else None
        )
        self._turn = _Turn(self.writers_file)
        weakref.finalize(self, self._turn.end)  # a connection dropped without a close gives its turn back too

    def take_turn(self) -> None:
        """Wait until no other connection that takes turns writes to this database. Nothing when this thread
        holds the turn already, on this connection or another (a second writer in one thread would wait for
        itself: it is left to SQLite, which refuses it after `busy_timeout`)."""
        if self.writers_file is None:
            return
        held = getattr(_turns, "held", None)
        if held is None:
            held = _turns.held = set()
        if self.writers_file in held:
            return
        try:
            self._turn.take()
        except OSError:  # the file cannot be made (a read-only directory): SQLite's busy handler alone
            return
        held.add(self.writers_file)
        self._turn.thread_held = held

    def give_turn(self) -> None:
        self._turn.give_back()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._turn.give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._turn.give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._turn.end()


class _Turn:
    """One connection's handle on the writers' file (its own open file, so its flock excludes every other
    connection's, in this process or another)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.fd: int | None = None
        self.thread_held: set[str] | None = None  # the holding thread's set, to take the file out of at the end

    def take(self) -> None:
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def give_back(self) -> None:
        held, self.thread_held = self.thread_held, None
        if held is None:
            return
        held.discard(self.path)
        fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def end(self) -> None:
        self.give_back()
        self.close()
