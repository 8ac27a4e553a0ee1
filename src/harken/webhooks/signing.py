"""Standard Webhooks signatures (https://www.standardwebhooks.com): made by the specification's own
library, `standardwebhooks`, and checked here (the Python client verifies with `verify`). No I/O.

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the signature is base64 HMAC-SHA256
under the endpoint's secret, sent as `v1,<signature>` in `webhook-signature`. `verify` reads the
headers itself rather than through `Webhook.verify`, which takes no clock or tolerance and fails with
ValueError on a malformed signature list; the signature it compares against is the library's.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<signature>` over a UTF-8 body (Harken's are JSON); UnicodeDecodeError for any other."""
    return Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body.decode("utf-8"))


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
        "content-type": "application/json",
    }


class WebhookVerificationError(Exception):
    """The request is not a webhook Harken signed with this secret within the time window: answer 400."""


def verify(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    tolerance: timedelta = timedelta(minutes=5),
    now: datetime | None = None,
) -> dict[str, Any]:
    """The payload of a webhook Harken signed, or WebhookVerificationError.

    `body` is the raw request body, exactly as received; `headers` any mapping of the request's
    headers (names in any case). Checks that `webhook-timestamp` lies within `tolerance` of `now`
    (default: the current time) and that one of the signatures in `webhook-signature` is `sign`'s
    (compared in constant time). A delivery can come more than once: deduplicate on `webhook-id`.
    A `secret` that is not `whsec_<base64>` raises ValueError (a configuration error, not a bad request)."""
    try:
        base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError("the secret is whsec_ followed by base64, as POST /v1/webhooks returned it") from exc
    named = {name.lower(): value for name, value in headers.items()}
    msg_id, stamp, signatures = (
        named.get("webhook-id"),
        named.get("webhook-timestamp"),
        named.get("webhook-signature"),
    )
    if not msg_id or not stamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(stamp)
        sent = datetime.fromtimestamp(timestamp, UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise WebhookVerificationError("webhook-timestamp is not a Unix time in seconds") from exc
    moment = now if now is not None else datetime.now(UTC)
    if sent < moment - tolerance:
        raise WebhookVerificationError("webhook-timestamp is too old")
    if sent > moment + tolerance:
        raise WebhookVerificationError("webhook-timestamp is in the future")
    try:
        expected = sign(secret, msg_id, timestamp, body).encode()
    except UnicodeDecodeError as exc:
        raise WebhookVerificationError("the body is not UTF-8, so no body Harken signed") from exc
    if not any(hmac.compare_digest(given.encode(), expected) for given in signatures.split(" ")):
        raise WebhookVerificationError("no matching signature")
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise WebhookVerificationError("the body is not JSON") from exc
    if not isinstance(payload, dict):
        raise WebhookVerificationError("the body is not a JSON object")
    return payload
