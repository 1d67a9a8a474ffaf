"""The issuer's Ed25519 keys, kept as files outside the database (BADGE_KEY_DIR, default `<instance>/badge-keys`).

Each key is named by its public key as a Multikey (`z6Mk…`): `<name>.pem` holds a private key (PKCS #8, mode
0600), `<name>.pub` a retired key's public half only, and the file `current` names the key that signs. Rotating
makes a new current key and retires the old one: its private half is deleted, its name stays, so the DID
document still lists it and the credentials it signed still verify."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import base58
from flask import current_app

# cryptography is imported where a key is read or made, not by every web worker at start (docs/PERFORMANCE.md,
# "Memory")
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519_PUB_HEADER = b"\xed\x01"  # the multicodec prefix of an Ed25519 public key (varint 0xed)
CURRENT = "current"


class NoSigningKey(RuntimeError):
    """No key to sign with, and this environment does not make one by itself: `flask badges keygen`."""


@dataclass(frozen=True)
class SigningKey:
    name: str  # the public key as a Multikey: `z` + base58btc(0xed01 ‖ 32 bytes)
    private: Ed25519PrivateKey


def multikey(public: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + base58.b58encode(ED25519_PUB_HEADER + raw).decode("ascii")


def public_key(name: str) -> Ed25519PublicKey:
    """The public key a Multikey name encodes; ValueError for anything else."""
    if not name.startswith("z"):
        raise ValueError("not a base58btc multibase value")
    raw = base58.b58decode(name[1:])
    if len(raw) != 34 or not raw.startswith(ED25519_PUB_HEADER):
        raise ValueError("not an Ed25519 Multikey")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(raw[2:])


def key_dir() -> Path:
    configured = current_app.config.get("BADGE_KEY_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "badge-keys"


def key_names(directory: Path | None = None) -> list[str]:
    """Every key's name, current and retired, oldest first (by the time its file was made: a retired key's `.pub`
    keeps its `.pem`'s), each once (while a key is being retired it has both files), for the DID document."""
    directory = directory or key_dir()
    if not directory.is_dir():
        return []
    files = [f for f in directory.iterdir() if f.suffix in (".pem", ".pub") and f.stem.startswith("z")]
    ordered = sorted(files, key=lambda f: (f.stat().st_mtime_ns, f.stem))
    return list(dict.fromkeys(f.stem for f in ordered))


def has_current_key(directory: Path | None = None) -> bool:
    return ((directory or key_dir()) / CURRENT).exists()


def current_name(directory: Path | None = None) -> str | None:
    """The name of the key that signs, without reading it (None: there is none yet)."""
    pointer = (directory or key_dir()) / CURRENT
    return pointer.read_text(encoding="ascii").strip() if pointer.exists() else None


def current_key(directory: Path | None = None) -> SigningKey:
    """The key that signs. Made on first use where BADGE_KEY_AUTOGENERATE (development, tests); else NoSigningKey."""
    directory = directory or key_dir()
    pointer = directory / CURRENT
    if not pointer.exists():
        if not current_app.config.get("BADGE_KEY_AUTOGENERATE"):
            raise NoSigningKey(f"no badge signing key in {directory}: run `flask --app course badges keygen`")
        _make_first_key(directory)
    name = pointer.read_text(encoding="ascii").strip()
    pem = (directory / f"{name}.pem").read_bytes()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private, Ed25519PrivateKey) or multikey(private.public_key()) != name:
        raise NoSigningKey(f"{directory / name}.pem is not the Ed25519 key its name says")
    return SigningKey(name, private)


def generate(directory: Path | None = None) -> str:
    """A new key, made current; the previous current key is retired (its private half deleted). Its name."""
    directory = directory or key_dir()
    old = current_name(directory)
    name = _write_key(directory)
    _write_atomically(directory / CURRENT, name)
    if old and old != name:
        retire(directory, old)
    return name


def retire(directory: Path, name: str) -> None:
    """Keep only the public half of a key: listed in the DID document, never used to sign again."""
    private = directory / f"{name}.pem"
    public = directory / f"{name}.pub"
    _write_atomically(public, name)
    if private.exists():  # the key keeps its place in the DID document: the .pub takes the .pem's time
        made = private.stat()
        os.utime(public, ns=(made.st_atime_ns, made.st_mtime_ns))
    private.unlink(missing_ok=True)


def _make_first_key(directory: Path) -> None:
    """The first key, made once even if two processes ask at the same time: the first to create `current` wins."""
    name = _write_key(directory)
    pointer = directory / f"{CURRENT}.{name}"
    pointer.write_text(name, encoding="ascii")
    try:
        os.link(pointer, directory / CURRENT)  # atomic, and refused if `current` exists: never seen half-written
    except FileExistsError:
        (directory / f"{name}.pem").unlink(missing_ok=True)  # another process made the first key
    finally:
        pointer.unlink()


def _write_key(directory: Path) -> str:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory.stat().st_mode & 0o077:  # mkdir leaves an existing folder as it was: only its owner may read it
        directory.chmod(0o700)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    name = multikey(private.public_key())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(directory / f"{name}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return name


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="ascii")
    os.replace(partial, path)
