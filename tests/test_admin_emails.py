"""The admins' page of the outbox: every email by state, with the server's last answer, and a failed one sent
again (not an account email whose password link was blanked: a new link is sent from the user list)."""

from __future__ import annotations

from mailbox import SmtpServer

import pytest
from conftest import do_login, new_client
from sqlalchemy import select

from course.audit.models import AuditEntry
from course.extensions import db as _db
from course.outbox.kinds import Kind
from course.outbox.messages import enqueue
from course.outbox.models import OutboxMessage


@pytest.fixture
def smtp(app):
    with SmtpServer() as server:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_USE_TLS=False)
        yield server.mailbox


@pytest.fixture
def admin_client(app, make_user):
    admin = make_user(email="root@example.com", role="admin", name="Ada Admin")
    client = new_client(app)
    assert do_login(client, admin.email).status_code == 302
    return client


def write(app, user, key: str, kind: Kind = Kind.RELEASE) -> int:
    with app.test_request_context(method="POST"):
        message_id = enqueue(event_key=key, kind=kind, recipient=user, template="test_probe")
        _db.session.commit()
        return message_id


def status_of(app, message_id: int) -> str:
    with app.app_context():
        return _db.session.get(OutboxMessage, message_id).status


def test_a_failed_email_is_shown_with_its_error_and_sent_again(app, make_user, admin_client, smtp):
    refused, fine = make_user(email="typo@example.com"), make_user(email="ok@example.com")
    smtp.refuse = {"typo@example.com": "550 5.1.1 mailbox unavailable"}
    failed, sent = write(app, refused, "test:refused"), write(app, fine, "test:fine")
    assert (status_of(app, failed), status_of(app, sent)) == ("failed", "sent")

    page = admin_client.get("/admin/emails?status=failed").get_data(as_text=True)
    assert "typo@example.com" in page and "550 5.1.1 mailbox unavailable" in page
    assert "ok@example.com" not in page and "Failed (1)" in page and "Sent (1)" in page

    smtp.refuse.clear()  # the address was fixed on the server's side
    response = admin_client.post(f"/admin/emails/{failed}/retry")
    assert response.status_code == 303 and status_of(app, failed) == "sent"
    assert [m["To"] for m in smtp.messages] == ["ok@example.com", "typo@example.com"]
    with app.app_context():
        entry = _db.session.scalar(select(AuditEntry).where(AuditEntry.action == "email retried"))
        assert entry.target_user_id == refused.id and entry.details["message"] == failed
    again = admin_client.post(f"/admin/emails/{failed}/retry", follow_redirects=True)  # not failed any more
    assert "Only a failed email that still has its text can be sent again." in again.get_data(as_text=True)
    assert len(smtp.messages) == 2


def test_a_failed_account_email_is_not_sent_again_from_here(app, make_user, admin_client, smtp):
    user = make_user(email="typo@example.com")
    smtp.refuse = {"typo@example.com": "550 5.1.1 mailbox unavailable"}
    failed = write(app, user, "test:account", kind=Kind.ACCOUNT)
    with app.app_context():
        assert _db.session.get(OutboxMessage, failed).text_body == ""  # its password link is gone
    assert "Send again" not in admin_client.get("/admin/emails").get_data(as_text=True)
    admin_client.post(f"/admin/emails/{failed}/retry")
    assert status_of(app, failed) == "failed" and smtp.messages == []


def test_bad_filters_and_ids_are_4xx(admin_client):
    assert admin_client.get("/admin/emails?status=lost").status_code == 400
    assert admin_client.get("/admin/emails?page=999999999999").status_code == 200
    assert admin_client.post("/admin/emails/999999/retry").status_code == 404
