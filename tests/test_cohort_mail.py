"""A cohort's mail, end to end, as the issue's "done when" asks: a real SMTP server (aiosmtpd) and the real worker
process (`flask --app course worker`); an instructor enrols a CSV of learners, posts an announcement (the worker is
killed with SIGKILL in the middle of sending it, and started again), a chapter opens, time passes so that some
learners go inactive. The server then holds exactly the expected messages: the right recipients, each in their own
language, with links that work, and nothing twice."""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from datetime import timedelta
from mailbox import SmtpServer, html_of, text_of
from urllib.parse import urlsplit

from conftest import FIXTURE_COURSE, do_login, new_client
from dashboard_factories import make_cohort
from sqlalchemy import select, update
from test_worker import LEASE_SECONDS, worker

from course.accounts.models import User
from course.clock import today
from course.cohorts.models import ChapterRelease, Enrolment
from course.content.models import Chapter
from course.db_types import utcnow
from course.extensions import db as _db
from course.outbox.models import OutboxMessage
from course.progress import rollup
from course.progress.models import LessonProgress
from course.worker import jobs

PUBLIC = "http://localhost"
LINK = re.compile(r"http://localhost/[^\s\"<>]+")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
CSV = "email,name,language\nli@example.com,李雷,zh_Hans\nann@example.com,Ann Archer,en\nbob@example.com,Bob Baker,en\n"
PASSWORD = "a passphrase of my own"
# What each scheduled job wrote, when none wrote anything (course/worker/jobs.py JOBS).
NONE_RUN = {"release notices": 0, "nudges": 0, "weekly digest": 0, "LTI launch data": 0}


def run_scheduled_jobs(app) -> dict[str, int]:
    """What the worker does every quarter hour (or `flask notices send`): the notices that are due, committed, and
    the worker woken to deliver them."""
    with app.app_context():
        return jobs.run_scheduled()


def kinds_by_message_id(app) -> dict[str, tuple[str, str, str]]:
    with app.app_context():
        rows = _db.session.execute(select(OutboxMessage.message_id, OutboxMessage.kind, OutboxMessage.to_address,
                                          OutboxMessage.language))  # fmt: skip
        return {message_id: (kind, to, language) for message_id, kind, to, language in rows}


def links(message) -> list[str]:
    """The paths a message links to, besides its unsubscribe link."""
    found = set(LINK.findall(text_of(message))) | set(LINK.findall(html_of(message)))
    return sorted({urlsplit(url).path for url in found if "/unsubscribe/" not in url})


def test_a_cohorts_mail_arrives_once_each_in_the_recipients_language(app, loaded_course, make_user, database_url):
    app.config.update(OUTBOX_IMMEDIATE=False, PUBLIC_URL=PUBLIC)  # as in production: the worker delivers
    teacher = make_user(email="teacher@example.com", role="instructor", name="Tess Teacher")
    with app.app_context():
        day = today()
    opens = {"intro": day - timedelta(days=20), "training": day + timedelta(days=1), "launch": day + timedelta(days=9)}
    cohort = make_cohort(app, [teacher.id], name="Spring founders", starts_on=day - timedelta(days=20), opens=opens)
    staff = new_client(app)
    assert do_login(staff, teacher.email).status_code == 302
    clients = {}

    with SmtpServer() as server:
        mailbox = server.mailbox
        with worker(database_url, server.port, public_url=PUBLIC) as first:
            # 1. a CSV of three learners: each is emailed an invitation, in their language
            data = {"file": (io.BytesIO(CSV.encode()), "learners.csv")}
            report = staff.post(f"/cohorts/{cohort}/enrol/csv", data=data, content_type="multipart/form-data")
            assert report.status_code == 200 and "Who was emailed" in report.get_data(as_text=True)
            assert len(mailbox.wait_for(3)) == 3, first.stderr.read1().decode()
            li_invitation = mailbox.to("li@example.com")[0]
            assert CHINESE.search(li_invitation["Subject"]) and 'lang="zh-Hans"' in html_of(li_invitation)
            assert not CHINESE.search(mailbox.to("ann@example.com")[0]["Subject"])
            for message in list(mailbox.messages):  # each chooses a password from their link, and reads a lesson
                [link] = [path for path in links(message) if path.startswith("/password/set/")]
                client = clients[message["To"]] = new_client(app)
                assert client.get(link).status_code == 200
                assert client.post(link, data={"password": PASSWORD, "confirm": PASSWORD}).status_code == 302
            for address in ("li@example.com", "ann@example.com"):
                assert clients[address].post(f"/courses/{FIXTURE_COURSE}/lessons/welcome/complete").status_code == 302

            # 2. an announcement to the cohort; the worker is killed while the server holds its second copy
            mailbox.hold_at = 5
            page = f"/cohorts/{cohort}/announcements"
            key = re.search(r'name="submission_key"[^>]*value="([^"]+)"', staff.get(page).get_data(as_text=True))[1]
            draft = {"title": "Week 3", "body": "Read **chapter 2** before Thursday.", "submission_key": key}
            assert staff.post(page, data={**draft, "preview": "y"}).status_code == 200
            assert staff.post(page, data={**draft, "post": "y"}).status_code in (302, 303)
            assert mailbox.held.wait(timeout=60), first.stderr.read1().decode()
            first.kill_hard()
        mailbox.release.set()
        assert len(mailbox.messages) == 4  # three invitations, one copy of the announcement
        time.sleep(LEASE_SECONDS + 0.2)  # the killed worker's claim runs out

        with worker(database_url, server.port, public_url=PUBLIC) as second:
            assert len(mailbox.wait_for(6)) == 6, second.stderr.read1().decode()

            # 3. the second chapter opens today: a notice to each learner, and the instructor's weekly digest
            with app.app_context():
                training = _db.session.scalar(select(Chapter.id).where(Chapter.key == "training"))
                _db.session.execute(
                    update(ChapterRelease)
                    .where(ChapterRelease.cohort_id == cohort, ChapterRelease.chapter_id == training)
                    .values(opens_on=day)
                )
                _db.session.commit()
            assert run_scheduled_jobs(app) == {**NONE_RUN, "release notices": 3, "weekly digest": 1}
            assert len(mailbox.wait_for(10)) == 10, second.stderr.read1().decode()

            # 4. ten days pass for Ann (her last visit) and Bob (his enrolment, and he never started): reminders
            with app.app_context():
                ids = dict(_db.session.execute(select(User.email, User.id)).all())
                ann, bob = ids["ann@example.com"], ids["bob@example.com"]
                then = utcnow() - timedelta(days=10)
                _db.session.execute(
                    update(LessonProgress).where(LessonProgress.user_id == ann).values(
                        first_viewed_at=then, last_viewed_at=then, completed_at=then)
                )  # fmt: skip
                _db.session.execute(update(Enrolment).where(Enrolment.user_id.in_((ann, bob))).values(enrolled_at=then))
                course_id = _db.session.scalar(select(Chapter.course_id).where(Chapter.id == training))
                for learner in (ann, bob):
                    rollup.refresh_learner(learner, course_id)
                _db.session.commit()
            assert run_scheduled_jobs(app) == {**NONE_RUN, "nudges": 2}
            assert len(mailbox.wait_for(12)) == 12, second.stderr.read1().decode()
            assert run_scheduled_jobs(app) == NONE_RUN
            time.sleep(1)  # anything sent twice would arrive now

    # exactly these messages: each once, to the right people, in their language
    delivered = kinds_by_message_id(app)
    got = Counter(delivered[m["Message-ID"].strip()][:2] for m in mailbox.messages)
    learners = ("li@example.com", "ann@example.com", "bob@example.com")
    expected = Counter(
        [("invitation", a) for a in learners]
        + [("announcement", a) for a in learners]
        + [("release", a) for a in learners]
        + [("digest", "teacher@example.com"), ("nudge", "ann@example.com"), ("nudge", "bob@example.com")]
    )
    assert got == expected
    assert len({m["Message-ID"] for m in mailbox.messages}) == 12
    for message in mailbox.messages:
        kind, to, language = delivered[message["Message-ID"].strip()]
        # Li chose Chinese in the file; Tess chose nothing, so hers is the site's: Chinese too
        assert language == ("en" if to in ("ann@example.com", "bob@example.com") else "zh_Hans"), (kind, to, language)
        assert bool(CHINESE.search(message["Subject"])) == (language == "zh_Hans"), message["Subject"]
        if kind == "invitation":
            continue  # its one-time link was used above
        reader = staff if to == "teacher@example.com" else clients[to]
        for path in links(message):  # the continue link, the chapter, the course page, the dashboard
            assert reader.get(path).status_code == 200, (kind, to, path)
        if kind != "digest":  # optional: RFC 8058 one-click unsubscribe
            assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
