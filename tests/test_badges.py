"""Open Badges credentials, below the web: the pinned contexts, the offline document loader, and the
eddsa-rdfc-2022 proof — against the W3C vc-di-eddsa test vector, and a pinned proof of a fixed credential."""

from __future__ import annotations

import ast
import copy
import hashlib
import os
import re
from pathlib import Path

import base58
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyld.jsonld import JsonLdError

from course.badges import documents, keys
from course.badges.keys import SigningKey, multikey, public_key
from course.badges.proof import DroppedTerm, canonical, sign, signed_bytes, verify
from course.badges.status import decode_bits, encode_bits

# The vc-di-eddsa specification's test vector for eddsa-rdfc-2022 (as in Digital Bazaar's test-vectors.js).
SPEC_SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
SPEC_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
SPEC_EXAMPLES_CONTEXT = "https://www.w3.org/ns/credentials/examples/v2"
SPEC_CREDENTIAL = {
    "@context": [documents.CREDENTIALS_V2, SPEC_EXAMPLES_CONTEXT],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}
SPEC_PROOF_VALUE = "z2YwC8z3ap7yx1nZYCg4L3j3ApHsF8kgPdSb5xoS1VR7vPG3F561B52hYnQF9iseabecm3ijx4K1FBTQsCZahKZme"

# Our own fixed credential, signed by a fixed key: its proofValue must never change by accident (a context file,
# pyld or the way the proof is built changed: every credential issued before would stop verifying).
FIXED_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
FIXED_CREDENTIAL = {
    "@context": [documents.CREDENTIALS_V2, documents.OPEN_BADGES_V3],
    "id": "urn:uuid:00000000-0000-4000-8000-000000000001",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {
        "id": "did:web:course.example.org",
        "type": ["Profile"],
        "name": "Founder Course",
        "url": "https://course.example.org",
    },
    "validFrom": "2026-12-05T04:00:00Z",
    "name": "Startup basics",
    "credentialSubject": {
        "type": ["AchievementSubject"],
        "name": "Lena Learner",
        "identifier": [
            {
                "type": "IdentityObject",
                "identityHash": "sha256$0f",
                "identityType": "emailAddress",
                "hashed": True,
                "salt": "00",
            }
        ],
        "achievement": {
            "id": "https://course.example.org/courses/startup",
            "type": ["Achievement"],
            "achievementType": "Course",
            "name": "Startup basics",
            "description": "Ten lessons.",
            "criteria": {"narrative": "Every lesson complete and every quiz passed."},
        },
    },
    "evidence": [{"id": "https://course.example.org/verify/abc", "type": ["Evidence"], "name": "Verification page"}],
    "credentialStatus": {
        "id": "https://course.example.org/credentials/status/1#0",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "0",
        "statusListCredential": "https://course.example.org/credentials/status/1",
    },
}
FIXED_PROOF_VALUE = "z5c6LhW8vqLHQJrzDYD4goMhHZ8peqFnnnXrte6XxCJ2PSoutAXEsENrhmreGaEwhmGPBxr1PPVTXXdfbiJmdadQQ"


def spec_loader(url: str, options: dict | None = None) -> dict:
    if url == SPEC_EXAMPLES_CONTEXT:  # the examples context of the specification: a @vocab only
        document = {"@context": {"@vocab": "https://www.w3.org/ns/credentials/examples#"}}
        return {"contextUrl": None, "documentUrl": url, "document": document}
    return documents.load_document(url, options)


def test_each_pinned_context_is_the_file_its_source_names():
    sources = (documents.HERE / "SOURCES.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (https://\S+) \| \S+ \| .+ \| ([0-9a-f]{64}) \|$", sources, re.MULTILINE))
    assert set(rows) == set(documents.FILES)
    for url, name in documents.FILES.items():
        assert hashlib.sha256(Path(documents.HERE, name).read_bytes()).hexdigest() == rows[url], name


def test_an_unknown_context_is_refused_never_fetched():
    with pytest.raises(documents.UnknownContext):
        documents.load_document("https://evil.example/context.jsonld")
    with pytest.raises(JsonLdError):
        canonical({"@context": [documents.CREDENTIALS_V2, "https://evil.example/v1"], "name": "x"})


def test_a_term_no_context_defines_is_refused_not_silently_left_unsigned():
    with pytest.raises(JsonLdError) as refused:
        canonical({"@context": [documents.CREDENTIALS_V2], "type": ["VerifiableCredential"], "nickname": "x"})
    causes, error = [], refused.value
    while error is not None:
        causes.append(error)
        error = error.__cause__
    assert any(isinstance(cause, DroppedTerm) for cause in causes)


def test_the_specification_test_vector_signs_to_its_proof_value():
    raw = base58.b58decode(SPEC_SECRET[1:])
    assert raw[:2] == b"\x80\x26"  # multicodec ed25519-priv
    private = Ed25519PrivateKey.from_private_bytes(raw[2:])
    assert multikey(private.public_key()) == SPEC_PUBLIC
    method = f"did:key:{SPEC_PUBLIC}#{SPEC_PUBLIC}"
    signed = sign(SPEC_CREDENTIAL, SigningKey(SPEC_PUBLIC, private), method, "2023-02-24T23:36:38Z", spec_loader)
    assert signed["proof"]["proofValue"] == SPEC_PROOF_VALUE


def test_a_fixed_credential_signs_to_its_pinned_proof_value_and_verifies():
    name = multikey(FIXED_KEY.public_key())
    method = f"did:web:course.example.org#{name}"
    signed = sign(FIXED_CREDENTIAL, SigningKey(name, FIXED_KEY), method, "2026-12-05T04:00:00Z")
    assert signed["proof"]["proofValue"] == FIXED_PROOF_VALUE
    keys = {method: public_key(name)}
    assert verify(signed, keys.get)
    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["name"] = "Mallory"
    assert not verify(tampered, keys.get)
    assert not verify({**signed, "proof": {**signed["proof"], "verificationMethod": "did:web:other#x"}}, keys.get)


def test_the_status_bitstring_is_gzip_base64url_with_bit_zero_first():
    encoded = encode_bits([0, 9, 131_071])
    assert encoded.startswith("u") and "=" not in encoded
    bits = decode_bits(encoded)
    assert len(bits) * 8 == 131_072
    assert bits[0] == 0x80 and bits[1] == 0x40 and bits[-1] == 0x01 and sum(map(bool, bits)) == 3


@pytest.mark.parametrize("changed", [{"proofPurpose": "authentication"}, {"cryptosuite": "eddsa-2022"}])
def test_a_good_signature_on_a_proof_that_is_not_our_kind_of_assertion_does_not_verify(changed):
    name = multikey(FIXED_KEY.public_key())
    method = f"did:web:course.example.org#{name}"
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-12-05T04:00:00Z",
        "verificationMethod": method,
        "proofPurpose": "assertionMethod",
        **changed,
    }
    value = "z" + base58.b58encode(FIXED_KEY.sign(signed_bytes(FIXED_CREDENTIAL, proof))).decode("ascii")
    assert not verify({**FIXED_CREDENTIAL, "proof": {**proof, "proofValue": value}}, {method: public_key(name)}.get)


def test_the_keys_are_listed_oldest_first_each_once_and_their_folder_only_its_owner_reads(app, tmp_path):
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)  # made before, by hand or by a deploy tool
    with app.app_context():
        first = keys.generate(directory)
        assert directory.stat().st_mode & 0o777 == 0o700
        made = (directory / f"{first}.pem").stat()
        os.utime(directory / f"{first}.pem", ns=(made.st_atime_ns, made.st_mtime_ns - 3_600 * 10**9))  # an hour ago
        (directory / f"{first}.pub").write_text(first, encoding="ascii")  # as while it is being retired: both files
        assert keys.key_names(directory) == [first]
        second = keys.generate(directory)  # retires the first: its .pub is written after the second's .pem
        assert keys.key_names(directory) == [first, second]
        assert not (directory / f"{first}.pem").exists() and keys.current_name(directory) == second


def test_the_summary_views_take_the_download_helper_from_below_not_from_another_blueprints_routes():
    source = Path(__file__).resolve().parent.parent / "course" / "learn" / "summary.py"
    imported = {node.module for node in ast.walk(ast.parse(source.read_text())) if isinstance(node, ast.ImportFrom)}
    assert "course.badges.downloads" in imported and "course.badges.routes" not in imported
