"""An agent's bearer tokens: `ha_…` (access, minutes) and `hr_…` (refresh), each the id of a stored
`GrantToken` under the hub's MAC, as `subjects.tokens` does for people's tokens (its own key, so a
token of one kind is never read as another). And PKCE (RFC 7636, S256 only)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

ACCESS, REFRESH = "ha_", "hr_"


def mint(secret: bytes, prefix: str, token_id: uuid.UUID) -> str:
    body = _b64(token_id.bytes)
    return f"{prefix}{body}.{_b64(_mac(secret, prefix + body))}"


def read(secret: bytes, prefix: str, token: str) -> uuid.UUID | None:
    """The id of a genuine token of this kind; None for anything else (forged, altered, another kind)."""
    if not token.startswith(prefix) or token.count(".") != 1:
        return None
    body, mac = token[len(prefix) :].split(".")
    try:
        if not hmac.compare_digest(_unb64(mac), _mac(secret, prefix + body)):
            return None
        return uuid.UUID(bytes=_unb64(body))
    except ValueError:
        return None


def s256(verifier: str) -> str:
    """The S256 code challenge of a PKCE code verifier: BASE64URL(SHA256(ASCII(verifier)))."""
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def _mac(secret: bytes, body: str) -> bytes:
    key = hmac.new(secret, b"agent-token", hashlib.sha256).digest()
    return hmac.new(key, body.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
