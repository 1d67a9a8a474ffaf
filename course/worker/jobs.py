"""The scheduled notices, in the order the worker runs them (and `flask --app course notices send`)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from course.cohorts.release_notices import send_release_notices
from course.dashboard.digest import send_weekly_digests
from course.dashboard.nudges import send_automatic_nudges
from course.extensions import db
from course.lti.grades import deliver_due as deliver_lti_scores
from course.lti.tool import prune_expired as prune_lti_launch_data

log = logging.getLogger(__name__)

JOBS: list[tuple[str, Callable[[], int]]] = [
    ("release notices", send_release_notices),
    ("nudges", send_automatic_nudges),
    ("weekly digest", send_weekly_digests),
    ("LTI launch data", prune_lti_launch_data),  # expired nonces, states and launch claims (scores: EVERY_MINUTE)
]


# Every minute, beside the outbox: what waits for an outside server, so it arrives within a minute.
EVERY_MINUTE: list[tuple[str, Callable[[], int]]] = [
    ("LTI scores", lambda: deliver_lti_scores().sent),
]


def run_every_minute() -> dict[str, int]:
    return _run(EVERY_MINUTE)


def run_scheduled() -> dict[str, int]:
    return _run(JOBS)


def _run(jobs: list[tuple[str, Callable[[], int]]]) -> dict[str, int]:
    """Run every job, each in its own transaction; how many messages each wrote. A job that fails is rolled back
    and logged, and the others still run (it is tried again at the next run: what it had sent is not repeated)."""
    counts = {}
    for name, job in jobs:
        try:
            counts[name] = job()
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("scheduled job %r failed; the other jobs ran", name)
            counts[name] = 0
    return counts
