"""Rate limits on the API (`/v1/…`), counted in a store every worker and node shares (edge.counters),
in fixed windows of HARKEN_RATE_LIMIT_WINDOW seconds:

- "address": requests per client address (edge.address: the peer, or what a named proxy says);
- "key": requests per credential, an API key or customer token, known or not: counted by a keyed
  digest of the bearer string, so no lookup is needed and the hub's own callers are counted alike;
- "failed-auth": 401 answers per client address. Once an address has had that many in a window, every
  request from it is refused until the window ends. A failure is counted as its 401 goes out, so
  guesses already in flight when the quota is reached still get their answer: a window allows at most
  the quota plus the requests then in flight. (Counting every unproven credential as a failure until
  it is answered would be exact, but would also refuse a busy caller's many concurrent requests.)

A request past a quota gets 429 with `Retry-After` and never reaches the app. Every /v1 answer carries
the quotas it was counted against in the `RateLimit-Policy` and `RateLimit` fields of
draft-ietf-httpapi-ratelimit-headers (`"key";q=60000;w=60` and `"key";r=59873;t=17`). A quota of 0
turns its policy off. `/healthz`, the OpenAPI document, the JWKS and the Preference Centre are not
counted here (the centre limits its sign-in links itself).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harken.edge.address import client_address
from harken.edge.counters import Counters
from harken.errors import PROBLEM_JSON
from harken.observe import metrics
from harken.problems import problem_response

if TYPE_CHECKING:
    from harken.deps import Hub

API = "/v1/"
MCP = "/mcp"  # the person's assistant's endpoint (harken.mcp.http)
OAUTH = "/oauth/"  # where an agent registers and trades codes (harken.grants): counted as the API is


@dataclass(frozen=True)
class Policy:
    name: str
    quota: int
    detail: str  # why a 429, completed with "retry in N s"


@dataclass(frozen=True)
class Count:
    policy: Policy
    bucket: str
    increment: int  # 0: read only (failures are added when a 401 goes out)


class RateLimits:
    def __init__(self, app: ASGIApp, *, hub: Hub, counters: Counters) -> None:
        settings = hub.settings
        self.app, self.hub, self.counters, self.window = app, hub, counters, settings.rate_limit_window
        self.address = Policy(
            "address", settings.rate_limit_per_address, "too many requests from your address"
        )
        self.key = Policy("key", settings.rate_limit_per_key, "too many requests with this credential")
        self.failures = Policy(
            "failed-auth",
            settings.rate_limit_failed_auth,
            "too many failed authentications from your address",
        )
        self.digest_key = hashlib.sha256(b"harken rate-limit buckets\0" + hub.secret).digest()

    def _bucket(self, policy: Policy, value: str) -> str:
        digest = hashlib.blake2b(
            value.encode(), key=self.digest_key, person=policy.name.encode(), digest_size=16
        )
        return digest.hexdigest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        # The MCP endpoint's tools call /v1/me, where each call is counted; /mcp itself counts only its
        # failed authentications, so a token cannot be guessed there more freely than on the API.
        assistant = path == MCP or path.startswith(MCP + "/")
        if not path.startswith((API, OAUTH)) and not assistant:
            await self.app(scope, receive, send)
            return
        address = client_address(scope, self.hub.settings)
        failure_bucket = self._bucket(self.failures, address)
        counted = []
        if self.failures.quota:
            counted.append(Count(self.failures, failure_bucket, 0))
        if self.address.quota and not assistant:
            counted.append(Count(self.address, self._bucket(self.address, address), 1))
        credential = _bearer(scope)
        if credential and self.key.quota and not assistant:
            counted.append(Count(self.key, self._bucket(self.key, credential), 1))
        if not counted:
            await self.app(scope, receive, send)
            return
        now = self.hub.clock().timestamp()
        start = int(now) // self.window * self.window
        reset = max(1, math.ceil(start + self.window - now))
        counts = await self.counters.add(start, {c.bucket: c.increment for c in counted})
        remaining = {c.policy: c.policy.quota - counts[c.bucket] for c in counted}
        failures = remaining.pop(self.failures, None)
        if failures is not None and failures <= 0:
            await self._refuse(self.failures, {self.failures: 0}, reset)(scope, receive, send)
            return
        for policy, left in remaining.items():
            if left < 0:
                await self._refuse(policy, remaining, reset)(scope, receive, send)
                return

        async def with_fields(message: Message) -> None:
            if message["type"] == "http.response.start":
                shown = remaining
                if message["status"] == 401 and failures is not None:
                    total = (await self.counters.add(start, {failure_bucket: 1}))[failure_bucket]
                    shown = {**remaining, self.failures: self.failures.quota - total}
                message["headers"] = [*message.get("headers", ()), *self._fields(shown, reset)]
            await send(message)

        await self.app(scope, receive, with_fields)

    def _fields(self, remaining: Mapping[Policy, int], reset: int) -> list[tuple[bytes, bytes]]:
        policies = ", ".join(f'"{p.name}";q={p.quota};w={self.window}' for p in remaining)
        limits = ", ".join(f'"{p.name}";r={max(0, left)};t={reset}' for p, left in remaining.items())
        return [(b"ratelimit-policy", policies.encode()), (b"ratelimit", limits.encode())]

    def _refuse(self, policy: Policy, remaining: Mapping[Policy, int], reset: int) -> Any:
        headers = {"Retry-After": str(reset)}
        headers.update((name.decode(), value.decode()) for name, value in self._fields(remaining, reset))
        metrics.rate_limited(policy.name)
        detail = f"{policy.detail} (quota {policy.quota} in {self.window} s): retry in {reset} s"
        return problem_response(429, "quota-exceeded", "Too many requests", detail, headers=headers)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            return credential.strip() or None if scheme.lower() == "bearer" else None
    return None


def _problem(description: str, headers: Mapping[str, str]) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {
            name: {"description": text, "schema": {"type": "string"}} for name, text in headers.items()
        },
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


CONTENT_TOO_LARGE = _problem(
    "The request body is larger than the hub accepts (HARKEN_MAX_BODY_BYTES, 2 MiB by default); "
    "refused before it was read.",
    {},
)
TOO_MANY_REQUESTS = _problem(
    "Past a rate limit, per client address, per API key or customer token, or of failed "
    "authentications per address; nothing was done.",
    {
        "Retry-After": "Seconds until the window ends and the request may be sent again.",
        "RateLimit-Policy": "The quotas this request counts against (draft-ietf-httpapi-ratelimit-headers), "
        'e.g. `"key";q=60000;w=60`; sent on every /v1 answer.',
        "RateLimit": 'What is left of each and when it resets, e.g. `"key";r=0;t=17`; sent on every /v1 answer.',
    },
)


def document(app: FastAPI) -> None:
    """Declare 413 on every operation and 429 on every /v1 operation in the OpenAPI document (these
    middlewares answer them, not the routes)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()  # cached by FastAPI, with the responses added here
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.setdefault("413", CONTENT_TOO_LARGE)
                if path.startswith(API):
                    responses.setdefault("429", TOO_MANY_REQUESTS)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
