"""Reminders to learners (course/dashboard/nudges.py): the worker's automatic ones — once per spell of inactivity,
again only after the learner came back and stopped again, never when the cohort turned them off or the learner did —
and an instructor's, from the dashboard: a preview with the count, then one send however often the form is sent.
Each in the learner's language, with the link that continues where they left off."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from conftest import do_login, new_client
from dashboard_factories import add_learner, make_cohort, view
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select, update

from config import TestingConfig
from course.audit.log import Action
from course.audit.models import AuditEntry
from course.clock import site_today
from course.cohorts.enrolment import enrol
from course.cohorts.models import Cohort, Enrolment
from course.content.models import Course
from course.dashboard.nudges import send_automatic_nudges
from course.db_types import utcnow
from course.extensions import db as _db
from course.outbox.kinds import Kind
from course.outbox.messages import set_opted_out
from course.outbox.models import OutboxMessage
from course.progress import rollup
from course.progress.models import LessonProgress
from course.worker.jobs import run_scheduled


def ago(**kw) -> datetime:
    return utcnow() - timedelta(**kw)


def days_ago(n: int) -> date:
    return site_today(TestingConfig.BABEL_DEFAULT_TIMEZONE) - timedelta(days=n)


@pytest.fixture(autouse=True)
def public_url(app):
    app.config["PUBLIC_URL"] = "http://localhost"  # links in emails, built outside a request as the worker does


@pytest.fixture
def instructor(make_user):
    return make_user(email="teacher@example.com", role="instructor", name="Teacher")


@pytest.fixture
def staff(app, instructor):
    client = new_client(app)
    assert do_login(client, instructor.email).status_code == 302
    return client


@pytest.fixture
def cohort_id(app, loaded_course, instructor) -> int:
    """Started a month ago; the first chapter opened 20 days ago, the second 3 days ago, the last in 4 days: a
    learner who read one lesson is one chapter behind, not more (so only inactivity makes them at risk)."""
    opens = {"intro": days_ago(20), "training": days_ago(3), "launch": days_ago(-4)}
    return make_cohort(app, [instructor.id], starts_on=days_ago(30), opens=opens)


def learner_in(app, make_user, cohort_id: int, email: str, name: str, language: str = "en") -> int:
    """A learner who can log in, enrolled a month ago."""
    user = make_user(email=email, name=name)
    with app.app_context():
        cohort = _db.session.get(Cohort, cohort_id)
        person = _db.session.merge(user)
        person.language = language
        enrol(cohort, person, check_window=False)
        _db.session.execute(update(Enrolment).where(Enrolment.user_id == user.id).values(enrolled_at=ago(days=30)))
        _db.session.commit()
    return user.id


def last_seen(app, user_id: int, at: datetime) -> None:
    """Age (or refresh) every lesson view of the learner to `at`, and their roll-up with it."""
    with app.app_context():
        _db.session.execute(
            update(LessonProgress)
            .where(LessonProgress.user_id == user_id)
            .values(first_viewed_at=at, last_viewed_at=at)
        )
        course_id = _db.session.scalar(select(Course.id))
        rollup.refresh_learner(user_id, course_id)
        _db.session.commit()


def run(app) -> int:
    with app.app_context():
        written = send_automatic_nudges()
        _db.session.commit()
        return written


def nudges(app, user_id: int | None = None) -> list[OutboxMessage]:
    with app.app_context():
        query = select(OutboxMessage).where(OutboxMessage.kind == str(Kind.NUDGE)).order_by(OutboxMessage.id)
        if user_id is not None:
            query = query.where(OutboxMessage.user_id == user_id)
        rows = _db.session.scalars(query).all()
        _db.session.expunge_all()
        return list(rows)


def link_in(text: str) -> str:
    """The path of the "continue" link in a message's text (the line after "Continue with …" / "Open …")."""
    urls = [u for u in re.findall(r"http://localhost\S+", text) if "/unsubscribe/" not in u]
    assert len(urls) == 1, urls
    return urlsplit(urls[0]).path


# -- automatic reminders -----------------------------------------------------------------------------------------
def test_an_inactive_learner_is_reminded_once_per_spell_of_inactivity(app, cohort_id, make_user):
    ann = learner_in(app, make_user, cohort_id, "ann@example.com", "Ann")
    view(app, ann, "welcome", ago(days=10))
    busy = add_learner(app, cohort_id, "Busy")
    view(app, busy, "welcome", ago(hours=3))

    assert run(app) == 1
    [first] = nudges(app)
    assert (first.user_id, first.to_address, first.status, first.language) == (ann, "ann@example.com", "sent", "en")
    assert first.subject == "Pick up where you left off: Mini Founder Course"
    assert "You have not worked on Mini Founder Course for 10 days." in first.text_body
    assert "Continue with “1.2 Models”:" in first.text_body  # her next lesson: the one after the one she read
    assert "/unsubscribe/" in first.text_body and first.unsubscribe_url

    assert run(app) == 0  # the same spell: nothing again
    last_seen(app, ann, ago(hours=1))  # she came back …
    assert run(app) == 0
    last_seen(app, ann, ago(days=9))  # … and stopped again, a week after the first reminder
    with app.app_context():
        _db.session.execute(update(OutboxMessage).values(created_at=ago(days=9)))
        _db.session.commit()
    assert run(app) == 1
    assert run(app) == 0
    keys = [m.event_key for m in nudges(app, ann)]
    assert len(keys) == 2 and len(set(keys)) == 2 and all(k.startswith(f"nudge:auto:{cohort_id}:{ann}:") for k in keys)


def test_the_continue_link_opens_where_the_learner_left_off(app, cohort_id, make_user):
    ann = learner_in(app, make_user, cohort_id, "ann@example.com", "Ann")
    view(app, ann, "welcome", ago(days=10))
    assert run(app) == 1
    path = link_in(nudges(app)[0].text_body)
    assert path.endswith("/lessons/models")
    client = new_client(app)
    assert do_login(client, "ann@example.com").status_code == 302
    response = client.get(path)
    assert response.status_code == 200 and "Models" in response.get_data(as_text=True)


def test_a_learner_who_never_started_is_reminded_from_their_enrolment(app, cohort_id, make_user):
    cai = learner_in(app, make_user, cohort_id, "cai@example.com", "Cai", language="zh_Hans")
    assert run(app) == 1
    [message] = nudges(app, cai)
    assert message.language == "zh_Hans" and 'lang="zh-Hans"' in message.html_body
    assert message.event_key == f"nudge:auto:{cohort_id}:{cai}:{ago(days=30).date().isoformat()}"
    assert link_in(message.text_body).endswith("/lessons/welcome")


def test_nothing_when_the_cohort_turned_reminders_off(app, cohort_id, make_user):
    ann = learner_in(app, make_user, cohort_id, "ann@example.com", "Ann")
    view(app, ann, "welcome", ago(days=10))
    with app.app_context():
        _db.session.execute(update(Cohort).values(auto_nudges=False))
        _db.session.commit()
    assert run(app) == 0 and nudges(app) == []


def test_nothing_for_a_learner_who_turned_reminders_off(app, cohort_id, make_user):
    ann = learner_in(app, make_user, cohort_id, "ann@example.com", "Ann")
    view(app, ann, "welcome", ago(days=10))
    with app.app_context():
        set_opted_out(ann, Kind.NUDGE, True)
        _db.session.commit()
    assert run(app) == 0 and nudges(app) == []


def test_a_learner_far_behind_but_active_is_reminded_once_per_chapter_opened(app, loaded_course, instructor):
    opens = {"intro": days_ago(20), "training": days_ago(13), "launch": days_ago(6)}
    cohort_id = make_cohort(app, [instructor.id], starts_on=days_ago(30), opens=opens)
    dot = add_learner(app, cohort_id, "Dot")  # no language of her own: the site's (zh_Hans)
    view(app, dot, "welcome", ago(hours=5))  # active, but three chapters out and none finished
    assert run(app) == 1 and run(app) == 0
    [message] = nudges(app, dot)
    assert message.language == app.config["BABEL_DEFAULT_LOCALE"] == "zh_Hans"
    with app.test_request_context(), force_locale("zh_Hans"):
        behind = ngettext(
            "You are %(num)d chapter behind your cohort’s schedule.",
            "You are %(num)d chapters behind your cohort’s schedule.",
            2,
        )
    assert behind == "你落后班级的课程安排 2 章。" and behind in message.text_body
    assert ":behind:" in message.event_key


def test_the_worker_runs_the_reminders_with_links_to_where_it_serves(app, cohort_id, make_user):
    """As the worker runs it: the scheduled jobs in an app context, no request; without PUBLIC_URL the links are
    built from LOCAL_URL (course/links.py)."""
    app.config["PUBLIC_URL"] = ""
    ann = learner_in(app, make_user, cohort_id, "ann@example.com", "Ann")
    view(app, ann, "welcome", ago(days=10))
    with app.app_context():
        assert run_scheduled()["nudges"] == 1
    [message] = nudges(app)
    assert (message.user_id, message.to_address, message.status) == (ann, "ann@example.com", "sent")
    local = app.config["LOCAL_URL"]
    urls = re.findall(r"https?://\S+", message.text_body)
    assert len(urls) == 2 and all(url.startswith(local + "/") for url in urls), urls
    assert message.unsubscribe_url.startswith(local + "/unsubscribe/")
    continue_url = next(url for url in urls if "/unsubscribe/" not in url)
    assert urlsplit(continue_url).path.endswith("/lessons/models")
    assert f'href="{continue_url}"' in message.html_body
    client = new_client(app)
    assert do_login(client, "ann@example.com").status_code == 302
    assert client.get(urlsplit(continue_url).path).status_code == 200


# -- reminders from the dashboard --------------------------------------------------------------------------------
@pytest.fixture
def at_risk(app, cohort_id, make_user):
    """Two inactive learners (one in Chinese), one who turned reminders off, one active learner."""
    people = {
        "ann": learner_in(app, make_user, cohort_id, "ann@example.com", "Ann"),
        "cai": learner_in(app, make_user, cohort_id, "cai@example.com", "Cai", language="zh_Hans"),
        "eve": learner_in(app, make_user, cohort_id, "eve@example.com", "Eve"),
        "busy": learner_in(app, make_user, cohort_id, "busy@example.com", "Busy"),
    }
    for name in ("ann", "eve"):
        view(app, people[name], "welcome", ago(days=12))
    view(app, people["busy"], "welcome", ago(hours=2))
    with app.app_context():
        set_opted_out(people["eve"], Kind.NUDGE, True)
        _db.session.commit()
    return people


def form_key(html: str) -> str:
    return re.search(r'name="key" type="hidden" value="([0-9a-f]{32})"', html).group(1)


def form_data(html: str, **more: str) -> dict[str, str]:
    """The reminder form as the preview filled it: its one-time key and the ids of the learners it showed."""
    learners = re.search(r'name="learners" type="hidden" value="([0-9,]*)"', html).group(1)
    return {"key": form_key(html), "learners": learners, **more}


def test_the_at_risk_preview_counts_and_names_the_recipients_then_sends_once(app, cohort_id, at_risk, staff):
    page = staff.get(f"/cohorts/{cohort_id}/dashboard/at-risk")
    assert f"/cohorts/{cohort_id}/dashboard/at-risk/remind" in page.get_data(as_text=True)
    preview = staff.get(f"/cohorts/{cohort_id}/dashboard/at-risk/remind")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "This will email 2 learners." in html and "Send to 2 learners" in html
    assert "Ann" in html and "Cai" in html and "Busy" not in html
    assert re.search(r"Eve\s*<span[^>]*>turned reminders off", html)
    assert "A reminder from Teacher: Mini Founder Course" in html  # the message, in the reader's language
    assert nudges(app) == []  # a preview sends nothing

    form = form_data(html, note="Chapter two is the fun one — see you Thursday!")
    sent = staff.post(f"/cohorts/{cohort_id}/dashboard/at-risk/remind", data=form, follow_redirects=True)
    assert "Reminder sent to 2 learners." in sent.get_data(as_text=True)
    again = staff.post(f"/cohorts/{cohort_id}/dashboard/at-risk/remind", data=form, follow_redirects=True)
    assert "This reminder was sent already" in again.get_data(as_text=True)

    messages = nudges(app)
    assert sorted((m.to_address, m.language) for m in messages) == [
        ("ann@example.com", "en"),
        ("cai@example.com", "zh_Hans"),
    ]
    assert all(m.event_key.startswith(f"nudge:manual:{form['key']}:") for m in messages)
    for message in messages:  # the note, introduced in the learner's language
        with app.test_request_context(), force_locale(message.language):
            writes = _("%(name)s, your instructor in %(cohort)s, writes:", name="Teacher", cohort="Spring")
        assert "see you Thursday!" in message.text_body and writes in message.text_body, message.language
    cai = next(m for m in messages if m.to_address == "cai@example.com")
    assert "你在 Spring 的讲师 Teacher 写道：" in cai.text_body  # in Chinese
    with app.app_context():
        entries = _db.session.scalars(select(AuditEntry).where(AuditEntry.action == Action.REMINDER_SENT.value)).all()
        assert [(e.cohort_id, e.details) for e in entries] == [
            (cohort_id, {"reminded": 2, "not_emailed": 0, "personal_note": True})
        ]


def test_the_reminder_goes_to_the_learners_previewed_not_to_who_is_at_risk_when_it_is_sent(
    app, cohort_id, at_risk, staff
):
    url = f"/cohorts/{cohort_id}/dashboard/at-risk/remind"
    html = staff.get(url).get_data(as_text=True)
    assert "This will email 2 learners." in html
    last_seen(app, at_risk["busy"], ago(days=12))  # a third learner falls behind before the form is sent
    assert "This will email 3 learners." in staff.get(url).get_data(as_text=True)

    sent = staff.post(url, data=form_data(html), follow_redirects=True)
    assert "Reminder sent to 2 learners." in sent.get_data(as_text=True)
    assert sorted(m.user_id for m in nudges(app)) == sorted([at_risk["ann"], at_risk["cai"]])
    assert all(m.status == "sent" for m in nudges(app))


def test_a_previewed_learner_who_can_no_longer_be_emailed_is_left_out_and_named(app, cohort_id, at_risk, staff):
    url = f"/cohorts/{cohort_id}/dashboard/at-risk/remind"
    html = staff.get(url).get_data(as_text=True)
    with app.app_context():
        set_opted_out(at_risk["cai"], Kind.NUDGE, True)  # between the preview and the send
        _db.session.commit()
    sent = staff.post(url, data=form_data(html), follow_redirects=True).get_data(as_text=True)
    assert "Reminder sent to 1 learner." in sent
    assert "Not sent to 1 learner who can no longer be emailed" in sent and "Cai." in sent
    assert [m.user_id for m in nudges(app)] == [at_risk["ann"]]
    with app.app_context():
        entry = _db.session.scalars(select(AuditEntry).where(AuditEntry.action == Action.REMINDER_SENT.value)).one()
        assert entry.details == {"reminded": 1, "not_emailed": 1, "personal_note": False}


def test_an_id_not_in_the_cohort_refuses_the_form_and_sends_nothing(app, loaded_course, cohort_id, at_risk, staff):
    outsider = add_learner(app, make_cohort(app, [], name="Other"), "Outsider")
    url = f"/cohorts/{cohort_id}/dashboard/at-risk/remind"
    form = form_data(staff.get(url).get_data(as_text=True))
    for learners in (f"{form['learners']},{outsider}", "999999", "1,x"):
        response = staff.post(url, data={**form, "learners": learners})
        assert response.status_code == 400, learners
    assert "not in this cohort any more" in staff.post(url, data={**form, "learners": str(outsider)}).get_data(
        as_text=True
    )
    assert nudges(app) == []


def test_one_learner_is_reminded_from_their_page(app, cohort_id, at_risk, staff):
    busy = at_risk["busy"]
    page = staff.get(f"/cohorts/{cohort_id}/learners/{busy}").get_data(as_text=True)
    url = f"/cohorts/{cohort_id}/learners/{busy}/remind"
    assert url in page
    html = staff.get(url).get_data(as_text=True)
    assert "This will email 1 learner." in html
    response = staff.post(url, data=form_data(html))
    assert response.status_code == 302 and response.location.endswith(f"/cohorts/{cohort_id}/learners/{busy}")
    [message] = nudges(app)
    assert (
        message.user_id == busy and "Your cohort, Spring, is working through Mini Founder Course." in message.text_body
    )
    assert "writes:" not in message.text_body  # no note
    client = new_client(app)
    assert do_login(client, "busy@example.com").status_code == 302
    assert client.get(link_in(message.text_body)).status_code == 200


def test_a_note_too_long_or_a_forged_key_is_refused_and_nothing_sent(app, cohort_id, at_risk, staff):
    url = f"/cohorts/{cohort_id}/dashboard/at-risk/remind"
    form = form_data(staff.get(url).get_data(as_text=True))
    too_long = staff.post(url, data={**form, "note": "x" * 1001})
    assert too_long.status_code == 400 and 'id="note-error"' in too_long.get_data(as_text=True)
    forged = staff.post(url, data={**form, "key": "../../x", "note": ""})
    assert forged.status_code == 400 and "This form has expired" in forged.get_data(as_text=True)
    assert nudges(app) == []


def test_only_the_cohorts_staff_may_remind_and_only_its_learners(app, loaded_course, cohort_id, at_risk, make_user):
    other = make_user(email="other@example.com", role="instructor")
    make_cohort(app, [other.id], name="Other")
    outsider = add_learner(app, make_cohort(app, [other.id], name="Third"), "Outsider")
    client = new_client(app)
    assert do_login(client, other.email).status_code == 302
    for url in (
        f"/cohorts/{cohort_id}/dashboard/at-risk/remind",
        f"/cohorts/{cohort_id}/learners/{at_risk['ann']}/remind",
    ):
        assert client.get(url).status_code == 404
        assert client.post(url, data={"key": "a" * 32}).status_code == 404
    learner = new_client(app)
    assert do_login(learner, "ann@example.com").status_code == 302
    assert learner.get(f"/cohorts/{cohort_id}/dashboard/at-risk/remind").status_code == 404
    teacher = new_client(app)
    assert do_login(teacher, "teacher@example.com").status_code == 302
    assert teacher.get(f"/cohorts/{cohort_id}/learners/{outsider}/remind").status_code == 404
    assert nudges(app) == []


def test_the_cohort_form_turns_automatic_reminders_off_and_on(app, cohort_id, staff):
    form = staff.get(f"/cohorts/{cohort_id}/edit").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*id="auto_nudges"|<input[^>]*id="auto_nudges"[^>]*checked', form)
    with app.app_context():
        cohort = _db.session.get(Cohort, cohort_id)
        data = {"course": cohort.course_id, "name": cohort.name}
        data.update(starts_on=cohort.starts_on.isoformat(), ends_on=cohort.ends_on.isoformat())
    assert staff.post(f"/cohorts/{cohort_id}/edit", data={**data, "auto_nudges": ""}).status_code == 302

    def setting() -> bool:
        with app.app_context():
            return _db.session.get(Cohort, cohort_id).auto_nudges

    assert setting() is False
    assert staff.post(f"/cohorts/{cohort_id}/edit", data=data).status_code == 302
    assert setting() is False  # a form without the field leaves it as it is
    assert staff.post(f"/cohorts/{cohort_id}/edit", data={**data, "auto_nudges": ["y", ""]}).status_code == 302
    assert setting() is True
    with app.app_context():
        entry = _db.session.scalars(select(AuditEntry).where(AuditEntry.action == Action.COHORT_EDITED.value)).first()
        assert (entry.before, entry.after) == ({"auto_nudges": True}, {"auto_nudges": False})
