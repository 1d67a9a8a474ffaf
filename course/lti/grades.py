"""Grades back to the platform (LTI Assignment and Grade Services) through an outbox.

When an attempt is recorded (`attempt_recorded`, in the attempt's transaction), each resource link the learner
launched in that course gets their current score written to `lti_score` — one row per (link, learner), rewritten
by each attempt. Nothing talks to the platform inside that transaction: `deliver_due` (the worker's every-minute
job, and `flask lti deliver`) posts each pending row afterwards, and a failure is retried with a backoff.

Two workers never post one row at once: a worker claims a row with a conditional UPDATE that moves its `due_at`
LEASE ahead (a worker killed mid-post leaves the row due again when the lease ends), and reads what it needs
before the HTTP call, in a transaction it ends first. A row an attempt rewrote meanwhile (`updated_at` changed) is
neither marked sent nor counted as failed: it goes again.

The score of a chapter's link is the best percent of the chapter's quiz; of the course's link, the mean of the
best percents of every live quiz (0 for one not tried). A chapter's activity is Completed once its quiz is passed;
the course's once the course is completed (`course_completed`, which queues its score again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import Integer, bindparam, func, select, update

from course import signals
from course.content.models import Chapter, Course
from course.content.outline import course_outline
from course.db_types import utcnow
from course.extensions import db
from course.lti.keys import MissingKey
from course.lti.models import LtiAccount, LtiDeployment, LtiPlatform, LtiResourceLink, LtiScore
from course.progress.models import Completion
from course.quiz.models import Attempt
from course.sql import insert_ignore

if TYPE_CHECKING:  # pylti1p3 (with requests and jwcrypto) is loaded by the delivery below, not at start
    from pylti1p3.grade import Grade
    from pylti1p3.lineitem import LineItem
    from pylti1p3.registration import Registration

log = logging.getLogger(__name__)

MAX_TRIES = 8
LEASE = timedelta(minutes=5)  # a claimed row's time to be posted (several requests, each with its timeout)
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"


@dataclass(frozen=True)
class Score:
    given: float
    maximum: float
    completed: bool


def score_of(user_id: int, course: Course, chapter: Chapter | None) -> Score | None:
    """The learner's score for a link's target, or None if it has no quiz."""
    chapters = [oc for oc in course_outline(course).chapters if chapter is None or oc.chapter.id == chapter.id]
    quizzes = [oc.quiz for oc in chapters if oc.quiz is not None]
    if not quizzes:
        return None
    rows = db.session.execute(
        select(Attempt.quiz_id, func.max(Attempt.percent), func.max(Attempt.passed.cast(Integer)))
        .where(Attempt.user_id == user_id, Attempt.quiz_id.in_([q.id for q in quizzes]))
        .group_by(Attempt.quiz_id)
    ).all()
    best = {quiz_id: (percent, bool(passed)) for quiz_id, percent, passed in rows}
    given = sum(best.get(q.id, (0.0, False))[0] for q in quizzes) / len(quizzes)
    if chapter is None:
        completed = (
            db.session.scalar(
                select(Completion.id).where(Completion.user_id == user_id, Completion.course_id == course.id)
            )
            is not None
        )
    else:
        completed = all(best.get(q.id, (0.0, False))[1] for q in quizzes)
    return Score(round(given, 2), 100.0, completed)


def queue_scores(user_id: int, course_id: int) -> int:
    """Write the learner's current score for each link they launched in the course; how many rows."""
    links = db.session.scalars(
        select(LtiResourceLink)
        .join(LtiDeployment, LtiDeployment.id == LtiResourceLink.deployment_id)
        .join(LtiAccount, (LtiAccount.platform_id == LtiDeployment.platform_id) & (LtiAccount.user_id == user_id))
        .where(LtiResourceLink.course_id == course_id, LtiResourceLink.ags_scopes.is_not(None))
    ).all()
    written = 0
    for link in links:
        if SCORE_SCOPE not in (link.ags_scopes or []):
            continue
        score = score_of(user_id, db.session.get(Course, link.course_id), db.session.get(Chapter, link.chapter_id or 0))
        if score is None:
            continue
        values = {
            "score_given": score.given,
            "score_maximum": score.maximum,
            "activity_progress": "Completed" if score.completed else "InProgress",
            "status": "pending",
            "tries": 0,
            "due_at": utcnow(),
            "last_error": None,
            "updated_at": utcnow(),
        }
        if not insert_ignore(LtiScore, {"link_id": link.id, "user_id": user_id, **values}, ["link_id", "user_id"]):
            db.session.execute(
                update(LtiScore).where(LtiScore.link_id == link.id, LtiScore.user_id == user_id).values(**values)
            )
        written += 1
    return written


# Whether the learner launched a link of the course that takes scores: every quiz submission asks, and most
# learners never came through a platform. Built once, run as a plain statement (no ORM rows).
_HAS_SCORED_LINK = (
    select(LtiResourceLink.id)
    .join(LtiDeployment, LtiDeployment.id == LtiResourceLink.deployment_id)
    .join(
        LtiAccount,
        (LtiAccount.platform_id == LtiDeployment.platform_id) & (LtiAccount.user_id == bindparam("user_id")),
    )
    .where(LtiResourceLink.course_id == bindparam("course_id"), LtiResourceLink.ags_scopes.is_not(None))
    .limit(1)
)


@signals.attempt_recorded.connect
def _attempt_recorded(_sender: object, user_id: int, course_id: int, **_details: object) -> None:
    if not _may_have_launched(user_id):
        return
    params = {"user_id": user_id, "course_id": course_id}
    if db.session.connection().execute(_HAS_SCORED_LINK, params).first() is not None:
        queue_scores(user_id, course_id)


def _may_have_launched(user_id: int) -> bool:
    """Whether the learner may have come through a platform's link: False only when they are the request's signed-in
    user (read with their session, no statement of its own) and their account was not made by a launch (only a
    launch makes the accounts that platforms know: `launch.account_for`)."""
    user = current_user if has_request_context() else None
    if user is None or not user.is_authenticated or user.id != user_id:
        return True
    return bool(user.from_platform)


@signals.course_completed.connect
def _course_completed(_sender: object, completion: Completion, **_details: object) -> None:
    queue_scores(completion.user_id, completion.course_id)


@dataclass
class Delivery:
    sent: int = 0
    retried: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Claimed:
    """What posting a claimed row needs, read before the HTTP call."""

    score_id: int
    stamp: datetime  # the row's updated_at when claimed: the score's timestamp, and how a rewrite is noticed
    tries: int
    grade: Grade
    registration: Registration
    service_claim: dict
    lineitem: LineItem | None


def _claim(score_id: int) -> Claimed | None:
    """Take the row for LEASE if it is still pending and due (one conditional UPDATE), read it, and commit."""
    now = utcnow()
    taken = db.session.execute(
        update(LtiScore)
        .where(LtiScore.id == score_id, LtiScore.status == "pending", LtiScore.due_at <= now)
        .values(due_at=now + LEASE)
    ).rowcount
    claimed = _read(score_id) if taken == 1 else None
    db.session.commit()  # the lease, and the end of the transaction before any HTTP
    return claimed


def _read(score_id: int) -> Claimed:
    from pylti1p3.grade import Grade
    from pylti1p3.lineitem import LineItem

    from course.lti.tool import registration_for

    score = db.session.get(LtiScore, score_id)
    link = db.session.get(LtiResourceLink, score.link_id)
    deployment = db.session.get(LtiDeployment, link.deployment_id)
    platform = db.session.get(LtiPlatform, deployment.platform_id)
    sub = db.session.scalar(
        select(LtiAccount.sub).where(LtiAccount.platform_id == platform.id, LtiAccount.user_id == score.user_id)
    )
    grade = (
        Grade()
        .set_score_given(score.score_given)
        .set_score_maximum(score.score_maximum)
        .set_activity_progress(score.activity_progress)
        .set_grading_progress("FullyGraded")
        .set_timestamp(score.updated_at.isoformat())
        .set_user_id(sub)
    )
    lineitem = None
    if not link.lineitem_url:  # no line item of its own: find or create one for the link in the container
        lineitem = (
            LineItem()
            .set_tag(f"founder-course-link-{link.id}")
            .set_label(link.title or "Founder Course")
            .set_score_maximum(score.score_maximum)
            .set_resource_link_id(link.resource_link_id)
        )
    service_claim = {
        "scope": link.ags_scopes or [],
        "lineitem": link.lineitem_url or "",
        "lineitems": link.lineitems_url or "",
    }
    return Claimed(score.id, score.updated_at, score.tries, grade, registration_for(platform), service_claim, lineitem)


def _post(claimed: Claimed) -> None:
    from pylti1p3.assignments_grades import AssignmentsGradesService

    from course.lti.http import ToolServiceConnector

    service = AssignmentsGradesService(ToolServiceConnector(claimed.registration), claimed.service_claim)
    service.put_grade(claimed.grade, claimed.lineitem)


def _unchanged(claimed: Claimed):
    return update(LtiScore).where(LtiScore.id == claimed.score_id, LtiScore.updated_at == claimed.stamp)


def deliver_due(limit: int = 100) -> Delivery:
    """Post every pending score that is due, each claimed and committed on its own; a failure waits 2^tries
    minutes, and after MAX_TRIES the row is failed."""
    from pylti1p3.exception import LtiException

    result = Delivery()
    ids = db.session.scalars(
        select(LtiScore.id)
        .where(LtiScore.status == "pending", LtiScore.due_at <= utcnow())
        .order_by(LtiScore.due_at)
        .limit(limit)
    ).all()
    db.session.commit()
    for score_id in ids:
        try:
            claimed = _claim(score_id)
        except MissingKey as error:
            db.session.rollback()
            log.warning("LTI scores not posted: %s", error)
            break
        if claimed is None:  # another worker has it, or it was sent meanwhile
            continue
        try:
            _post(claimed)
        except (LtiException, OSError, ValueError, KeyError) as error:  # OSError: requests' errors, a timeout
            tries = claimed.tries + 1
            failed = tries >= MAX_TRIES
            values = {"tries": tries, "last_error": str(error)[:1000]}
            values |= {"status": "failed"} if failed else {"due_at": utcnow() + timedelta(minutes=2**tries)}
            if db.session.execute(_unchanged(claimed).values(**values)).rowcount:
                result.failed, result.retried = result.failed + failed, result.retried + (not failed)
            log.warning("LTI score %s not posted (try %s): %s", claimed.score_id, tries, error)
        else:  # sent, unless an attempt rewrote the row meanwhile (then it goes again)
            sent = db.session.execute(
                _unchanged(claimed).values(status="sent", sent_at=utcnow(), last_error=None)
            ).rowcount
            result.sent += sent
        db.session.commit()
    return result
