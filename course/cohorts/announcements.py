"""Announcements: an instructor writes to their whole cohort in Markdown; it is rendered once to sanitised HTML (the
course's own renderer: raw HTML shows as text, nh3 keeps only the allowed tags), emailed to every active learner of
the cohort (through the outbox, in each learner's language, respecting their email settings) and shown on their
outline until they dismiss it. Services flush, never commit."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import and_, bindparam, exists, func, select

from course.accounts.models import User
from course.audit.log import Action, record
from course.cohorts.announcement_models import Announcement, AnnouncementDismissal
from course.cohorts.errors import CohortError
from course.cohorts.models import Cohort, Enrolment
from course.content.models import Course
from course.content.render import render_markdown
from course.extensions import db
from course.links import external_url
from course.outbox.kinds import Kind
from course.outbox.messages import enqueue
from course.outbox.models import NotificationOptOut
from course.sql import insert_ignore

TITLE_MAX, BODY_MAX, KEY_MAX = 200, 20_000, 64


@dataclass(frozen=True)
class Draft:
    """An announcement as written, checked (`check_draft`)."""

    title: str
    body_markdown: str


@dataclass(frozen=True)
class Shown:
    """An announcement as a page shows it: its HTML was sanitised when it was posted."""

    id: int
    title: str
    body_html: Markup
    author: str | None  # None: the author's account was deleted
    created_at: datetime


@dataclass(frozen=True)
class Posted:
    """What posting did: the announcement, and whether this request posted it (False: the same form again), how
    many learners it reaches and how many emails were written."""

    announcement: Announcement
    created: bool
    learners: int = 0
    emailed: int = 0


@dataclass(frozen=True)
class Audience:
    """Who a new announcement reaches: every active learner of the cohort sees it; `emailed` of them get it by
    email (the others turned announcement emails off)."""

    learners: int
    emailed: int


def check_draft(title: str, body_markdown: str) -> Draft:
    """The draft with its title trimmed, or CohortError (its `field`: "title" or "body") when it cannot be posted."""
    title = (title or "").strip()
    body = (body_markdown or "").replace("\r\n", "\n").strip()
    if not title:
        raise CohortError(_("Give the announcement a title."), field="title")
    if len(title) > TITLE_MAX:
        raise CohortError(_("A title has at most %(n)d characters.", n=TITLE_MAX), field="title")
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in title):
        raise CohortError(_("A title is one line of text."), field="title")
    if not body:
        raise CohortError(_("Write the announcement."), field="body")
    if len(body) > BODY_MAX:
        raise CohortError(_("An announcement has at most %(n)d characters.", n=BODY_MAX), field="body")
    return Draft(title, body)


def preview_html(draft: Draft) -> Markup:
    """The body as learners will see it: sanitised HTML (a Mermaid block as code: no diagram pictures here)."""
    return Markup(render_markdown(draft.body_markdown, pictures=False))  # noqa: S704  # nosec B704 - sanitised by nh3 in render_markdown


# -- who it reaches ----------------------------------------------------------------------------------------------
def _learners(cohort_id: int):
    return (
        select(User)
        .join(Enrolment, Enrolment.user_id == User.id)
        .where(Enrolment.cohort_id == cohort_id, User.active.is_(True), User.deleted_at.is_(None))
    )


def audience(cohort: Cohort) -> Audience:
    """How many learners a new announcement reaches, and how many of them by email (two counts, one statement)."""
    learners = _learners(cohort.id).subquery()
    opted_out = exists().where(
        NotificationOptOut.user_id == learners.c.id, NotificationOptOut.kind == str(Kind.ANNOUNCEMENT)
    )
    total, quiet = db.session.execute(select(func.count(), func.count().filter(opted_out)).select_from(learners)).one()
    return Audience(total or 0, (total or 0) - (quiet or 0))


# -- posting -------------------------------------------------------------------------------------------------
def post_announcement(cohort: Cohort, author: User, draft: Draft, submission_key: str) -> Posted:
    """Post `draft` to the cohort: saved, one email per active learner written to the outbox (in the same
    transaction), and recorded in the audit log. The same `submission_key` again returns the announcement it posted
    and sends nothing (the unique constraint decides, also under races)."""
    if not submission_key or len(submission_key) > KEY_MAX:
        raise CohortError(_("This form is incomplete; please reload the page."))
    values = {
        "cohort_id": cohort.id,
        "author_id": author.id,
        "title": draft.title,
        "body_markdown": draft.body_markdown,
        "body_html": str(preview_html(draft)),
        "submission_key": submission_key,
    }
    created = insert_ignore(Announcement, values, ["cohort_id", "submission_key"])
    announcement = db.session.scalar(
        select(Announcement).where(Announcement.cohort_id == cohort.id, Announcement.submission_key == submission_key)
    )
    if not created:
        return Posted(announcement, created=False)
    learners = list(db.session.scalars(_learners(cohort.id).order_by(User.id)))
    emailed = send_emails(announcement, cohort, author, learners)
    record(
        Action.ANNOUNCEMENT_POSTED,
        actor_id=author.id,
        cohort_id=cohort.id,
        details={"announcement_id": announcement.id, "learners": len(learners), "emails": emailed},
    )
    db.session.flush()
    return Posted(announcement, True, len(learners), emailed)


def send_emails(announcement: Announcement, cohort: Cohort, author: User, learners: list[User]) -> int:
    """One email per learner (event `announcement:<id>:user:<id>`: reported again, still one); how many were
    written (a learner who turned announcements off gets none)."""
    course_key = db.session.scalar(select(Course.key).where(Course.id == cohort.course_id))
    outline_url = external_url("learn.outline", course_key=course_key) + "#announcements"
    written = 0
    for learner in learners:
        message = enqueue(
            event_key=f"announcement:{announcement.id}:user:{learner.id}",
            kind=Kind.ANNOUNCEMENT,
            recipient=learner,
            template="announcement",
            title=announcement.title,
            body_markdown=announcement.body_markdown,
            body_html=Markup(announcement.body_html),  # noqa: S704  # nosec B704 - sanitised when it was posted
            author_name=author.name,
            cohort_name=cohort.name,
            outline_url=outline_url,
        )
        written += message is not None
    return written


# -- reading ---------------------------------------------------------------------------------------------------
def _shown(rows) -> list[Shown]:
    return [
        Shown(row.id, row.title, Markup(row.body_html), row.name, row.created_at)  # noqa: S704  # nosec B704 - sanitised
        for row in rows
    ]


_SHOWN_COLUMNS = (Announcement.id, Announcement.title, Announcement.body_html, User.name, Announcement.created_at)


def announcements_of(cohort: Cohort) -> list[Shown]:
    """The cohort's announcements, newest first (its instructors' page)."""
    rows = db.session.execute(
        select(*_SHOWN_COLUMNS)
        .outerjoin(User, User.id == Announcement.author_id)
        .where(Announcement.cohort_id == cohort.id)
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
    )
    return _shown(rows)


# The outline of every learner in a cohort runs it: built once (building a statement costs more than running it).
_UNREAD = (
    select(*_SHOWN_COLUMNS)
    .join(
        Enrolment,
        and_(
            Enrolment.cohort_id == Announcement.cohort_id,
            Enrolment.user_id == bindparam("user_id"),
            Enrolment.course_id == bindparam("course_id"),
        ),
    )
    .outerjoin(User, User.id == Announcement.author_id)
    .where(
        ~exists().where(
            AnnouncementDismissal.announcement_id == Announcement.id,
            AnnouncementDismissal.user_id == bindparam("user_id"),
        )
    )
    .order_by(Announcement.created_at.desc(), Announcement.id.desc())
)


def unread_for(user_id: int, course_id: int) -> list[Shown]:
    """The announcements of the learner's cohort in the course that they have not dismissed, newest first (their
    outline). One statement; nothing for a reader in no cohort."""
    return _shown(db.session.connection().execute(_UNREAD, {"user_id": user_id, "course_id": course_id}))


# -- dismissing ------------------------------------------------------------------------------------------------
def announcement_for_learner(announcement_id: int, user_id: int) -> tuple[Announcement, str] | None:
    """The announcement and its course's key, if it was made to a cohort the user is in; else None."""
    row = db.session.execute(
        select(Announcement, Course.key)
        .join(Enrolment, and_(Enrolment.cohort_id == Announcement.cohort_id, Enrolment.user_id == user_id))
        .join(Course, Course.id == Enrolment.course_id)
        .where(Announcement.id == announcement_id)
    ).first()
    return (row[0], row[1]) if row is not None else None


def dismiss(announcement: Announcement, user_id: int) -> bool:
    """Hide the announcement from the user's outline; True if it was shown until now (again: nothing changes)."""
    return insert_ignore(
        AnnouncementDismissal,
        {"announcement_id": announcement.id, "user_id": user_id},
        ["announcement_id", "user_id"],
    )
