"""The kinds of message. Transactional ones (about the account, an invitation to a cohort) always go; the optional
ones can be turned off on the account page or by the unsubscribe link in each of them (RFC 8058)."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    ACCOUNT = "account"  # password links, notices of changes to how an account logs in
    INVITATION = "invitation"  # "you were enrolled in a cohort", with the set-password link of a new account
    ANNOUNCEMENT = "announcement"  # an instructor's message to their cohort
    RELEASE = "release"  # a chapter opened for the learner's cohort
    NUDGE = "nudge"  # a reminder to an inactive or behind learner
    DIGEST = "digest"  # the weekly summary of a cohort, to its instructors


OPTIONAL = (Kind.ANNOUNCEMENT, Kind.RELEASE, Kind.NUDGE, Kind.DIGEST)
