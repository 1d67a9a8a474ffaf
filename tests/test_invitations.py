"""Invitations: a learner an instructor enrols (a CSV file, "add a learner") is emailed through the outbox — a new
account its set-password link, in its language, with the cohort's name and dates; an account with a password "you
were enrolled" — once per enrolment; a refused file emails no one; the report says who was emailed; the
invitation can be sent again while the learner has no password, only by the cohort's instructors."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from mailbox import SmtpServer, html_of, text_of
from urllib.parse import urlsplit

import pytest
from conftest import FIXTURE_COURSE, do_login, new_client, server_url
from dashboard_factories import make_cohort
from flask_babel import force_locale, gettext
from sqlalchemy import func, insert, select

from course.accounts.models import User
from course.clock import today
from course.cohorts.models import Cohort, Enrolment
from course.extensions import db as _db
from course.outbox.models import OutboxMessage

LINK = re.compile(r"https?://[^\s\"<>]+/password/set/[\w.-]+")


@pytest.fixture(autouse=True)
def smtp(app):
    """A real SMTP server: each message is delivered to it after its commit (the outbox keeps no body of a
    transactional message once it is sent: its links are secrets)."""
    with SmtpServer() as server:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_USE_TLS=False)
        yield server.mailbox


def bodies(smtp, address: str) -> list[tuple[str, str]]:
    """(text, html) of each message delivered to `address`."""
    return [(text_of(m), html_of(m)) for m in smtp.to(address)]


@pytest.fixture
def teacher(make_user):
    return make_user(email="teacher@example.com", role="instructor", name="Tess Teacher")


@pytest.fixture
def staff(app, teacher):
    client = new_client(app)
    assert do_login(client, teacher.email).status_code == 302
    return client


@pytest.fixture
def cohort_id(app, loaded_course, teacher):
    """A cohort of the teacher's that starts in a week."""
    with app.app_context():
        start = today() + timedelta(days=7)
    return make_cohort(app, [teacher.id], name="Summer founders", starts_on=start)


def upload(client, cohort_id: int, text: str):
    data = {"file": (io.BytesIO(text.encode("utf-8")), "learners.csv")}
    return client.post(f"/cohorts/{cohort_id}/enrol/csv", data=data, content_type="multipart/form-data")


def invitations(app, email: str | None = None) -> list[OutboxMessage]:
    with app.app_context():
        query = select(OutboxMessage).where(OutboxMessage.kind == "invitation").order_by(OutboxMessage.id)
        if email:
            query = query.where(OutboxMessage.to_address == email)
        rows = list(_db.session.scalars(query))
        _db.session.expunge_all()
        return rows


def count(app, model) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.count()).select_from(model))


def user_id(app, email: str) -> int:
    with app.app_context():
        return _db.session.scalar(select(User.id).where(User.email == email))


def path_of(url: str) -> str:
    return urlsplit(url).path


def resend_form(page: str, learner: int) -> dict[str, str]:
    """The "resend the invitation" form of `learner` on the cohort page: its one-time submission key."""
    form = re.search(rf'/learners/{learner}/invitation".*?name="submission_key" value="(\w+)"', page, re.S)
    return {"submission_key": form.group(1)}


CSV = "email,name,language\nzhang@example.com,张三,zh_Hans\nann@example.com,Ann Archer,en\n"


def test_a_csv_emails_each_new_learner_a_working_set_password_link_in_their_language(app, staff, cohort_id, smtp):
    response = upload(staff, cohort_id, CSV)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "/password/set/" not in page  # no links to copy by hand any more
    assert "Who was emailed" in page and "zhang@example.com" in page and "ann@example.com" in page
    assert page.count("With a link to choose a password") == 2

    [zh], [en] = invitations(app, "zhang@example.com"), invitations(app, "ann@example.com")
    assert (zh.language, en.language) == ("zh_Hans", "en")
    assert zh.status == en.status == "sent"
    assert zh.event_key.startswith("invitation:enrolment:") and zh.event_key != en.event_key
    assert "Summer founders" in zh.subject and "Summer founders" in en.subject
    [(zh_text, zh_html)], [(en_text, en_html)] = bodies(smtp, "zhang@example.com"), bodies(smtp, "ann@example.com")
    for text, html in ((zh_text, zh_html), (en_text, en_html)):
        assert "Summer founders" in text and LINK.search(text) and LINK.search(html)
    with app.app_context():
        cohort = _db.session.get(Cohort, cohort_id)
        assert f"{cohort.starts_on.year}年{cohort.starts_on.month}月{cohort.starts_on.day}日" in zh_text
        assert str(cohort.starts_on.year) in en_text and "年" not in en_text
        assert "within 7 days" in en_text and "张三" in zh_text
        assert _db.session.scalar(select(User.language).where(User.email == "zhang@example.com")) == "zh_Hans"

    # the link works: the page names the cohort, a password is chosen, the first page says it again
    link = path_of(LINK.search(en_text).group(0))
    learner = new_client(app)
    shown = learner.get(link)
    assert shown.status_code == 200
    assert "You have joined “Summer founders”, starting" in shown.get_data(as_text=True)
    done = learner.post(link, data={"password": "my own passphrase", "confirm": "my own passphrase"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/courses/{FIXTURE_COURSE}")
    first_page = learner.get(done.headers["Location"]).get_data(as_text=True)
    assert "You have joined “Summer founders”, starting" in first_page
    assert new_client(app).get(link).status_code == 404  # used once
    assert do_login(new_client(app), "ann@example.com", "my own passphrase").status_code == 302


def test_an_account_with_a_password_is_told_it_was_enrolled(app, staff, cohort_id, make_user, smtp):
    make_user(email="old.hand@example.com", name="Old Hand")
    response = upload(staff, cohort_id, "email,name,language\nOld.Hand@example.com,Old Hand,zh_Hans\n")
    assert response.status_code == 200
    assert "Enrolled: a link to the course" in response.get_data(as_text=True)
    [message] = invitations(app, "old.hand@example.com")
    assert message.language == "zh_Hans"  # the account has no language of its own: the file's (not the teacher's)
    with app.test_request_context(), force_locale("zh_Hans"):
        expected = gettext("You were enrolled in “%(cohort)s”", cohort="Summer founders")
    assert message.subject == expected and re.search(r"[\u4e00-\u9fff]", expected)
    [(text, _html)] = bodies(smtp, "old.hand@example.com")
    assert "/password/set/" not in text
    outline = re.search(r"https?://\S+/courses/" + FIXTURE_COURSE, text).group(0)
    client = new_client(app)
    assert do_login(client, "old.hand@example.com").status_code == 302
    assert client.get(path_of(outline)).status_code == 200


def test_the_same_file_twice_or_a_double_add_emails_once(app, staff, cohort_id, smtp):
    assert upload(staff, cohort_id, CSV).status_code == 200
    again = upload(staff, cohort_id, CSV)
    page = again.get_data(as_text=True)
    assert again.status_code == 200
    assert "No one was emailed." in page and page.count("Already in this cohort: not emailed again.") == 2
    assert len(invitations(app)) == 2

    form = {"learner-email": "bo@example.com", "learner-name": "Bo Brave", "learner-language": "en"}
    first = staff.post(f"/cohorts/{cohort_id}/learners/add", data=form)
    second = staff.post(f"/cohorts/{cohort_id}/learners/add", data=form)
    assert first.status_code == second.status_code == 302
    [message] = invitations(app, "bo@example.com")
    [(text, _html)] = bodies(smtp, "bo@example.com")
    assert message.language == "en" and LINK.search(text) and "Bo Brave" in text
    assert len(smtp.messages) == 3
    assert "Already in this cohort" in staff.get(second.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(Enrolment)) == 3


@pytest.mark.parametrize(
    "body, problem",
    [
        ("email,name\ngood@example.com,Good\nnot-an-email,Bad\n", "not a valid email"),
        ("email,name,language\ngood@example.com,Good,fr\n", "Unknown language “fr”"),
    ],
)
def test_a_refused_file_emails_no_one(app, staff, cohort_id, body, problem):
    response = upload(staff, cohort_id, body)
    assert response.status_code == 400 and problem in response.get_data(as_text=True)
    assert count(app, OutboxMessage) == 0 and count(app, Enrolment) == 0
    assert user_id(app, "good@example.com") is None


def test_a_file_refused_at_its_capacity_emails_no_one(app, staff, teacher, loaded_course):
    from course.cohorts.services import CohortSettings, create_cohort
    from course.content.models import Course

    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        start = today()
        settings = CohortSettings(name="Tiny", starts_on=start, ends_on=start + timedelta(days=30), capacity=1)
        small = create_cohort(course, settings, [teacher.id]).id
        _db.session.commit()
    response = upload(staff, small, "email,name\na@example.com,A\nb@example.com,B\n")
    assert response.status_code == 400
    assert count(app, OutboxMessage) == 0 and count(app, User) == 1  # the teacher alone


def test_the_invitation_is_sent_again_only_by_the_cohorts_instructors_while_no_password(
    app, staff, cohort_id, make_user, smtp
):
    assert upload(staff, cohort_id, CSV).status_code == 200
    learner = user_id(app, "ann@example.com")
    detail = staff.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
    assert f"/cohorts/{cohort_id}/learners/{learner}/invitation" in detail and "Resend the invitation" in detail

    other = make_user(email="other@example.com", role="instructor")
    stranger = new_client(app)
    assert do_login(stranger, other.email).status_code == 302
    stolen = resend_form(detail, learner)
    assert stranger.post(f"/cohorts/{cohort_id}/learners/{learner}/invitation", data=stolen).status_code == 404
    assert len(invitations(app, "ann@example.com")) == 1

    resent = staff.post(f"/cohorts/{cohort_id}/learners/{learner}/invitation", data=resend_form(detail, learner))
    assert resent.status_code == 302
    assert "emailed to ann@example.com again" in staff.get(resent.headers["Location"]).get_data(as_text=True)
    first, second = invitations(app, "ann@example.com")
    assert first.event_key != second.event_key and second.status == "sent"
    [_first, (second_text, _html)] = bodies(smtp, "ann@example.com")
    link = path_of(LINK.search(second_text).group(0))
    chosen = new_client(app).post(link, data={"password": "my own passphrase", "confirm": "my own passphrase"})
    assert chosen.status_code == 302

    refused = staff.post(f"/cohorts/{cohort_id}/learners/{learner}/invitation", data={"submission_key": "a" * 32})
    assert refused.status_code == 400 and "already chosen a password" in refused.get_data(as_text=True)
    assert len(invitations(app, "ann@example.com")) == 2


def test_add_a_learner_refuses_bad_input_and_other_instructors(app, staff, cohort_id, make_user):
    bad = staff.post(f"/cohorts/{cohort_id}/learners/add", data={"learner-email": "nope", "learner-language": "en"})
    assert bad.status_code == 400 and 'id="learner-email-error"' in bad.get_data(as_text=True)
    other = make_user(email="other@example.com", role="instructor")
    stranger = new_client(app)
    assert do_login(stranger, other.email).status_code == 302
    form = {"learner-email": "x@example.com", "learner-language": "en"}
    assert stranger.post(f"/cohorts/{cohort_id}/learners/add", data=form).status_code == 404
    assert count(app, OutboxMessage) == 0 and user_id(app, "x@example.com") is None


def test_a_learner_unenrolled_and_added_again_is_invited_again(app, staff, cohort_id, smtp, database_url):
    """SQLite may give the new enrolment the id of the deleted one: the invitation is keyed by the enrolment's
    instant too, so it is a new event — while the same enrolment reported again is still the same one."""
    from course.cohorts.invitations import invite

    form = {"learner-email": "cy@example.com", "learner-name": "Cy", "learner-language": "en"}
    assert staff.post(f"/cohorts/{cohort_id}/learners/add", data=form).status_code == 302
    learner = user_id(app, "cy@example.com")
    with app.app_context():
        first_id = _db.session.scalar(select(Enrolment.id).where(Enrolment.user_id == learner))
    assert staff.post(f"/cohorts/{cohort_id}/learners/{learner}/unenrol").status_code == 302
    again = staff.post(f"/cohorts/{cohort_id}/learners/add", data=form)
    assert "emailed their invitation" in staff.get(again.headers["Location"]).get_data(as_text=True)
    first, second = invitations(app, "cy@example.com")
    assert first.event_key != second.event_key and second.status == "sent"
    assert len(bodies(smtp, "cy@example.com")) == 2
    with app.test_request_context():
        enrolment = _db.session.scalar(select(Enrolment).where(Enrolment.user_id == learner))
        if database_url.startswith("sqlite"):
            assert enrolment.id == first_id  # the case this guards against
        user, cohort = _db.session.get(User, learner), _db.session.get(Cohort, cohort_id)
        assert invite(enrolment, user, cohort, False, "en").emailed is False  # read back: the same key
    assert len(invitations(app, "cy@example.com")) == 2


def test_a_double_add_of_a_new_address_that_raced_the_first_is_told_already_in_the_cohort(
    app, staff, cohort_id, smtp, monkeypatch
):
    """The second of two "add" requests for a new address (PostgreSQL: another instance) looked for the account
    before the first committed it, so found none: its insert hits the unique email — not a 500, but the first's
    account, already in the cohort, emailed once. Replayed on either engine by a stale first lookup."""
    from course.cohorts import invitations as service

    form = {"learner-email": "dee@example.com", "learner-name": "Dee", "learner-language": "en"}
    assert staff.post(f"/cohorts/{cohort_id}/learners/add", data=form).status_code == 302
    real_lookup, looked = service.find_user, []

    def stale_first_lookup(email: str):
        looked.append(email)
        return None if len(looked) == 1 else real_lookup(email)

    monkeypatch.setattr(service, "find_user", stale_first_lookup)
    second = staff.post(f"/cohorts/{cohort_id}/learners/add", data=form)
    assert second.status_code == 302 and len(looked) == 2
    assert "Already in this cohort" in staff.get(second.headers["Location"]).get_data(as_text=True)
    assert count(app, User) == 2 and count(app, Enrolment) == 1  # the teacher and Dee
    assert len(invitations(app, "dee@example.com")) == 1 == len(bodies(smtp, "dee@example.com"))


def test_a_double_click_on_resend_sends_once_and_a_bad_key_is_refused(app, staff, cohort_id, smtp):
    assert upload(staff, cohort_id, CSV).status_code == 200
    learner = user_id(app, "ann@example.com")
    url = f"/cohorts/{cohort_id}/learners/{learner}/invitation"
    form = resend_form(staff.get(f"/cohorts/{cohort_id}").get_data(as_text=True), learner)
    assert staff.post(url, data=form).status_code == staff.post(url, data=form).status_code == 302
    assert len(invitations(app, "ann@example.com")) == 2 == len(bodies(smtp, "ann@example.com"))
    fresh = resend_form(staff.get(f"/cohorts/{cohort_id}").get_data(as_text=True), learner)
    assert fresh != form and staff.post(url, data=fresh).status_code == 302  # the page shown again: a new one
    for bad in ({}, {"submission_key": ""}, {"submission_key": "x" * 32}, {"submission_key": "a" * 33}):
        refused = staff.post(url, data=bad)
        assert refused.status_code == 400 and "please reload the page" in refused.get_data(as_text=True)
    assert len(invitations(app, "ann@example.com")) == 3


def test_the_invitations_sentences_are_joined_as_each_language_writes_them(app, staff, teacher, loaded_course, smtp):
    """Chinese runs its sentences together (no space after "。"), English puts one; a name is escaped once."""
    with app.app_context():
        start = today() + timedelta(days=7)
    named = make_cohort(app, [teacher.id], name="R&D <founders>", starts_on=start)
    body = "email,name,language\nzhang@example.com,张三,zh_Hans\nann@example.com,Ann Archer,en\n"
    assert upload(staff, named, body).status_code == 200
    [(zh_text, zh_html)], [(en_text, en_html)] = bodies(smtp, "zhang@example.com"), bodies(smtp, "ann@example.com")
    assert "。" in zh_text and "。 " not in zh_text and "。 " not in zh_html and "。\n" not in zh_html
    assert "“R&D <founders>” of the course" in en_text and "It starts on" in en_text
    assert re.search(r"of the course “[^”]+”\. It starts on", en_text) and ". It starts on" in en_html
    for html in (zh_html, en_html):
        assert "R&amp;D &lt;founders&gt;" in html and "&amp;amp;" not in html and "<founders>" not in html


@pytest.mark.skipif(server_url() is None, reason="SQLite runs one write at a time: the second upload sees the account")
def test_two_uploads_making_the_same_account_at_once_answer_409_and_change_nothing(app, staff, cohort_id, monkeypatch):
    """The other upload commits the account between this one's check and its insert (PostgreSQL runs them at once)."""
    from course.cohorts import csv_import

    real_create = csv_import.create_learner_account

    def raced(email: str, name: str, language: str | None):
        with _db.engine.connect() as other:  # the other upload, committed first
            other.execute(insert(User).values(email=email, name=name, password_hash="!", role="learner",
                                              session_token="other-upload", active=True))  # fmt: skip
            other.commit()
        return real_create(email, name, language)

    monkeypatch.setattr(csv_import, "create_learner_account", raced)
    with app.app_context():
        enrolled_before = _db.session.scalar(select(func.count()).select_from(Enrolment))
    response = upload(staff, cohort_id, CSV)
    assert response.status_code == 409
    assert "nothing was changed. Upload the file again." in response.get_data(as_text=True)
    assert invitations(app) == []
    with app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(Enrolment)) == enrolled_before
