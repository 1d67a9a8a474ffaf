"""The revocation status lists: a credential's bit chosen at random (its place says nothing about when it was issued
or how many were), and a list's signed credential kept until a bit, the key or the address changes, served with
its cache headers and ETag."""

from __future__ import annotations

import pytest
from conftest import new_client
from sqlalchemy import delete, select
from test_badges_issuing import PUBLIC, complete_course, credential_row

from course.accounts.models import User
from course.badges import issuing, status
from course.badges.identity import key_for_method
from course.badges.models import LIST_SIZE, BadgeCredential
from course.badges.proof import verify
from course.badges.status import decode_bits
from course.extensions import db as _db
from course.privacy.deletion import delete_account
from course.progress.models import Completion


@pytest.fixture
def badges_app(app, loaded_course, tmp_path):
    app.config.update(PUBLIC_URL=PUBLIC, BADGE_KEY_DIR=str(tmp_path / "keys"))
    return app


@pytest.fixture
def signatures(monkeypatch) -> list[str]:
    """The verification method of every status list signed from now on (none kept from an earlier test)."""
    signed: list[str] = []
    real = status.sign

    def counting(document, key, method, **options):
        signed.append(method)
        return real(document, key, method, **options)

    monkeypatch.setattr(status, "_signed", {})
    monkeypatch.setattr(status, "sign", counting)
    return signed


def test_the_status_list_is_signed_once_until_a_bit_or_the_key_changes(badges_app, make_user, signatures):
    app = badges_app
    _client, lena, _code = complete_course(app, make_user, "lena@example.com")
    _client, max_id, _code = complete_course(app, make_user, "max@example.com", "Max")
    anyone = new_client(app)
    first, second = anyone.get("/credentials/status/1"), anyone.get("/credentials/status/1")
    assert len(signatures) == 1 and first.get_json() == second.get_json()
    assert first.headers["Cache-Control"] == "public, max-age=300" and first.headers["ETag"] == second.headers["ETag"]
    assert anyone.get("/credentials/status/1", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304

    with app.app_context():  # Max deletes his account: his bit is set, the list signed again
        user = _db.session.get(User, max_id)
        delete_account(user, by=user)
        _db.session.commit()
    revoked = anyone.get("/credentials/status/1")
    assert len(signatures) == 2 and revoked.headers["ETag"] != first.headers["ETag"]
    row = credential_row(app, max_id)
    bits = decode_bits(revoked.get_json()["credentialSubject"]["encodedList"])
    assert bits[row.status_index // 8] & (0x80 >> (row.status_index % 8)) and sum(map(bool, bits)) == 1
    anyone.get("/credentials/status/1")
    assert len(signatures) == 2

    assert app.test_cli_runner().invoke(args=["badges", "keygen", "--rotate"]).exit_code == 0
    rotated = anyone.get("/credentials/status/1").get_json()
    assert len(signatures) == 3 and rotated["proof"]["verificationMethod"] == signatures[-1] != signatures[0]
    assert rotated["credentialSubject"]["encodedList"] == revoked.get_json()["credentialSubject"]["encodedList"]
    assert credential_row(app, lena).revoked_at is None


def test_a_credentials_bit_is_random_not_the_completions_number(badges_app, make_user):
    places = set()
    for name in ("lena", "max", "nora"):
        _client, user_id, _code = complete_course(badges_app, make_user, f"{name}@example.com", name)
        row = credential_row(badges_app, user_id)
        assert row.document["credentialStatus"]["statusListIndex"] == str(row.status_index)
        places.add((row.status_list, row.status_index))
    assert {place[0] for place in places} == {1} and len(places) == 3
    assert {place[1] for place in places} != {0, 1, 2}  # by completion id they would be; at random, 1 in 10^14
    assert all(0 <= place[1] < LIST_SIZE for place in places)


def test_a_bit_taken_at_the_same_moment_is_chosen_again(badges_app, make_user, monkeypatch):
    app = badges_app
    _client, lena, _code = complete_course(app, make_user, "lena@example.com")
    _client, max_id, _code = complete_course(app, make_user, "max@example.com", "Max")
    taken = credential_row(app, lena).status_index
    free = next(index for index in (7, 8) if index != taken)
    chosen = iter([taken, free])  # another process takes Lena's bit between the check and the insert
    monkeypatch.setattr(issuing, "free_index", lambda _list: next(chosen))
    with app.app_context():
        _db.session.execute(delete(BadgeCredential).where(BadgeCredential.user_id == max_id))
        completion = _db.session.scalar(select(Completion).where(Completion.user_id == max_id))
        row = issuing.issue(completion)
        _db.session.commit()
        assert (row.status_list, row.status_index) == (1, free)
        assert row.document["credentialStatus"]["statusListIndex"] == str(free)
        assert verify(row.document, key_for_method)
