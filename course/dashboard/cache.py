"""What the dashboard keeps between requests: a page's expensive numbers (the statements that read every learner
of the cohort), per process, until the course's counter moves.

`course.progress.rollup.version` reads the counter in one statement; every change the dashboard reads moves it
in the transaction that makes the change (a lesson view or completion, a quiz attempt, an enrolment added, moved,
extended or removed, a completion, a rename, a content load that changes the outline). A page asks `cached` for
its numbers under a key that also names everything else they depend on (the cohort's dates and settings, the
release dates, the page's parameters; for numbers that depend on the time, `at` names the minute): the first request
after a change computes them, the next ones reuse them. The counter is read before the numbers, so numbers kept
under a counter are never older than it.

Per process (each worker keeps its own): one entry per page (kind and key), which a newer counter or minute
replaces; at most `ENTRIES` entries and `BUDGET` ids or rows in all (a list of learners is kept as an array of
ids, 400 kB for 100,000 learners: `BUDGET` is about 4 MB of them), the least recently used dropped first. A
value larger than the budget is not kept. A search's results are not kept; the cohort's lowered names and emails it
scans are (course/dashboard/search.py: about 4 MB for 100,000 learners, counted by four bytes).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sized
from datetime import datetime
from typing import TypeVar

from flask import current_app

from course.cohorts.models import Cohort
from course.dashboard.coursemap import CourseMap
from course.progress.rollup import ACTIVITY, PEOPLE, QUIZZES, REVIEWS, version

T = TypeVar("T")
ENTRIES = 64
BUDGET = 1_000_000  # ids or rows kept in all, per process
EVERYTHING = (ACTIVITY, QUIZZES, PEOPLE)  # what a learner's numbers depend on: views, attempts, enrolments
ATTEMPTS = (QUIZZES, PEOPLE)  # quiz attempts of the cohort's learners
NAMES = (PEOPLE,)  # who is in the cohort, by name
IN_REVIEW = (QUIZZES, PEOPLE, REVIEWS)  # review cards (made by attempts, moved by reviews)


def size(value: object) -> int:
    """What `value` counts against `BUDGET`: its ids or rows (the lengths of its containers, one level deep; bytes
    by four, the size of an id)."""
    parts = value if isinstance(value, tuple) else (value,)
    return 1 + sum(_count(v) for v in parts)


def _count(value: object) -> int:
    if isinstance(value, bytes):
        return len(value) // 4
    return len(value) if isinstance(value, Sized) and not isinstance(value, str) else 0


class _Store:
    """Per page (`slot`): the stamp (counter, minute) its value was computed at, the value and its size."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[Hashable, tuple[Hashable, object, int]] = OrderedDict()
        self.total = 0

    def get(self, slot: Hashable, stamp: Hashable) -> object | None:
        with self.lock:
            entry = self.entries.get(slot)
            if entry is not None and entry[0] == stamp:
                self.entries.move_to_end(slot)
                return entry[1]
        return None

    def put(self, slot: Hashable, stamp: Hashable, value: object) -> None:
        cost = size(value)
        with self.lock:
            old = self.entries.pop(slot, None)  # an older counter's or minute's value for the page: replaced
            if old is not None:
                self.total -= old[2]
            if cost > BUDGET:
                return
            self.entries[slot] = (stamp, value, cost)
            self.total += cost
            while len(self.entries) > ENTRIES or self.total > BUDGET:
                self.total -= self.entries.popitem(last=False)[1][2]


def _store() -> _Store:
    return current_app.extensions.setdefault("dashboard_cache", _Store())


def cohort_key(cohort: Cohort, cm: CourseMap) -> tuple:
    """What every cohort-wide number depends on besides the counter: the cohort, its dates and settings, the
    outline's shape and the release dates."""
    chapters = tuple((c.id, c.opens_on, c.scheduled, c.items_total) for c in cm.chapters)
    return (cohort.id, cohort.starts_on, cohort.inactive_after_days, cm.course_id, chapters)


def minute(now: datetime) -> datetime:
    """`now` to the minute: numbers that depend on the time (active in the last 7 days …) are kept a minute."""
    return now.replace(second=0, microsecond=0)


def cached(
    kind: str,
    course_id: int,
    key: tuple,
    compute: Callable[[], T],
    depends: tuple[int, ...] = EVERYTHING,
    at: datetime | None = None,
) -> T:
    """`compute()`'s value for `key` (which names the cohort and everything else the value depends on),
    computed again when the course's counters of `depends` (`rollup.KINDS`) have moved, or `at` (the minute, for
    numbers that depend on the time: `minute`) is another. One statement (the counters) when kept."""
    slot = (kind, course_id, key)
    stamp = (version(course_id, depends), at)
    store = _store()
    found = store.get(slot, stamp)
    if found is not None:
        return found  # type: ignore[return-value]
    value = compute()
    store.put(slot, stamp, value)
    return value
