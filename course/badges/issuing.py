"""Issuing a completion's OpenBadgeCredential (VC Data Model 2.0 + Open Badges 3.0), signed when the course is
completed (the `course_completed` signal, in the completion's transaction), once per completion. A credential that
cannot be signed then (no key, a broken key file) never costs the learner their completion: it is logged and
`flask badges issue` issues it later. Services flush, never commit."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from course import signals
from course.accounts.models import User
from course.badges.documents import CREDENTIALS_V2, OPEN_BADGES_V3
from course.badges.identity import issuer_did, method_id
from course.badges.keys import NoSigningKey, SigningKey, current_key
from course.badges.models import LIST_SIZE, BadgeCredential
from course.badges.proof import sign
from course.content.models import Course
from course.db_types import utcnow
from course.extensions import db
from course.links import external_url
from course.progress.models import Completion

log = logging.getLogger(__name__)
CRITERIA = "Every lesson complete and every quiz passed."  # in the credential: English, as its other terms
LIST_FILL = LIST_SIZE // 2  # a list takes new credentials until half its bits are used: a free bit is then quick
PLACE_ATTEMPTS = 5  # tries for a free bit when other processes take the chosen one at the same moment


def xsd_datetime(moment: datetime) -> str:
    """An xsd:dateTime in UTC to the second, as credentials write dates: 2026-12-05T04:00:00Z."""
    return moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def hashed_email(email: str, salt: str) -> str:
    """An Open Badges 3.0 IdentityHash: `sha256$` and the hex SHA-256 of the address (lower case) and the salt."""
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode("utf-8")).hexdigest()


def issuer_profile(did: str) -> dict[str, Any]:
    config = current_app.config
    url = config.get("BADGE_ISSUER_URL") or config.get("PUBLIC_URL") or config["LOCAL_URL"]
    return {"id": did, "type": ["Profile"], "name": config["BADGE_ISSUER_NAME"], "url": url}


def status_list_url(list_number: int) -> str:
    return external_url("badges.status_list", list_number=list_number)


def open_list() -> int:
    """The status list new credentials go to: the last one until half its bits are used, then a new one."""
    last = db.session.execute(
        select(BadgeCredential.status_list, func.count())
        .group_by(BadgeCredential.status_list)
        .order_by(BadgeCredential.status_list.desc())
        .limit(1)
    ).first()
    if last is None:
        return 1
    return last[0] + 1 if last[1] >= LIST_FILL else last[0]


def free_index(status_list: int) -> int:
    """A random bit of the list that no credential has: as the Bitstring Status List recommends, so a credential's
    place says nothing about when it was issued or how many were."""
    while True:
        index = secrets.randbelow(LIST_SIZE)
        taken = select(BadgeCredential.id).where(
            BadgeCredential.status_list == status_list, BadgeCredential.status_index == index
        )
        if db.session.scalar(taken) is None:
            return index


def unsigned_credential(
    completion: Completion,
    course: Course,
    user: User,
    *,
    credential_id: str,
    did: str,
    salt: str,
    issued: datetime,
    status: tuple[int, int],
) -> dict[str, Any]:
    """The credential's claims: the school issued the course's achievement to the learner (by name, their
    email only as a salted hash), evidenced by the public verification page, with its revocation status (its
    `status`: the list and the bit)."""
    snapshot = completion.snapshot or {}
    title = snapshot.get("course") or course.title
    status_list, status_index = status
    list_url = status_list_url(status_list)
    return {
        "@context": [CREDENTIALS_V2, OPEN_BADGES_V3],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer_profile(did),
        "validFrom": xsd_datetime(issued),
        "name": title,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "name": snapshot.get("name") or user.name,
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": hashed_email(user.email, salt),
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": salt,
                }
            ],
            "achievement": {
                "id": external_url("learn.outline", course_key=course.key),
                "type": ["Achievement"],
                "achievementType": "Course",
                "name": title,
                "description": course.summary or title,
                "criteria": {"narrative": CRITERIA},
            },
        },
        "evidence": [
            {
                "id": external_url("progress.verify", code=completion.verification_code),
                "type": ["Evidence"],
                "name": "Verification page",
                "narrative": f"The public page that confirms {title} was completed.",
            }
        ],
        "credentialStatus": {
            "id": f"{list_url}#{status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(status_index),
            "statusListCredential": list_url,
        },
    }


def issue(completion: Completion) -> BadgeCredential | None:
    """The completion's credential, signed and stored the first time (the unique completion decides under races).
    None when there is no key to sign with and this environment makes none (`flask badges keygen`, then
    `flask badges issue` for the completions that waited). Any other failure to sign raises."""
    found = credential_of(completion.id)
    if found is not None or completion.withdrawn_at is not None:
        return found
    try:
        key = current_key()
    except NoSigningKey as missing:
        log.warning("completion %s: no Open Badges credential issued: %s", completion.id, missing)
        return None
    for _attempt in range(PLACE_ATTEMPTS):
        status_list = open_list()
        row = _signed_row(completion, key, (status_list, free_index(status_list)))
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # issued by another process, or its bit taken by another at the same moment
            found = credential_of(completion.id)
            if found is not None:
                return found
            continue
        return row
    raise RuntimeError(f"completion {completion.id}: no free status list bit after {PLACE_ATTEMPTS} tries")


def _signed_row(completion: Completion, key: SigningKey, status: tuple[int, int]) -> BadgeCredential:
    course = db.session.get(Course, completion.course_id)
    user = db.session.get(User, completion.user_id)
    issued = utcnow()
    did = issuer_did(key.name)
    credential_id = f"urn:uuid:{uuid.uuid4()}"
    salt = secrets.token_hex(16)
    claims = unsigned_credential(
        completion, course, user, credential_id=credential_id, did=did, salt=salt, issued=issued, status=status
    )
    method = method_id(key.name)
    return BadgeCredential(
        completion_id=completion.id,
        user_id=completion.user_id,
        status_list=status[0],
        status_index=status[1],
        credential_id=credential_id,
        verification_method=method,
        issued_at=issued,
        document=sign(claims, key, method, created=xsd_datetime(issued)),
    )


def credential_of(completion_id: int) -> BadgeCredential | None:
    return db.session.scalar(select(BadgeCredential).where(BadgeCredential.completion_id == completion_id))


def issue_missing() -> int:
    """Issue a credential to every completion (not withdrawn) that has none: those completed before the key was
    made, before credentials existed, or while the key could not sign. How many were issued."""
    waiting = db.session.scalars(
        select(Completion)
        .outerjoin(BadgeCredential, BadgeCredential.completion_id == Completion.id)
        .where(BadgeCredential.id.is_(None), Completion.withdrawn_at.is_(None))
        .order_by(Completion.id)
    ).all()
    return sum(issue(completion) is not None for completion in waiting)


def resign_renamed() -> int:
    """Sign again, with the learner's name as it is now, the credentials that still carry an older one (renamed
    while the key could not sign). How many."""
    rows = db.session.execute(
        select(BadgeCredential, User.name)
        .join(User, User.id == BadgeCredential.user_id)
        .where(BadgeCredential.revoked_at.is_(None))
        .order_by(BadgeCredential.id)
    ).all()
    stale = [row for row, name in rows if row.document.get("credentialSubject", {}).get("name") != name]
    if stale:
        resign(stale, {row.id: name for row, name in rows}, current_key())
    return len(stale)


def resign(rows: list[BadgeCredential], names: dict[int, str], key: SigningKey) -> None:
    """The same claims with the learner's current name (`names` by row id), signed by the current key as the
    current issuer: the credential, its issuer and its proof then always name the same DID."""
    did, method = issuer_did(key.name), method_id(key.name)
    for row in rows:
        claims = {name: value for name, value in row.document.items() if name != "proof"}
        claims["issuer"] = issuer_profile(did)
        claims["credentialSubject"] = {**claims["credentialSubject"], "name": names[row.id]}
        row.document = sign(claims, key, method, created=xsd_datetime(utcnow()))
        row.verification_method = method
    db.session.flush()


@signals.course_completed.connect
def _completed(_sender: object, completion: Completion) -> None:
    """Issue the credential in a savepoint: whatever fails (a broken key file, a missing one mid-rotation), the
    completion and the other receivers go on; `flask badges issue` issues it later."""
    try:
        with db.session.begin_nested():
            issue(completion)
    except Exception:
        log.exception("completion %s: Open Badges credential not issued (`flask badges issue` retries)", completion.id)


@signals.user_renamed.connect
def _renamed(_sender: object, user: User) -> None:
    """A learner who corrects their name expects their badges to carry it: the same claims, signed again. If they
    cannot be signed now, the rename still happens; `flask badges issue` signs them again later."""
    rows = db.session.scalars(
        select(BadgeCredential).where(BadgeCredential.user_id == user.id, BadgeCredential.revoked_at.is_(None))
    ).all()
    if not rows:
        return
    try:
        with db.session.begin_nested():
            resign(list(rows), dict.fromkeys((row.id for row in rows), user.name), current_key())
    except NoSigningKey as missing:
        log.warning("user %s renamed: their Open Badges keep the old name: %s", user.id, missing)
    except Exception:
        log.exception("user %s renamed: their Open Badges keep the old name (`flask badges issue` retries)", user.id)
