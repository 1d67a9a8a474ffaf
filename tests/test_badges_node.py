"""The independent verifier: Digital Bazaar's @digitalbazaar/vc with the eddsa-rdfc-2022 cryptosuite and the
Bitstring Status List library (tests/badges, installed by `make setup`), run under Node, offline: its document loader
serves only the pinned contexts, our DID document and our status list, as the app serves them."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import new_client
from sqlalchemy import select
from test_badges_issuing import PUBLIC, complete_course, credential_row

from course.accounts.models import User
from course.badges import documents
from course.extensions import db as _db
from course.privacy.deletion import delete_account

VERIFIER = Path(__file__).resolve().parent / "badges"
NODE = shutil.which("node")
pytestmark = [
    pytest.mark.skipif(NODE is None, reason="Node.js is not installed: the independent verifier runs under Node"),
    pytest.mark.skipif(
        not (VERIFIER / "node_modules" / "@digitalbazaar" / "vc").is_dir(),
        reason="the verifier's npm packages are not installed in tests/badges: run `make setup`",
    ),
]


def run_verifier(tmp_path: Path, served: dict[str, dict], credentials: list[dict]) -> list[dict]:
    pinned = {url: documents.context(url) for url in documents.FILES}
    request = tmp_path / "verify.json"
    request.write_text(json.dumps({"documents": {**pinned, **served}, "credentials": credentials}), encoding="utf-8")
    result = subprocess.run(
        [NODE, str(VERIFIER / "verify.mjs"), str(request)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("public", "did_path"),
    [(PUBLIC, "/.well-known/did.json"), ("https://school.example.org/courses/founder", "/did.json")],
    ids=["did-web-at-the-root", "did-web-at-a-path"],
)
def test_digital_bazaars_verifier_accepts_our_credentials_and_refuses_a_tampered_or_revoked_one(
    app, loaded_course, make_user, tmp_path, public, did_path
):
    app.config.update(PUBLIC_URL=public, BADGE_KEY_DIR=str(tmp_path / "keys"))
    _client, lena, _code = complete_course(app, make_user, "lena@example.com")
    assert app.test_cli_runner().invoke(args=["badges", "keygen", "--rotate"]).exit_code == 0  # Lena's key is retired
    _client, max_id, _code = complete_course(app, make_user, "max@example.com", "Max")
    valid = credential_row(app, lena).document
    revoked = credential_row(app, max_id).document  # as Max downloaded it, before he deleted his account
    with app.app_context():
        user = _db.session.scalar(select(User).where(User.id == max_id))
        delete_account(user, by=user)
        _db.session.commit()
    tampered = copy.deepcopy(valid)
    tampered["credentialSubject"]["achievement"]["name"] = "A course never taken"

    anyone = new_client(app)
    did = anyone.get(did_path).get_json()
    assert valid["issuer"]["id"] == revoked["issuer"]["id"] == did["id"]  # one issuer across the rotation
    status_url = valid["credentialStatus"]["statusListCredential"]
    status = anyone.get(status_url.removeprefix(public)).get_json()
    assert status_url == revoked["credentialStatus"]["statusListCredential"]
    results = run_verifier(tmp_path, {did["id"]: did, status_url: status}, [valid, tampered, revoked])

    assert results[0] == {"verified": True, "error": None, "revoked": False}, results[0]
    assert results[1]["verified"] is False and "signature" in results[1]["error"].lower(), results[1]
    assert results[2]["verified"] is True and results[2]["revoked"] is True, results[2]  # signed, and revoked


def test_the_verifier_refuses_a_credential_whose_context_it_was_not_given(app, loaded_course, make_user, tmp_path):
    app.config.update(PUBLIC_URL=PUBLIC, BADGE_KEY_DIR=str(tmp_path / "keys"))
    _client, lena, _code = complete_course(app, make_user, "lena@example.com")
    credential = credential_row(app, lena).document
    credential["@context"] = [*credential["@context"], "https://evil.example/context.jsonld"]
    did = new_client(app).get("/.well-known/did.json").get_json()
    [result] = run_verifier(tmp_path, {did["id"]: did}, [credential])
    assert result["verified"] is False and "evil.example" in result["error"], result
