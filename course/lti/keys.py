"""The tool's RSA key: made by `flask lti keygen`, kept as PEM files in LTI_KEY_DIR (outside the database), and
published as a JWK set at /lti/jwks for the platforms to check what the tool signs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import current_app

PRIVATE_FILE = "tool-private.pem"
PUBLIC_FILE = "tool-public.pem"


class MissingKey(RuntimeError):
    """The tool has no key yet: run `flask --app course lti keygen`."""


def key_dir() -> Path:
    return Path(current_app.config["LTI_KEY_DIR"])


def generate(directory: Path, *, overwrite: bool = False) -> Path:
    """Write a new 2048-bit RSA key pair into `directory` (the private key readable by its owner only)."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / PRIVATE_FILE
    if private_path.exists() and not overwrite:
        raise FileExistsError(private_path)
    from cryptography.hazmat.primitives import serialization  # `flask lti keygen` only
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an existing file (--force) keeps its mode through O_TRUNC
        handle.write(private_pem)
    (directory / PUBLIC_FILE).write_bytes(public_pem)
    return private_path


def private_pem() -> str:
    path = key_dir() / PRIVATE_FILE
    if not path.exists():
        raise MissingKey(str(path))
    return path.read_text()


def public_pem() -> str:
    path = key_dir() / PUBLIC_FILE
    if not path.exists():
        raise MissingKey(str(path))
    return path.read_text()


def jwks() -> dict[str, list[dict[str, Any]]]:
    """The tool's public keys as a JWK set; `kid` is the key's RFC 7638 thumbprint (what pylti1p3 signs with)."""
    from pylti1p3.registration import Registration  # pylti1p3 is loaded when the tool is used, not at start

    try:
        return {"keys": [dict(Registration.get_jwk(public_pem()))]}
    except MissingKey:
        return {"keys": []}
