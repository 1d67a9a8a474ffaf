"""Chapter release notices (course/cohorts/release_notices.py): on the day a chapter opens for a cohort, one email
per learner, in their language, naming the chapter with a link that works — once, however often the job runs, and
not to a learner who turned them off, left the cohort, or whose cohort has ended."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from conftest import DEFAULT_PASSWORD, do_login, new_client
from dashboard_factories import add_learner, make_cohort
from sqlalchemy import delete, select, update

from course.accounts.models import User
from course.accounts.services import hash_password
from course.clock import today
from course.cohorts.models import ChapterRelease, Cohort, Enrolment
from course.cohorts.release_notices import CATCH_UP_DAYS, send_release_notices
from course.content.models import Chapter
from course.db_types import utcnow
from course.extensions import db as _db
from course.outbox.kinds import Kind
from course.outbox.messages import set_opted_out
from course.outbox.models import OutboxMessage
from course.worker import jobs

PUBLIC = "https://course.example.org"


@pytest.fixture
def day(app) -> date:
    """The school's today; links in the notices are built from PUBLIC_URL, as in the worker (no request)."""
    app.config["PUBLIC_URL"] = PUBLIC
    with app.app_context():
        return today()


@pytest.fixture
def cohort(app, loaded_course, day) -> int:
    """A cohort of the mini course: the first chapter opened a week ago, the second opens today, the third
    tomorrow. The second chapter's title is Chinese, with an English translation (as the real course's)."""
    cohort_id = make_cohort(
        app,
        starts_on=day - timedelta(days=30),
        opens={"intro": day - timedelta(days=7), "training": day, "launch": day + timedelta(days=1)},
    )
    with app.app_context():
        chapter = _db.session.scalar(select(Chapter).where(Chapter.key == "training"))
        chapter.title, chapter.i18n = "第2章 训练", {"en": {"title": "Chapter 2 Training"}}
        _db.session.commit()  # through the ORM: the process's cached outline is dropped
    return cohort_id


def learner(app, cohort_id: int, name: str, language: str | None) -> int:
    """A learner of the cohort, enrolled a month ago, who can log in with the suite's password."""
    user_id = add_learner(app, cohort_id, name)
    with app.app_context():
        password = hash_password(DEFAULT_PASSWORD)
        _db.session.execute(update(User).where(User.id == user_id).values(language=language, password_hash=password))
        _db.session.commit()
    return user_id


def run(app) -> int:
    """The job as the worker runs it: an app context, no request, committed after."""
    with app.app_context():
        written = send_release_notices()
        _db.session.commit()
        return written


def notices(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = _db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == str(Kind.RELEASE)))
        found = list(rows.all())
        _db.session.expunge_all()
        return sorted(found, key=lambda message: message.user_id)


def chapter_id(app, key: str) -> int:
    with app.app_context():
        return _db.session.scalar(select(Chapter.id).where(Chapter.key == key))


def test_a_chapter_opening_today_gets_one_notice_per_learner_in_their_language(app, cohort):
    zh = learner(app, cohort, "Wei Zhang", "zh_Hans")
    en = learner(app, cohort, "Emma Stone", "en")
    assert run(app) == 2
    assert run(app) == 0  # the job again (the worker runs it often): nothing new
    sent = notices(app)
    training = chapter_id(app, "training")
    assert [(m.user_id, m.event_key, m.status) for m in sent] == [
        (zh, f"release:{cohort}:{training}:user:{zh}", "sent"),
        (en, f"release:{cohort}:{training}:user:{en}", "sent"),
    ]  # only the chapter that opened today: not last week's, not tomorrow's
    chinese, english = sent
    assert (chinese.language, chinese.to_address) == ("zh_Hans", "wei.zhang@example.com")
    assert "第2章 训练" in chinese.subject and "第2章 训练" in chinese.html_body
    assert (english.language, english.subject) == ("en", "Now open: Chapter 2 Training")
    assert "Hello Emma Stone," in english.text_body
    # what is in it: its lessons and its quiz, by their titles
    for text in (english.text_body, english.html_body):
        assert "2 lessons and a quiz." in text
        assert "2.1 Data" in text and "2.2 Tuning" in text and "Quiz:" in text
    link = f"{PUBLIC}/courses/mini-course#chapter-training"
    assert link in english.text_body and link in english.html_body and link in chinese.text_body
    assert english.unsubscribe_url  # an optional kind: it can be turned off
    # The link works: the outline, with the chapter's heading to land on, and its lessons open.
    client = new_client(app)
    assert do_login(client, "emma.stone@example.com").status_code == 302
    page = client.get(urlsplit(link).path)
    assert page.status_code == 200 and 'id="chapter-training"' in page.get_data(as_text=True)


def test_a_chapter_opening_tomorrow_has_no_notice_yet(app, cohort, day):
    learner(app, cohort, "Wei Zhang", "zh_Hans")
    training = chapter_id(app, "training")
    with app.app_context():
        _db.session.execute(
            update(ChapterRelease).where(ChapterRelease.chapter_id == training).values(opens_on=day + timedelta(days=1))
        )
        _db.session.commit()
    assert run(app) == 0 and notices(app) == []


def test_a_worker_that_was_down_on_the_day_still_sends_but_not_older_ones(app, cohort, day):
    learner(app, cohort, "Wei Zhang", "zh_Hans")
    training, intro = chapter_id(app, "training"), chapter_id(app, "intro")
    with app.app_context():
        moved = {training: day - timedelta(days=CATCH_UP_DAYS), intro: day - timedelta(days=CATCH_UP_DAYS + 1)}
        for chapter, opens_on in moved.items():
            _db.session.execute(
                update(ChapterRelease).where(ChapterRelease.chapter_id == chapter).values(opens_on=opens_on)
            )
        _db.session.commit()
    assert run(app) == 1
    assert [m.event_key.split(":")[2] for m in notices(app)] == [str(training)]


def test_no_notice_for_an_opted_out_or_departed_learner(app, cohort, make_user):
    opted_out = learner(app, cohort, "Olga Out", "en")
    withdrawn = learner(app, cohort, "Will Drawn", "en")
    disabled = learner(app, cohort, "Dee Sabled", "en")
    staying = learner(app, cohort, "Stay Here", "en")
    with app.app_context():
        set_opted_out(opted_out, Kind.RELEASE, True)
        _db.session.execute(delete(Enrolment).where(Enrolment.user_id == withdrawn))
        _db.session.execute(update(User).where(User.id == disabled).values(active=False))
        _db.session.commit()
    assert run(app) == 1
    assert [m.user_id for m in notices(app)] == [staying]


def test_a_learner_who_joined_after_the_chapter_opened_has_no_notice_of_it(app, cohort, day):
    learner(app, cohort, "Early Bird", "en")
    late = learner(app, cohort, "Late Comer", "en")
    training = chapter_id(app, "training")
    with app.app_context():
        _db.session.execute(
            update(ChapterRelease).where(ChapterRelease.chapter_id == training).values(opens_on=day - timedelta(days=1))
        )
        _db.session.execute(update(Enrolment).where(Enrolment.user_id == late).values(enrolled_at=utcnow()))
        _db.session.commit()
    assert run(app) == 1
    assert late not in [m.user_id for m in notices(app)]


def test_an_ended_cohort_has_no_notices(app, loaded_course, day):
    ended = make_cohort(app, name="Past", starts_on=day - timedelta(days=100), opens={"intro": day})
    learner(app, ended, "Pat Past", "en")
    with app.app_context():
        # the cohort ended yesterday (its schedule had been checked against its dates when it was set)
        _db.session.execute(update(Cohort).where(Cohort.id == ended).values(ends_on=day - timedelta(days=1)))
        _db.session.execute(
            update(ChapterRelease).where(ChapterRelease.cohort_id == ended).values(opens_on=day - timedelta(days=1))
        )
        _db.session.commit()
    assert run(app) == 0 and notices(app) == []


def test_the_worker_runs_the_release_notices(app, cohort):
    learner(app, cohort, "Wei Zhang", "zh_Hans")
    assert ("release notices", send_release_notices) in jobs.JOBS
    with app.app_context():
        counts = jobs.run_scheduled()
    assert counts["release notices"] == 1 and len(notices(app)) == 1


def test_the_workers_quarter_hour_task_sends_them_unless_told_not_to(app, cohort):
    """`flask worker --no-notices` (the tests' workers, or a site whose cron runs `flask notices send`) leaves them;
    a worker that sent them anyway at a quarter hour would add its own digest to a test's count."""
    from course.worker import queue, tasks

    learner(app, cohort, "Wei Zhang", "zh_Hans")
    queue.bind(app)
    app.config["WORKER_NOTICES"] = False
    tasks.scheduled_notices.call_local()
    assert notices(app) == []
    app.config["WORKER_NOTICES"] = True
    tasks.scheduled_notices.call_local()
    assert len(notices(app)) == 1
