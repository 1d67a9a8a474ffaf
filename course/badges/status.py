"""Revocation through a Bitstring Status List (W3C Bitstring Status List v1.0): each credential has a bit in a list
of LIST_SIZE bits, set when it is revoked; the list is served as a BitstringStatusListCredential, GZIP-compressed,
multibase base64url, signed like the credentials. Anyone may fetch a list, often: its signed credential is kept per
process until a bit, the key or the address changes. Services flush, never commit."""

from __future__ import annotations

import base64
import gzip
from typing import Any

from sqlalchemy import select, update

from course.badges.documents import CREDENTIALS_V2
from course.badges.identity import issuer_did, method_id
from course.badges.issuing import status_list_url, xsd_datetime
from course.badges.keys import current_key, current_name
from course.badges.models import LIST_SIZE, BadgeCredential
from course.badges.proof import sign
from course.db_types import utcnow
from course.extensions import db


def revoke_for_user(user_id: int) -> None:
    """Revoke every credential of an account being deleted, and erase what they said about the learner (name,
    hashed email): the row stays for its status bit."""
    db.session.execute(
        update(BadgeCredential)
        .where(BadgeCredential.user_id == user_id, BadgeCredential.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(BadgeCredential)
        .where(BadgeCredential.user_id == user_id)
        .values(document={})
        .execution_options(synchronize_session=False)
    )


def encode_bits(revoked: list[int]) -> str:
    """The list with the given bits set (bit 0 is the first byte's highest), GZIP, then multibase base64url."""
    bits = bytearray(LIST_SIZE // 8)
    for index in revoked:
        bits[index // 8] |= 0x80 >> (index % 8)
    packed = base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).rstrip(b"=")
    return "u" + packed.decode("ascii")


def decode_bits(encoded: str) -> bytes:
    packed = encoded.removeprefix("u")
    return gzip.decompress(base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)))


def list_exists(list_number: int) -> bool:
    return (
        db.session.scalar(select(BadgeCredential.id).where(BadgeCredential.status_list == list_number).limit(1))
        is not None
    )


# A list's signed credential, by its number, with what it was made from: (list URL, verification method, revoked
# bits). One per list, in this process; signing again costs an RDF canonicalisation.
_signed: dict[int, tuple[tuple[str, str, tuple[int, ...]], dict[str, Any]]] = {}


def status_list_credential(list_number: int) -> dict[str, Any]:
    """The signed BitstringStatusListCredential of a list as of now: signed again only when a bit was set, the key
    rotated or the address changed since it was last signed (a revocation is never undone)."""
    revoked = tuple(
        db.session.scalars(
            select(BadgeCredential.status_index)
            .where(BadgeCredential.status_list == list_number, BadgeCredential.revoked_at.is_not(None))
            .order_by(BadgeCredential.status_index)
        )
    )
    url = status_list_url(list_number)
    name = current_name()
    cached = _signed.get(list_number)
    if name is not None and cached is not None and cached[0] == (url, method_id(name), revoked):
        return cached[1]
    key = current_key()
    document = {
        "@context": [CREDENTIALS_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_did(key.name),
        "validFrom": xsd_datetime(utcnow()),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_bits(list(revoked)),
        },
    }
    signed = sign(document, key, method_id(key.name), created=document["validFrom"])
    _signed[list_number] = ((url, method_id(key.name), revoked), signed)
    return signed
