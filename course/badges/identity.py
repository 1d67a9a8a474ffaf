"""Who signs: the issuer's DID and its verification methods.

did:web of the site when PUBLIC_URL is an https address (production): `did:web:<host>` at the root of its host,
its DID document at /.well-known/did.json; `did:web:<host>:<seg1>:<seg2>` for a site at /seg1/seg2, its document
at /seg1/seg2/did.json (the did:web method's resolution). The document lists every key, current and retired, so a
rotated key's credentials still verify and the issuer stays one identifier. Otherwise did:key (development, tests:
a did:web must be https and resolvable by anyone, which a local address is not); a did:key is its own public key,
so it cannot be rotated (`flask badges keygen --rotate` refuses)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from flask import current_app

from course.badges.documents import DID_V1, MULTIKEY_V1
from course.badges.keys import key_names, public_key

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ROOT_DOCUMENT = "/.well-known/did.json"
PATH_DOCUMENT = "/did.json"


def _public_url() -> tuple[str, list[str]] | None:
    """The host (with its port) and path segments of an https PUBLIC_URL, else None."""
    parts = urlsplit(current_app.config.get("PUBLIC_URL") or "")
    if parts.scheme != "https" or not parts.netloc:
        return None
    return parts.netloc.lower(), [segment for segment in parts.path.split("/") if segment]


def web_did() -> str | None:
    """`did:web:<host>[:<segment>…]` (a port encoded as `%3A`) for an https PUBLIC_URL, else None."""
    public = _public_url()
    if public is None:
        return None
    host, segments = public
    return ":".join(["did:web", *(quote(part, safe="") for part in (host, *segments))])


def did_document_path() -> str | None:
    """Where in the app the did:web resolves: /.well-known/did.json at the root of the host, else /did.json
    (under PUBLIC_URL's path, where the app is mounted). None without did:web."""
    public = _public_url()
    if public is None:
        return None
    return PATH_DOCUMENT if public[1] else ROOT_DOCUMENT


def issuer_did(key_name: str) -> str:
    return web_did() or f"did:key:{key_name}"


def method_id(key_name: str) -> str:
    """The verification method of a key: `<did>#<key name>`."""
    return f"{issuer_did(key_name)}#{key_name}"


def key_for_method(method: str) -> Ed25519PublicKey | None:
    """The public key a verification method names, if it is one of ours (did:web) or a well-formed did:key."""
    did, _hash, name = method.partition("#")
    web = web_did()
    try:
        if web and did == web:
            return public_key(name) if name in key_names() else None
        if did == f"did:key:{name}":
            return public_key(name)
    except ValueError:
        return None
    return None


def did_document() -> dict[str, Any] | None:
    """The did:web DID document: every key as a Multikey, each an assertion method. None without did:web."""
    did = web_did()
    if did is None:
        return None
    methods = [
        {"id": f"{did}#{name}", "type": "Multikey", "controller": did, "publicKeyMultibase": name}
        for name in key_names()
    ]
    return {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }
