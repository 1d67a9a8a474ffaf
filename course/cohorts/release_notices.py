"""Chapter release notices: on the day a chapter opens for a cohort, an email to each of its learners, in their
language, naming the chapter, saying what is in it, with a link to it.

`send_release_notices` is a scheduled job (course/worker/jobs.py). It looks back `CATCH_UP_DAYS` as well as at
today (the school's, `course.clock`), so a worker that was down on the day still sends; the outbox's event key
(`release:<cohort>:<chapter>:user:<learner>`) makes the notice one per learner and chapter however often it runs.

Who gets one: each learner enrolled in the cohort whose account is active, not deleted, and who has not turned
release notices off (`enqueue` checks that) — not the learners of a cohort that has ended, nor a learner who joined
after the chapter had opened (they found it open). Not sent for a reference chapter (an appendix: read at will,
opened on the first day with the first chapter). A learner's extension moves their deadline, not the dates
chapters open (`LearnerSchedule.is_open`), so their notice comes on the cohort's day like everyone's.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from course.accounts.models import User
from course.clock import school_date, today
from course.cohorts.chapter_text import chapter_contents, chapter_title, chapter_url
from course.cohorts.models import ChapterRelease, Cohort, Enrolment
from course.content.i18n import content_language_for, tr
from course.content.models import Course
from course.content.outline import OutlineChapter, course_outline
from course.extensions import db
from course.outbox.kinds import Kind
from course.outbox.messages import enqueue

CATCH_UP_DAYS = 2  # a chapter that opened this many days ago still gets its notices, if they were not sent


def send_release_notices() -> int:
    """Write the notices of the chapters that opened today (or in the last CATCH_UP_DAYS days) and have not had
    them yet; how many messages were written."""
    day = today()
    due = db.session.execute(
        select(Cohort, ChapterRelease.chapter_id, ChapterRelease.opens_on)
        .join(ChapterRelease, ChapterRelease.cohort_id == Cohort.id)
        .where(
            ChapterRelease.opens_on <= day,
            ChapterRelease.opens_on >= day - timedelta(days=CATCH_UP_DAYS),
            Cohort.ends_on >= day,
        )
        .order_by(Cohort.id, ChapterRelease.opens_on, ChapterRelease.chapter_id)
    ).all()
    written = 0
    for cohort, chapter_id, opens_on in due:
        course = db.session.get(Course, cohort.course_id)
        chapter = next((c for c in course_outline(course).chapters if c.chapter.id == chapter_id), None)
        if chapter is None or chapter.reference:  # archived since, or an appendix
            continue
        learners = db.session.execute(
            select(User, Enrolment.enrolled_at)
            .join(Enrolment, Enrolment.user_id == User.id)
            .where(Enrolment.cohort_id == cohort.id, User.active.is_(True), User.deleted_at.is_(None))
            .order_by(User.id)
        ).all()
        for user, enrolled_at in learners:
            if school_date(enrolled_at) > opens_on:  # joined with the chapter already open
                continue
            written += _notify(user, cohort, course, chapter) is not None
    return written


def _notify(user: User, cohort: Cohort, course: Course, chapter: OutlineChapter) -> int | None:
    language = user.language or current_app.config["BABEL_DEFAULT_LOCALE"]
    lang = content_language_for(language)
    with force_locale(language):
        contents = chapter_contents(chapter)
    return enqueue(
        event_key=f"release:{cohort.id}:{chapter.chapter.id}:user:{user.id}",
        kind=Kind.RELEASE,
        recipient=user,
        template="release",
        language=language,
        cohort_name=cohort.name,
        course_title=tr(course, "title", lang=lang),
        chapter_title=chapter_title(chapter, language),
        chapter_url=chapter_url(course, chapter),
        contents=contents,
        lessons=[tr(lesson, "title", lang=lang) for lesson in chapter.lessons],
        quiz=tr(chapter.quiz, "title", lang=lang) if chapter.quiz is not None else None,
    )
