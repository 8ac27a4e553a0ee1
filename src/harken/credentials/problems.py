"""Why a credential or presentation is refused, as RFC 9457 problem types (`/problems/<slug>`): one per
rule broken, the same from POST /v1/credentials/verify and from `harken credential verify`."""

from __future__ import annotations

from harken.credentials.sdjwt import Code

PROBLEMS: dict[Code, tuple[str, str]] = {
    "malformed": ("credential-malformed", "Not an SD-JWT VC presentation"),
    "typ": ("credential-malformed", "Not an SD-JWT VC presentation"),
    "sd-alg": ("credential-malformed", "Not an SD-JWT VC presentation"),
    "unknown-kid": ("credential-unknown-key", "Signed by a key the hub does not publish"),
    "signature": ("credential-tampered", "The credential was altered"),
    "disclosure": ("credential-tampered", "The credential was altered"),
    "sd-hash": ("credential-tampered", "The credential was altered"),
    "expired": ("credential-expired", "The credential expired"),
    "not-yet-valid": ("credential-not-yet-valid", "The credential is not valid yet"),
    "key-binding-missing": ("credential-key-binding", "The holder did not prove possession of its key"),
    "key-binding": ("credential-key-binding", "The holder did not prove possession of its key"),
    # A key binding made for another nonce answers another request: it is a replay.
    "nonce": ("credential-replayed", "The presentation was made for another request"),
    "audience": ("credential-wrong-audience", "The presentation was made for another verifier"),
    "status-list": ("credential-status-unknown", "The credential's status cannot be read"),
    "revoked": ("credential-revoked", "The credential was revoked"),
}
