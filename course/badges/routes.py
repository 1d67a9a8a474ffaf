"""The issuer's public documents: its DID document (did:web) and the revocation status lists."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, request

from course.badges.downloads import json_response
from course.badges.identity import PATH_DOCUMENT, ROOT_DOCUMENT, did_document, did_document_path
from course.badges.keys import NoSigningKey
from course.badges.status import list_exists, status_list_credential

bp = Blueprint("badges", __name__)
log = logging.getLogger(__name__)
STATUS_MAX_AGE = 300  # seconds a verifier or a cache may keep a status list: a revocation shows within this


@bp.route(ROOT_DOCUMENT)
@bp.route(PATH_DOCUMENT)
def did_json():
    """The DID document where its did:web resolves: /.well-known/did.json for a site at the root of its host,
    <its path>/did.json for one at a path. 404 at the other address, and when the issuer is a did:key."""
    document = did_document()
    if document is None or request.path != did_document_path():
        abort(404)
    return json_response(document, "application/did+json")


@bp.route("/credentials/status/<int:list_number>")
def status_list(list_number: int):
    if not list_exists(list_number):
        abort(404)
    try:
        document = status_list_credential(list_number)
    except NoSigningKey:
        abort(503)
    except (OSError, ValueError):  # the key file unreadable, or not a key: the operator's to fix (logged)
        log.exception("status list %s: cannot be signed", list_number)
        abort(503)
    response = json_response(document)
    response.headers["Cache-Control"] = f"public, max-age={STATUS_MAX_AGE}"
    response.add_etag()
    return response.make_conditional(request)
