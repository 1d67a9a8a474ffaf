"""The learner grid's search (?q=): the cohort's learners whose name or email contains the text, case aside.

In SQL that was `name ILIKE '%q%' OR email ILIKE '%q%'` over the cohort (on SQLite `lower(name) LIKE …`): no index
helps a substring, and lowering every name and email again for each search was most of the statement (10 of its
11 ms for 10,000 learners on PostgreSQL, where `LIKE` without the lowering takes 1.5 ms). So the names and emails
are lowered by the database once, as its search lowered them, and kept (`course.dashboard.cache`, until a learner
joins, leaves or is renamed: `NAMES`) as one UTF-8 string per cohort, which a search scans with `bytes.find`: about
half a millisecond for 10,000 learners (about 0.4 MB kept). A cohort of more than `KEPT_UP_TO` learners is searched
in SQL as before (its text would take most of the cache's budget: course/dashboard/cache.py). The text searched
for is lowered by the database too (`SELECT lower(:q)`), so both sides are lowered alike whatever the server's
locale (a `C` cluster lowers ASCII letters only, as SQLite's `lower()` without ICU does).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from itertools import accumulate
from operator import itemgetter

from sqlalchemy import text

from course.cohorts.models import Cohort
from course.dashboard.cache import NAMES, cached
from course.extensions import db

_NAME_END, _LEARNER_END = "\x1f", "\x1e"  # between a learner's name and email, after their email (unit, record)

Index = tuple[array, array, bytes]  # user ids, where each one's text starts, the texts
KEPT_UP_TO = 20_000  # learners: a larger cohort's names (about 1.4 MB, a third of the budget) go to SQL


def matching(cohort: Cohort, q: str) -> list[int] | None:
    """The ids of the cohort's learners whose name or email contains `q`, ignoring case as the database's search
    would, in the grid's order by name (`GridParams()`: name, then user id); None (then search in SQL) for a cohort
    of more than `KEPT_UP_TO` learners, or a `q` with a character that separates the kept texts."""
    if cohort.enrolled_count > KEPT_UP_TO or _NAME_END in q or _LEARNER_END in q:
        return None
    index = cached("search", cohort.course_id, (cohort.id,), lambda: _index(cohort), NAMES)
    return _find(index, _lowered(q).encode())


def _lowered(q: str) -> str:
    """`q` lowered as the kept texts were: by the database's `lower()` (its locale decides which letters)."""
    return db.session.connection().execute(_LOWER, {"q": q}).scalar_one()


_LOWER = text("SELECT lower(:q)")


def _index(cohort: Cohort) -> Index:
    """Every learner of the cohort, by name: one statement, their name and email lowered and put together by the
    database, read as plain rows (no result processing: a tenth of the time) and joined in C."""
    params = {"cohort_id": cohort.id, "name_end": _NAME_END, "learner_end": _LEARNER_END}
    rows = db.session.connection().execute(_INDEX, params).all()
    ids = array("i", map(itemgetter(0), rows))
    texts = [t.encode() for t in map(itemgetter(1), rows)]
    starts = array("i", accumulate(map(len, texts), initial=0))
    return ids, starts[:-1], b"".join(texts)


# Plain SQL both engines run (`||` concatenates on both; the tables of `Enrolment` and `User`), with untyped columns:
# the rows come as the driver gives them.
_INDEX = text(
    "SELECT e.user_id, lower(u.name) || :name_end || lower(u.email) || :learner_end"
    " FROM enrolment e JOIN user_account u ON u.id = e.user_id WHERE e.cohort_id = :cohort_id"
    " ORDER BY u.name, e.user_id"
)


def _find(index: Index, needle: bytes) -> list[int]:
    """The learners whose text contains `needle` (UTF-8: a match always starts on a character). A match cannot
    span two learners or a name and an email: the separators are not in the needle."""
    ids, starts, texts = index
    found: list[int] = []
    at = texts.find(needle)
    while at >= 0:
        i = bisect_right(starts, at) - 1
        found.append(ids[i])
        if i + 1 == len(starts):
            break
        at = texts.find(needle, starts[i + 1])
    return found
