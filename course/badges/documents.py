"""The JSON-LD contexts a credential is read with, pinned as files in `contexts/` (their sources: SOURCES.md), and
the document loader that serves only those: a context is never fetched, an unknown URL is refused."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "contexts"

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OPEN_BADGES_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
DID_V1 = "https://www.w3.org/ns/did/v1"

FILES = {
    CREDENTIALS_V2: "credentials-v2.jsonld",
    OPEN_BADGES_V3: "ob-v3p0-context-3.0.3.json",
    DATA_INTEGRITY_V2: "data-integrity-v2.jsonld",
    MULTIKEY_V1: "multikey-v1.jsonld",
    DID_V1: "did-v1.jsonld",
}


@cache
def _unknown_context() -> type[Exception]:
    """`UnknownContext`, made at its first use: pyld (with lxml and requests) is loaded only by a process that reads
    JSON-LD, not by every web worker at start (docs/PERFORMANCE.md, "Memory")."""
    from pyld.jsonld import JsonLdError

    class UnknownContext(JsonLdError):
        """A document named a context that is not pinned here."""

    UnknownContext.__module__ = __name__
    return UnknownContext


def __getattr__(name: str) -> Any:
    """`documents.UnknownContext`: pyld's `JsonLdError` subclassed when first asked for."""
    if name == "UnknownContext":
        return _unknown_context()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def context(url: str) -> dict[str, Any]:
    """The pinned context at `url` (parsed once per process)."""
    return json.loads((HERE / FILES[url]).read_text(encoding="utf-8"))


def load_document(url: str, options: dict | None = None) -> dict[str, Any]:
    """pyld's document loader: the pinned file, else an error (never the network)."""
    if url not in FILES:
        raise _unknown_context()(
            f"refusing to load {url!r}: only the pinned contexts are read",
            "jsonld.LoadDocumentError",
            {"url": url},
            code="loading document failed",
        )
    return {"contextUrl": None, "documentUrl": url, "document": context(url), "contentType": "application/ld+json"}
