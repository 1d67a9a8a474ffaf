"""Invite links: a cohort's link (`/join/<code>`), made anew or switched off by its instructors, and joining
through it — also by registering from it."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select

from course.accounts.models import User
from course.cohorts.enrolment import enrol
from course.cohorts.errors import CohortError
from course.cohorts.models import Cohort, new_invite_code
from course.extensions import db

JOIN_PATH = "/join/"


def rotate_invite(cohort: Cohort) -> None:
    """A new link; the old one stops working."""
    cohort.invite_code = new_invite_code()
    cohort.invite_enabled = True


def set_invite_enabled(cohort: Cohort, enabled: bool) -> None:
    cohort.invite_enabled = enabled


def cohort_by_invite(code: str) -> Cohort | None:
    if not code or len(code) > 64:
        return None
    return db.session.scalar(select(Cohort).where(Cohort.invite_code == code, Cohort.invite_enabled.is_(True)))


class Joined(NamedTuple):
    cohort: Cohort | None  # the cohort joined
    problem: str | None  # why the link's cohort could not be joined


def join_through_invite_link(user: User, target: str) -> Joined:
    """A visitor who registered from an invite link (`target`, where they were going: /join/<code>) joins
    that cohort, if it still has room. Anything else is not an invite link: nothing happens."""
    if not target.startswith(JOIN_PATH):
        return Joined(None, None)
    cohort = cohort_by_invite(target.removeprefix(JOIN_PATH).split("/")[0])
    if cohort is None:
        return Joined(None, None)
    try:
        enrol(cohort, user, source="invite")
    except CohortError as exc:
        return Joined(None, str(exc))
    return Joined(cohort, None)
