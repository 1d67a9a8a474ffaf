"""The outbox: a message is a row written with its event and delivered after the commit, once per event, through
a real SMTP server (tests/mailbox.py); a temporary failure is retried later, a permanent one is marked failed;
optional kinds carry a working one-click unsubscribe link (RFC 8058), and the account page turns kinds off and on."""

from __future__ import annotations

import logging
from datetime import timedelta
from mailbox import SmtpServer, html_of, text_of

import pytest
from conftest import do_login, new_client
from sqlalchemy import select, update

from course.accounts.models import User
from course.db_types import utcnow
from course.extensions import db as _db
from course.outbox.delivery import deliver_due
from course.outbox.kinds import Kind
from course.outbox.messages import enqueue
from course.outbox.models import NotificationOptOut, OutboxMessage


@pytest.fixture
def smtp(app):
    """A real SMTP server; the app delivers to it, after each commit."""
    with SmtpServer() as server:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_USE_TLS=False)
        yield server.mailbox


def probe(app, user, key: str, kind: Kind = Kind.RELEASE, commit: bool = True) -> int | None:
    with app.test_request_context(method="POST"):
        written = enqueue(event_key=key, kind=kind, recipient=user, template="test_probe")
        if commit:
            _db.session.commit()
        else:
            _db.session.rollback()
    return written


def row(app, message_id: int) -> OutboxMessage:
    with app.app_context():
        return _db.session.get(OutboxMessage, message_id)


def test_a_message_is_delivered_once_per_event_as_text_and_html(app, make_user, smtp):
    user = make_user(email="ada@example.com", name="Ada")
    first = probe(app, user, "test:1")
    assert probe(app, user, "test:1") is None  # the same event again: nothing new
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "ada@example.com" and message["Subject"] == "Probe for Ada"
    assert "Hello Ada." in text_of(message) and "<p>Hello Ada.</p>" in html_of(message)
    stored = row(app, first)
    assert (stored.status, stored.attempts) == ("sent", 1) and message["Message-ID"].strip() == stored.message_id


def test_a_rolled_back_event_leaves_no_message(app, make_user, smtp):
    user = make_user()
    probe(app, user, "test:gone", commit=False)
    with app.app_context():
        assert _db.session.scalar(select(OutboxMessage).where(OutboxMessage.event_key == "test:gone")) is None
    assert smtp.messages == []


def test_a_temporary_failure_is_retried_later_and_a_permanent_one_is_not(app, make_user, smtp):
    later, never = make_user(email="later@example.com"), make_user(email="never@example.com")
    smtp.refuse = {"later@example.com": "451 4.3.0 try again later", "never@example.com": "550 5.1.1 no such user"}
    retried, failed = probe(app, later, "test:later"), probe(app, never, "test:never")
    assert smtp.messages == []
    first = row(app, retried)
    assert (first.status, first.attempts) == ("pending", 1) and "451" in first.last_error
    assert first.next_attempt_at > utcnow() + timedelta(seconds=30)  # OUTBOX_RETRY_SECONDS after the failure
    assert (row(app, failed).status, row(app, failed).attempts) == ("failed", 1)
    with app.app_context():
        assert deliver_due().sent == 0  # not due yet
        smtp.refuse.clear()
        _db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
        _db.session.commit()
        assert (deliver_due().sent, deliver_due().sent) == (1, 0)  # the failed one stays failed
    assert [m["To"] for m in smtp.messages] == ["later@example.com"]
    assert (row(app, retried).status, row(app, retried).attempts) == ("sent", 2)


def test_the_backoff_doubles_and_gives_up_after_the_last_attempt(app, make_user, smtp):
    user = make_user(email="later@example.com")
    smtp.refuse = {"later@example.com": "421 4.7.0 busy"}
    app.config.update(OUTBOX_MAX_ATTEMPTS=3)
    message_id = probe(app, user, "test:busy")
    delays = []
    with app.app_context():
        for _ in range(2):
            message = _db.session.get(OutboxMessage, message_id, populate_existing=True)
            delays.append(round((message.next_attempt_at - utcnow()).total_seconds() / 60))
            _db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
            _db.session.commit()
            deliver_due()
    assert delays == [1, 2]  # OUTBOX_RETRY_SECONDS (60), then twice that
    assert (row(app, message_id).status, row(app, message_id).attempts) == ("failed", 3)


def test_a_message_claimed_by_a_live_worker_is_not_taken_twice(app, make_user, smtp):
    user = make_user()
    app.config.update(OUTBOX_IMMEDIATE=False)
    message_id = probe(app, user, "test:claimed")
    with app.app_context():
        lease = utcnow() + timedelta(minutes=5)
        _db.session.execute(update(OutboxMessage).values(status="sending", lease_until=lease))
        _db.session.commit()
        assert deliver_due().sent == 0  # another worker holds it
        _db.session.execute(update(OutboxMessage).values(lease_until=utcnow() - timedelta(seconds=1)))
        _db.session.commit()
        assert deliver_due().sent == 1  # that worker died: its lease ran out
    assert len(smtp.messages) == 1 and row(app, message_id).status == "sent"


def test_transactional_bodies_are_blanked_once_sent(app, make_user, smtp, client):
    user = make_user(email="ada@example.com")
    client.post("/password/forgot", data={"email": "ada@example.com"})
    assert "/password/reset/" in text_of(smtp.to("ada@example.com")[0])
    with app.app_context():
        stored = _db.session.scalar(select(OutboxMessage).where(OutboxMessage.user_id == user.id))
        assert stored.kind == "account" and stored.text_body == stored.html_body == ""
        assert stored.unsubscribe_url is None
    assert "List-Unsubscribe" not in smtp.messages[0]


def test_one_click_unsubscribe_works_without_a_session_or_csrf_token(app, make_user, smtp):
    user = make_user(email="ada@example.com")
    probe(app, user, "test:optional")
    message = smtp.messages[0]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message["List-Unsubscribe"].strip().strip("<>")
    assert url in text_of(message) and url in html_of(message)
    app.config.update(WTF_CSRF_ENABLED=True)
    client = new_client(app)
    assert "Stop getting emails of this kind" in client.get(url).get_data(as_text=True)  # a GET changes nothing
    with app.app_context():
        assert _db.session.get(NotificationOptOut, (user.id, "release")) is None
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 204
    with app.app_context():
        assert _db.session.get(NotificationOptOut, (user.id, "release")) is not None
    assert probe(app, user, "test:optional-again") is None  # no more of that kind
    assert probe(app, user, "test:announcement", kind=Kind.ANNOUNCEMENT) is not None  # other kinds still come
    assert client.post(url.replace("/unsubscribe/", "/unsubscribe/x")).status_code == 404


def test_the_account_page_turns_kinds_of_email_off_and_on(app, make_user, smtp, client):
    user = make_user(email="ada@example.com")
    do_login(client, user.email)
    page = client.get("/account").get_data(as_text=True)
    assert 'id="account-emails"' in page and "notify-digest" not in page  # the digest is for instructors
    response = client.post("/account/notifications", data={"notify-announcement": "y", "notify-release": "y"})
    assert response.status_code == 303
    with app.app_context():
        assert set(_db.session.scalars(select(NotificationOptOut.kind))) == {"nudge"}
    client.post("/account/notifications", data={"notify-announcement": "y", "notify-release": "y", "notify-nudge": "y"})
    with app.app_context():
        assert _db.session.scalars(select(NotificationOptOut)).all() == []


def test_messages_go_to_the_console_without_a_mail_server(app, make_user, caplog):
    user = make_user(name="Ada")
    caplog.set_level(logging.WARNING, logger="course.mail")
    probe(app, user, "test:console")
    logged = [r.getMessage() for r in caplog.records if r.name == "course.mail"]
    assert len(logged) == 1 and "Subject: Probe for Ada" in logged[0] and "Hello Ada." in logged[0]


def test_a_savepoint_neither_delivers_early_nor_forgets_the_messages(app, make_user, smtp):
    """Enrolling learners one savepoint each: the messages go when the whole transaction commits, not before."""
    first, second = make_user(email="one@example.com"), make_user(email="two@example.com")
    with app.test_request_context(method="POST"):
        enqueue(event_key="test:one", kind=Kind.RELEASE, recipient=first, template="test_probe")
        with _db.session.begin_nested():
            enqueue(event_key="test:two", kind=Kind.RELEASE, recipient=second, template="test_probe")
        with pytest.raises(ValueError), _db.session.begin_nested():
            raise ValueError
        assert smtp.messages == []  # nothing committed yet
        _db.session.commit()
    assert sorted(m["To"] for m in smtp.messages) == ["one@example.com", "two@example.com"]


def test_a_message_that_cannot_be_built_fails_at_once_instead_of_blocking_the_queue(app, make_user, smtp):
    user = make_user(email="ada@example.com")
    with app.test_request_context(method="POST"):
        broken = enqueue(event_key="test:broken", kind=Kind.RELEASE, recipient=user, template="test_probe")
        _db.session.execute(update(OutboxMessage).where(OutboxMessage.id == broken).values(subject="two\nlines"))
        fine = enqueue(event_key="test:fine", kind=Kind.RELEASE, recipient=user, template="test_probe")
        _db.session.commit()
    assert (row(app, broken).status, row(app, fine).status) == ("failed", "sent")
    assert "linefeed" in row(app, broken).last_error and len(smtp.messages) == 1


def test_a_failing_scheduled_job_does_not_stop_the_others(app, make_user, smtp, monkeypatch, caplog):
    from course.worker import jobs

    user = make_user(email="ada@example.com")

    def broken() -> int:
        probe(app, user, "test:never-committed", commit=False)
        raise RuntimeError("a bug in one job")

    def working() -> int:
        return 1 if probe(app, user, "test:still-sent") else 0

    monkeypatch.setattr(jobs, "JOBS", [("broken", broken), ("working", working)])
    with app.app_context():
        assert jobs.run_scheduled() == {"broken": 0, "working": 1}
    assert [m["To"] for m in smtp.messages] == ["ada@example.com"]
    assert "scheduled job 'broken' failed" in caplog.text


def test_someone_elses_message_is_in_the_recipients_language_not_the_senders(app, make_user, smtp):
    chosen, unset = make_user(email="en@example.com"), make_user(email="none@example.com")
    with app.app_context():
        _db.session.execute(update(User).where(User.id == chosen.id).values(language="en"))
        _db.session.commit()
        chosen = _db.session.get(User, chosen.id)
        _db.session.expunge(chosen)
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):  # an English-speaking sender
        first = enqueue(event_key="test:en", kind=Kind.ANNOUNCEMENT, recipient=chosen, template="test_probe")
        second = enqueue(event_key="test:none", kind=Kind.ANNOUNCEMENT, recipient=unset, template="test_probe")
        _db.session.commit()
    assert (row(app, first).language, row(app, second).language) == ("en", "zh_Hans")  # the site's default
    assert 'lang="zh-Hans"' in html_of(smtp.to("none@example.com")[0])
