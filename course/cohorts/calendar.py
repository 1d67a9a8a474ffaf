"""A learner's calendar feed of their cohort: a secret address a calendar app subscribes to, without logging in.

The address is `/calendar/<token>.ics`, where the token is `<feed id>-<mac>` and the mac is an HMAC-SHA256, keyed
with the app's SECRET_KEY, of the feed's id, learner, cohort and a random per-row salt (`CalendarFeed.token_salt`).
Only the salt is stored, never the token, so:

- the learner can see their link again at any time (it is derived anew from the row, no write on a GET);
- a copy of the database alone does not give anyone's feed (the key is not in it);
- "Reset the link" gives the row a new salt: a new token, and the old one answers 404 (as does any token whose
  mac does not match, compared in constant time, and the feed of a learner no longer in the cohort, or whose
  account is disabled or deleted — deleting the account deletes the row);
- changing SECRET_KEY changes every feed's address: each learner takes their new link from the outline.

The row is made when the learner asks for their link (a POST), never by showing a page. What the feed holds is
built by `course.cohorts.ics`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import NamedTuple

from flask import current_app
from sqlalchemy import bindparam, select

from course.accounts.models import User
from course.cohorts.calendar_models import CalendarFeed, new_token_salt
from course.cohorts.models import Enrolment
from course.cohorts.schedule import LearnerSchedule
from course.extensions import db
from course.links import external_url
from course.sql import insert_ignore


class FeedLinks(NamedTuple):
    https: str  # to paste into a calendar app's "subscribe by URL", or to download
    webcal: str  # the same address with the webcal scheme, which opens the device's calendar app


def feed_token(feed: CalendarFeed) -> str:
    return f"{feed.id}-{_mac(feed)}"


def _mac(feed: CalendarFeed) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"calendar-feed:{feed.id}:{feed.user_id}:{feed.cohort_id}:{feed.token_salt}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def feed_for_token(token: str) -> CalendarFeed | None:
    """The feed a token opens, or None: not one of ours, reset since, or its learner gone from the cohort."""
    feed_id, _, mac = token.partition("-")
    if not (feed_id.isascii() and feed_id.isdigit() and len(feed_id) < 12 and mac):
        return None
    feed = db.session.get(CalendarFeed, int(feed_id))
    if feed is None or not hmac.compare_digest(mac.encode(), _mac(feed).encode()):
        return None
    still_in = select(Enrolment.id).join(User, User.id == Enrolment.user_id)
    still_in = still_in.where(
        Enrolment.user_id == feed.user_id,
        Enrolment.cohort_id == feed.cohort_id,
        User.active.is_(True),
        User.deleted_at.is_(None),
    )
    return feed if db.session.scalar(still_in) is not None else None


# The outline of every learner in a cohort reads it: built once (building a statement costs more than running it).
_LEARNER_FEED = select(CalendarFeed).where(
    CalendarFeed.user_id == bindparam("user_id"), CalendarFeed.cohort_id == bindparam("cohort_id")
)


def learner_feed(user_id: int, cohort_id: int) -> CalendarFeed | None:
    return db.session.scalar(_LEARNER_FEED, {"user_id": user_id, "cohort_id": cohort_id})


def make_feed(user_id: int, cohort_id: int) -> CalendarFeed:
    """The learner's feed of the cohort, made if they have none (a second request keeps the first one's)."""
    values = {"user_id": user_id, "cohort_id": cohort_id, "token_salt": new_token_salt()}
    insert_ignore(CalendarFeed, values, ["user_id", "cohort_id"])
    feed = learner_feed(user_id, cohort_id)
    assert feed is not None  # inserted, or already there
    return feed


def reset_feed(user_id: int, cohort_id: int) -> CalendarFeed:
    """A new address for the learner's feed: the old one stops working."""
    feed = make_feed(user_id, cohort_id)
    feed.token_salt = new_token_salt()
    db.session.flush()
    return feed


def feed_links(feed: CalendarFeed) -> FeedLinks:
    https = external_url("learn.calendar_feed", token=feed_token(feed))
    return FeedLinks(https, "webcal://" + https.split("://", 1)[1])


def calendar_links(user_id: int, schedule: LearnerSchedule | None) -> FeedLinks | None:
    """The links of the learner's feed of their cohort (`schedule`'s), or None: not in a cohort, or no link made
    yet. Read only: the link is made by a POST."""
    if schedule is None:
        return None
    feed = learner_feed(user_id, schedule.cohort_id)
    return feed_links(feed) if feed is not None else None
