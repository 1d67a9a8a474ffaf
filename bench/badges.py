"""Time what an Open Badge costs: signing a credential (JSON-LD canonicalisation with the pinned contexts, then
Ed25519) and verifying it, as `course/badges/proof.py` does at a completion and in the tests.

    .venv/bin/python bench/badges.py [--n 50]

The credential is an OpenBadgeCredential of the shape `course/badges/issuing.py` writes. Prints the median and the
95th percentile per signature and per verification, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from course.badges import documents
from course.badges.keys import SigningKey, multikey, public_key
from course.badges.proof import sign, verify

SITE = "https://course.example.org"
CREDENTIAL = {
    "@context": [documents.CREDENTIALS_V2, documents.OPEN_BADGES_V3],
    "id": "urn:uuid:00000000-0000-4000-8000-000000000001",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {"id": "did:web:course.example.org", "type": ["Profile"], "name": "Founder Course", "url": SITE},
    "validFrom": "2026-12-05T04:00:00Z",
    "name": "AI founders' guide",
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
        ],  # fmt: skip
        "achievement": {
            "id": f"{SITE}/courses/ai-founder-global",
            "type": ["Achievement"],
            "achievementType": "Course",
            "name": "AI founders' guide",
            "description": "Nine chapters.",
            "criteria": {"narrative": "Every lesson complete and every quiz passed."},
        },
    },
    "evidence": [{"id": f"{SITE}/verify/abc", "type": ["Evidence"], "name": "Verification page"}],
    "credentialStatus": {
        "id": f"{SITE}/credentials/status/1#0",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "0",
        "statusListCredential": f"{SITE}/credentials/status/1",
    },
}


def timed(call, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    n = parser.parse_args().n
    private = Ed25519PrivateKey.generate()
    name = multikey(private.public_key())
    method = f"did:web:course.example.org#{name}"
    key = SigningKey(name, private)
    sign(CREDENTIAL, key, method, "2026-12-05T04:00:00Z")  # warm-up: the contexts parsed once
    signed = sign(CREDENTIAL, key, method, "2026-12-05T04:00:00Z")
    keys = {method: public_key(name)}
    assert verify(signed, keys.get)
    for label, call in (
        ("sign", lambda: sign(CREDENTIAL, key, method, "2026-12-05T04:00:00Z")),
        ("verify", lambda: verify(signed, keys.get)),
    ):
        times = sorted(timed(call, n))
        p95 = times[max(0, int(0.95 * len(times)) - 1)]
        print(f"{label:6s} median {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms   (n={n})")


if __name__ == "__main__":
    main()
