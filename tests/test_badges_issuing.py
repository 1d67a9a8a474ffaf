"""Open Badges credentials through the app: issued once when a course is completed, downloaded from the summary and
the verification page, revoked through the status list when the account is deleted, still verifying after the key
is rotated (did:web, at the root of a host or at a path; a did:key is never rotated); production never makes a key
by itself; a key that cannot sign costs no learner their completion or their rename."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURE_COURSE, RIGHT_ANSWERS, complete_lessons, do_login, new_client, submit_quiz
from sqlalchemy import func, select

from course.accounts.models import User
from course.accounts.services import rename
from course.badges.identity import key_for_method
from course.badges.issuing import hashed_email, issue
from course.badges.keys import current_key, key_names
from course.badges.models import BadgeCredential
from course.badges.proof import verify
from course.badges.status import decode_bits
from course.extensions import db as _db
from course.privacy.deletion import delete_account
from course.progress.models import Completion

PUBLIC = "https://course.example.org"
DID = "did:web:course.example.org"
LESSONS = ("welcome", "models", "data", "tuning", "pricing", "growth")


@pytest.fixture
def badges_app(app, loaded_course, tmp_path):
    """The app as deployed: a public https address (so the issuer is did:web), its keys in a folder of the test."""
    app.config.update(PUBLIC_URL=PUBLIC, BADGE_KEY_DIR=str(tmp_path / "keys"))
    return app


def complete_course(app, make_user, email: str, name: str = "Lena Learner"):
    """A learner who completed the course: her logged-in client, her id and her verification code."""
    user = make_user(email=email, name=name)
    client = new_client(app)
    assert do_login(client, email).status_code == 302
    complete_lessons(client, *LESSONS)
    for quiz, answers in RIGHT_ANSWERS.items():
        assert submit_quiz(client, quiz, answers).status_code == 302
    with app.app_context():
        code = _db.session.scalar(select(Completion.verification_code).where(Completion.user_id == user.id))
    return client, user.id, code


def credential_row(app, user_id: int) -> BadgeCredential:
    with app.app_context():
        row = _db.session.scalar(select(BadgeCredential).where(BadgeCredential.user_id == user_id))
        _db.session.expunge_all()
        return row


def break_key(app) -> tuple[Path, bytes]:
    """Spoil the current key's file (made first if need be), as a bad copy or a disk error would: its path and
    its good bytes."""
    with app.app_context():
        pem = Path(app.config["BADGE_KEY_DIR"]) / f"{current_key().name}.pem"
    good = pem.read_bytes()
    pem.write_bytes(b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    return pem, good


def verifies(app, document: dict) -> bool:
    with app.app_context():
        return verify(document, key_for_method)


def test_completing_the_course_issues_one_signed_open_badge(badges_app, make_user):
    app = badges_app
    client, user_id, code = complete_course(app, make_user, "Lena@Example.com")
    row = credential_row(app, user_id)
    credential = row.document
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"] == {"id": DID, "type": ["Profile"], "name": "Founder Course", "url": PUBLIC}
    subject = credential["credentialSubject"]
    assert subject["name"] == "Lena Learner"
    assert subject["achievement"]["criteria"]["narrative"] == "Every lesson complete and every quiz passed."
    [identity] = subject["identifier"]
    assert identity["identityHash"] == hashed_email("lena@example.com", identity["salt"])
    assert "example.com" not in json.dumps(credential)  # the email only as its salted hash
    assert credential["evidence"][0]["id"] == f"{PUBLIC}/verify/{code}"
    assert credential["credentialStatus"]["statusListCredential"] == f"{PUBLIC}/credentials/status/{row.status_list}"
    assert credential["credentialStatus"]["statusListIndex"] == str(row.status_index)
    assert credential["proof"]["verificationMethod"] == f"{DID}#{key_names(Path(app.config['BADGE_KEY_DIR']))[0]}"
    assert verifies(app, credential)

    with app.app_context():  # issuing again, e.g. by `flask badges issue`, gives the same credential
        again = issue(_db.session.get(Completion, row.completion_id))
        assert again.id == row.id and again.document == credential
        assert _db.session.scalar(select(func.count()).select_from(BadgeCredential)) == 1

    summary = client.get(f"/courses/{FIXTURE_COURSE}/summary").get_data(as_text=True)
    assert f"/courses/{FIXTURE_COURSE}/summary/badge.json" in summary
    for url in (f"/courses/{FIXTURE_COURSE}/summary/badge.json", f"/verify/{code}/badge.json"):
        response = new_client(app).get(url) if url.startswith("/verify") else client.get(url)
        assert response.status_code == 200
        assert response.headers["Content-Disposition"] == f'attachment; filename="{FIXTURE_COURSE}-open-badge.json"'
        assert response.get_json() == credential
    page = new_client(app).get(f"/verify/{code}").get_data(as_text=True)
    assert "Its Open Badge credential is valid." in page and f"/verify/{code}/badge.json" in page


def test_the_did_document_and_the_status_list_are_served_and_signed(badges_app, make_user):
    app = badges_app
    _client, user_id, _code = complete_course(app, make_user, "lena@example.com")
    anyone = new_client(app)
    did = anyone.get("/.well-known/did.json")
    assert did.status_code == 200 and did.mimetype == "application/did+json"
    document = did.get_json()
    [name] = key_names(Path(app.config["BADGE_KEY_DIR"]))
    assert document["id"] == DID
    assert document["verificationMethod"] == [
        {"id": f"{DID}#{name}", "type": "Multikey", "controller": DID, "publicKeyMultibase": name}
    ]
    assert document["assertionMethod"] == [f"{DID}#{name}"]
    status = anyone.get("/credentials/status/1").get_json()
    assert status["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert status["issuer"] == DID and status["credentialSubject"]["statusPurpose"] == "revocation"
    assert not any(decode_bits(status["credentialSubject"]["encodedList"]))
    assert verifies(app, status)
    assert anyone.get("/credentials/status/2").status_code == 404  # no credential has a bit there


def test_deleting_the_account_revokes_the_credential_and_erases_its_content(badges_app, make_user):
    app = badges_app
    _client, user_id, code = complete_course(app, make_user, "lena@example.com")
    issued = credential_row(app, user_id)
    with app.app_context():
        user = _db.session.get(User, user_id)
        delete_account(user, by=user)
        _db.session.commit()
    row = credential_row(app, user_id)
    assert row.revoked_at is not None and row.document == {}  # the bit stays, the name and hash are gone
    assert (row.status_list, row.status_index) == (issued.status_list, issued.status_index)
    anyone = new_client(app)
    status = anyone.get(f"/credentials/status/{row.status_list}").get_json()
    bits = decode_bits(status["credentialSubject"]["encodedList"])
    assert bits[row.status_index // 8] & (0x80 >> (row.status_index % 8))
    assert sum(map(bool, bits)) == 1
    page = anyone.get(f"/verify/{code}")
    assert page.status_code == 410 and "Its Open Badge credential is revoked." in page.get_data(as_text=True)
    assert anyone.get(f"/verify/{code}/badge.json").status_code == 410
    assert verifies(app, issued.document)  # the signature is still good: the status list says it is revoked


def test_after_rotation_the_did_document_lists_both_keys_and_the_old_credential_still_verifies(badges_app, make_user):
    app = badges_app
    keys = Path(app.config["BADGE_KEY_DIR"])
    _client, first_id, _code = complete_course(app, make_user, "lena@example.com")
    [old] = key_names(keys)
    result = app.test_cli_runner().invoke(args=["badges", "keygen", "--rotate"])
    assert result.exit_code == 0, result.output
    [new] = [name for name in key_names(keys) if name != old]
    assert new in result.output and not (keys / f"{old}.pem").exists()  # the retired key can no longer sign
    listed = new_client(app).get("/.well-known/did.json").get_json()
    assert {m["publicKeyMultibase"] for m in listed["verificationMethod"]} == {old, new}
    assert set(listed["assertionMethod"]) == {f"{DID}#{old}", f"{DID}#{new}"}
    _client, second_id, _code = complete_course(app, make_user, "max@example.com", "Max")
    first, second = credential_row(app, first_id), credential_row(app, second_id)
    assert first.document["proof"]["verificationMethod"] == f"{DID}#{old}"
    assert second.document["proof"]["verificationMethod"] == f"{DID}#{new}"
    assert verifies(app, first.document) and verifies(app, second.document)
    status = new_client(app).get("/credentials/status/1").get_json()
    assert status["proof"]["verificationMethod"] == f"{DID}#{new}" and verifies(app, status)


def test_production_makes_no_key_by_itself_and_issues_what_waited_once_there_is_one(badges_app, make_user):
    app = badges_app
    app.config["BADGE_KEY_AUTOGENERATE"] = False
    client, user_id, code = complete_course(app, make_user, "lena@example.com")  # the completion still happens
    assert credential_row(app, user_id) is None
    assert not Path(app.config["BADGE_KEY_DIR"]).exists()
    assert f"/courses/{FIXTURE_COURSE}/summary/badge.json" not in client.get(f"/courses/{FIXTURE_COURSE}/summary").text
    assert client.get(f"/courses/{FIXTURE_COURSE}/summary/badge.json").status_code == 404
    assert new_client(app).get(f"/verify/{code}/badge.json").status_code == 404
    runner = app.test_cli_runner()
    assert runner.invoke(args=["badges", "keygen"]).exit_code == 0
    refused = runner.invoke(args=["badges", "keygen"])  # run again by a deploy script: the key stays
    assert refused.exit_code != 0 and "--rotate" in refused.output
    assert len(key_names(Path(app.config["BADGE_KEY_DIR"]))) == 1
    result = runner.invoke(args=["badges", "issue"])
    assert result.exit_code == 0 and "issued 1 credentials" in result.output
    assert verifies(app, credential_row(app, user_id).document)
    assert "issued 0 credentials" in runner.invoke(args=["badges", "issue"]).output


def test_a_learner_who_corrects_their_name_gets_their_badge_signed_again_with_it(badges_app, make_user):
    app = badges_app
    client, user_id, _code = complete_course(app, make_user, "lena@example.com", "Lena Lerner")
    before = credential_row(app, user_id).document
    with app.app_context():
        rename(_db.session.get(User, user_id), "Lena Learner")
        _db.session.commit()
    after = client.get(f"/courses/{FIXTURE_COURSE}/summary/badge.json").get_json()
    assert after["credentialSubject"]["name"] == "Lena Learner" and verifies(app, after)
    assert {**after, "proof": None, "credentialSubject": None} == {**before, "proof": None, "credentialSubject": None}


def test_without_a_public_https_address_the_issuer_is_a_did_key(app, loaded_course, make_user, tmp_path):
    app.config.update(BADGE_KEY_DIR=str(tmp_path / "keys"))  # development: no PUBLIC_URL
    _client, user_id, _code = complete_course(app, make_user, "lena@example.com")
    credential = credential_row(app, user_id).document
    [name] = key_names(tmp_path / "keys")
    assert credential["issuer"]["id"] == f"did:key:{name}"
    assert credential["proof"]["verificationMethod"] == f"did:key:{name}#{name}"
    assert verifies(app, credential)
    assert new_client(app).get("/.well-known/did.json").status_code == 404


def test_a_key_that_cannot_sign_costs_no_completion_and_flask_badges_issue_issues_it_later(
    badges_app, make_user, caplog
):
    app = badges_app
    pem, good = break_key(app)
    client, user_id, code = complete_course(app, make_user, "lena@example.com")  # every quiz answered 302, not 500
    assert code is not None and credential_row(app, user_id) is None  # completed, without a credential yet
    assert "Open Badges credential not issued" in caplog.text
    assert client.get(f"/courses/{FIXTURE_COURSE}/summary").status_code == 200
    assert new_client(app).get("/credentials/status/1").status_code == 404  # no credential has a bit there yet
    pem.write_bytes(good)
    result = app.test_cli_runner().invoke(args=["badges", "issue"])
    assert result.exit_code == 0 and "issued 1 credentials" in result.output, result.output
    assert verifies(app, credential_row(app, user_id).document)


def test_a_key_that_cannot_sign_does_not_stop_a_rename_and_flask_badges_issue_signs_it_again_later(
    badges_app, make_user
):
    app = badges_app
    client, user_id, _code = complete_course(app, make_user, "lena@example.com", "Lena Lerner")
    pem, good = break_key(app)
    (pem.parent / f"{pem.stem}.pem").unlink()  # a key missing mid-rotation
    response = client.post("/account/name", data={"profile-name": "Lena Learner"})
    assert response.status_code == 303
    with app.app_context():
        assert _db.session.get(User, user_id).name == "Lena Learner"
    kept = credential_row(app, user_id).document
    assert kept["credentialSubject"]["name"] == "Lena Lerner"  # as it was
    assert new_client(app).get("/credentials/status/1").status_code == 503  # cannot be signed: said so, no 500
    pem.write_bytes(good)
    assert verifies(app, kept)  # and still good
    result = app.test_cli_runner().invoke(args=["badges", "issue"])
    assert "issued 0 credentials; signed 1 again with a corrected name" in result.output, result.output
    again = credential_row(app, user_id).document
    assert again["credentialSubject"]["name"] == "Lena Learner" and verifies(app, again)


def test_a_site_at_a_path_is_a_did_web_with_its_document_under_that_path_and_rotates(
    app, loaded_course, make_user, tmp_path
):
    public, did = "https://school.example.org:8443/courses/founder", "did:web:school.example.org%3A8443:courses:founder"
    app.config.update(PUBLIC_URL=public, BADGE_KEY_DIR=str(tmp_path / "keys"))
    _client, first_id, _code = complete_course(app, make_user, "lena@example.com")
    assert app.test_cli_runner().invoke(args=["badges", "keygen", "--rotate"]).exit_code == 0
    _client, second_id, _code = complete_course(app, make_user, "max@example.com", "Max")
    anyone = new_client(app)
    assert anyone.get("/.well-known/did.json").status_code == 404  # not where `did:web:host:courses:founder` resolves
    document = anyone.get("/did.json")  # https://school.example.org:8443/courses/founder/did.json
    assert document.status_code == 200 and document.get_json()["id"] == did
    old, new = (m["publicKeyMultibase"] for m in document.get_json()["verificationMethod"])
    first, second = credential_row(app, first_id).document, credential_row(app, second_id).document
    assert first["issuer"]["id"] == second["issuer"]["id"] == did  # one issuer across the rotation
    assert first["proof"]["verificationMethod"] == f"{did}#{old}" and verifies(app, first)
    assert second["proof"]["verificationMethod"] == f"{did}#{new}" and verifies(app, second)
    status = anyone.get("/credentials/status/1").get_json()
    assert first["credentialStatus"]["statusListCredential"] == f"{public}/credentials/status/1"
    assert status["issuer"] == did and status["proof"]["verificationMethod"] == f"{did}#{new}"


def test_a_did_key_issuer_refuses_to_rotate(app, loaded_course, tmp_path):
    app.config.update(PUBLIC_URL="http://localhost:5000", BADGE_KEY_DIR=str(tmp_path / "keys"))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["badges", "keygen"]).exit_code == 0
    refused = runner.invoke(args=["badges", "keygen", "--rotate"])
    assert refused.exit_code != 0 and "rotation needs a did:web issuer" in refused.output
    assert len(key_names(tmp_path / "keys")) == 1


def test_signed_again_on_a_rename_a_credential_names_the_current_issuer_as_its_proof_does(
    app, loaded_course, make_user, tmp_path
):
    app.config.update(BADGE_KEY_DIR=str(tmp_path / "keys"))  # issued in development: a did:key
    _client, user_id, _code = complete_course(app, make_user, "lena@example.com", "Lena Lerner")
    assert credential_row(app, user_id).document["issuer"]["id"].startswith("did:key:")
    app.config.update(PUBLIC_URL=PUBLIC)  # the site now has its https address: the issuer is its did:web
    with app.app_context():
        rename(_db.session.get(User, user_id), "Lena Learner")
        _db.session.commit()
    after = credential_row(app, user_id).document
    assert after["issuer"]["id"] == DID and after["proof"]["verificationMethod"].startswith(f"{DID}#")
    assert verifies(app, after)


def test_the_summary_says_the_badge_holds_a_salted_hash_of_the_email(badges_app, make_user):
    client, _user_id, _code = complete_course(badges_app, make_user, "lena@example.com")
    page = client.get(f"/courses/{FIXTURE_COURSE}/summary").get_data(as_text=True)
    assert "nothing else" not in page  # the verification page offers the badge, and the badge holds the hash
    assert "your email address only as a salted hash" in page
