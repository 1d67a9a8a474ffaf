"""Data Integrity proofs with the cryptosuite eddsa-rdfc-2022 (W3C vc-di-eddsa): what is signed is
SHA-256(canonical proof options) ‖ SHA-256(canonical document), each canonicalised by RDFC-1.0 (URDNA2015) over the
pinned contexts; the signature is Ed25519, written as multibase base58btc."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

import base58

from course.badges.documents import load_document
from course.badges.keys import SigningKey

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

CRYPTOSUITE = "eddsa-rdfc-2022"
# What a proof of ours says besides its method and value: an assertion (a claim the issuer makes), by this suite.
EXPECTED = {"type": "DataIntegrityProof", "cryptosuite": CRYPTOSUITE, "proofPurpose": "assertionMethod"}


@cache
def _dropped_term() -> type[Exception]:
    """`DroppedTerm`, made at its first use: pyld (with lxml and requests) is loaded only by a process that signs or
    verifies, not by every web worker at start (docs/PERFORMANCE.md, "Memory")."""
    from pyld.jsonld import JsonLdError

    class DroppedTerm(JsonLdError):
        """A property no context defines: it would not be signed, so it is refused (as jsonld.js's safe mode)."""

    DroppedTerm.__module__ = __name__
    return DroppedTerm


def __getattr__(name: str) -> Any:
    """`proof.DroppedTerm`: pyld's `JsonLdError` subclassed when first asked for."""
    if name == "DroppedTerm":
        return _dropped_term()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _refuse_dropped(name: str | None) -> None:
    raise _dropped_term()(f"{name!r} is not defined by the document's contexts", "jsonld.ValidationError")


Loader = Callable[[str, dict], dict[str, Any]]


def canonical(document: dict[str, Any], loader: Loader = load_document) -> str:
    """The document's RDF dataset in canonical N-Quads (RDFC-1.0), read with the pinned contexts only."""
    from pyld.jsonld import JsonLdProcessor

    processor = JsonLdProcessor(on_property_dropped=_refuse_dropped)
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader}
    return processor.normalize(document, options)


def _hash(document: dict[str, Any], loader: Loader) -> bytes:
    return hashlib.sha256(canonical(document, loader).encode("utf-8")).digest()


def signed_bytes(document: dict[str, Any], proof: dict[str, Any], loader: Loader = load_document) -> bytes:
    """What the signature covers: the hash of the proof's options (in the document's contexts, without its
    `proofValue`) followed by the hash of the document (without its `proof`)."""
    unsigned = {key: value for key, value in document.items() if key != "proof"}
    options = {"@context": document["@context"], **{k: v for k, v in proof.items() if k != "proofValue"}}
    return _hash(options, loader) + _hash(unsigned, loader)


def sign(
    document: dict[str, Any], key: SigningKey, method: str, created: str, loader: Loader = load_document
) -> dict[str, Any]:
    """The document with a DataIntegrityProof by `key`, named `method` (its verification method's id); `loader`
    serves its contexts (the pinned ones)."""
    proof = {
        "type": EXPECTED["type"],
        "cryptosuite": CRYPTOSUITE,
        "created": created,
        "verificationMethod": method,
        "proofPurpose": EXPECTED["proofPurpose"],
    }
    signature = key.private.sign(signed_bytes(document, proof, loader))
    return {**document, "proof": {**proof, "proofValue": "z" + base58.b58encode(signature).decode("ascii")}}


def verify(document: dict[str, Any], key_for: Callable[[str], Ed25519PublicKey | None]) -> bool:
    """Whether the document's proof is an eddsa-rdfc-2022 signature by the key its verification method names
    (`key_for` looks a method up; None: unknown). A document that cannot be read does not verify."""
    proof = document.get("proof")
    if not isinstance(proof, dict) or any(proof.get(name) != value for name, value in EXPECTED.items()):
        return False
    value, method = proof.get("proofValue"), proof.get("verificationMethod")
    if not (isinstance(value, str) and value.startswith("z") and isinstance(method, str)):
        return False
    public = key_for(method)
    if public is None:
        return False
    from cryptography.exceptions import InvalidSignature
    from pyld.jsonld import JsonLdError

    try:
        public.verify(base58.b58decode(value[1:]), signed_bytes(document, proof))
    except (InvalidSignature, ValueError, JsonLdError):
        return False
    return True
