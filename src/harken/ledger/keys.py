"""The hub's Ed25519 signing keys, kept as PEM files outside the database (HARKEN_DATA_DIR/keys).

The newest key signs; every key stays published in the JWKS so old receipts keep verifying.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from harken import jws


@dataclass(frozen=True)
class KeyRing:
    active_kid: str
    private: dict[str, Ed25519PrivateKey]

    @property
    def active(self) -> Ed25519PrivateKey:
        return self.private[self.active_kid]

    @property
    def public(self) -> dict[str, Ed25519PublicKey]:
        return {kid: key.public_key() for kid, key in self.private.items()}

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [jws.public_jwk(key) for key in self.public.values()]}

    def sign(self, payload: bytes, *, typ: str) -> str:
        return jws.sign({"kid": self.active_kid, "typ": typ}, payload, self.active)


def load_or_create(directory: Path) -> KeyRing:
    """The key ring in `directory`, creating the first key if there is none.

    Safe when several server processes start at once: the key file is created exclusively,
    and a process that loses the race reads the winner's key.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not any(directory.glob("*.pem")):
        rotate(directory)
    return load(directory)


def load(directory: Path) -> KeyRing:
    """The key ring in `directory`; FileNotFoundError if it holds no key (verifying must never create one)."""
    if not any(directory.glob("*.pem")):
        raise FileNotFoundError(
            f"no signing keys in {directory}: set HARKEN_DATA_DIR to the hub's data directory"
        )
    private: dict[str, Ed25519PrivateKey] = {}
    newest: tuple[float, str] | None = None
    for path in sorted(directory.glob("*.pem")):
        key = load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        kid = jws.public_jwk(key.public_key())["kid"]
        private[kid] = key
        stamp = (path.stat().st_mtime, kid)
        newest = max(newest, stamp) if newest else stamp
    assert newest is not None
    return KeyRing(active_kid=newest[1], private=private)


def rotate(directory: Path) -> str:
    """Create a new signing key in `directory`; it signs from the next start on. Returns its kid."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    kid = jws.public_jwk(key.public_key())["kid"]
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path = directory / f"{kid}.pem"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return kid
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return kid
