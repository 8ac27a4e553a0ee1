"""Idempotency keys on the org API (draft-ietf-httpapi-idempotency-key-header): a POST or PUT sent
again with the same `Idempotency-Key` and body gets the first response again and writes nothing twice.

A key belongs to the org of the API key (`hk_…`) and to the method and path it was sent to, and lives
24 hours. Only 2xx responses are kept: every other answer wrote nothing (a refused unit of work rolls
back), so a retry runs again and answers from the state of the moment, for example once the missing
subject is registered or the body is fixed. The customer API (`hc_…` tokens) and the centre are not
covered; a request without the header is passed through untouched.

The reservation, the request's own unit of work and the stored response are three transactions,
which keeps this middleware outside the services. That is still correct:

- the key is reserved (committed) before the request runs, so another attempt with it gets 409 while
  the first runs, 422 if its body differs, or the stored response once there is one;
- the response is stored before it is sent, so no client sees a 2xx it could not get again;
- an answer other than 2xx, or an exception, deletes the reservation, so a retry runs again. A
  refused request wrote nothing: its unit of work rolled back before the error was rendered;
- a process that dies between its unit of work and storing the response leaves a reservation with no
  response: retries get 409 until TAKEOVER has passed, then one of them runs the request again. So
  does a retry after a 5xx raised once the unit of work had committed (that reservation is deleted at
  once). In these windows the write can happen again, exactly as on a retry without the header;
  closing them would mean storing the response inside the unit of work. TAKEOVER is longer than a
  request should live (the SQLite write lock gives up after 30 s): one still running then could run
  twice.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harken.db import insert_ignore
from harken.edge.models import KEY_MAX, PATH_MAX, IdempotencyKey
from harken.errors import HarkenError, Invalid, Unauthenticated
from harken.orgs import service as org_service
from harken.orgs.models import Org
from harken.problems import problem_response
from harken.subjects import service as subject_service

if TYPE_CHECKING:
    from harken.deps import Hub

HEADER = "Idempotency-Key"
LIFETIME = timedelta(hours=24)
TAKEOVER = timedelta(seconds=60)
REPLAYED_HEADERS = ("content-type", "content-language", "vary", "location")


class KeyInFlight(HarkenError):
    status_code, slug, title = 409, "idempotency-key-in-flight", "Request in progress"


def parse_key(value: str) -> str | None:
    """The key, or None if malformed: 1 to 255 printable ASCII characters, bare or in double quotes
    (the draft's structured-field string; both spellings are the same key)."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if 0 < len(value) <= KEY_MAX and value.isascii() and value.isprintable():
        return value
    return None


def reserve(
    session: Session,
    *,
    api_key: str,
    key: str,
    method: str,
    path: str,
    body: bytes,
    now: datetime,
) -> IdempotencyKey | None:
    """The key's row: reserved for this request (`status_code` None: run it) or done (replay it).
    None for an API key the hub does not know (the app answers 401). Raises Invalid (422) for a key
    used with another body and KeyInFlight (409) while its first request runs. Purges expired keys.

    A kept answer about a customer the body names (a decision's `subject`) rather than the path is not
    given again once they were erased after it (it may hold what they had told): the request runs again,
    answered as for an erased customer, and that answer is kept. (Kept answers to a path naming the ref
    go at the erasure: `harken.erasure`.)"""
    fingerprint = hashlib.sha256(body).hexdigest()
    try:
        org = org_service.authenticate(session, api_key)
    except Unauthenticated:
        return None
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at <= now - LIFETIME))
    identity = {"org_id": org.id, "key": key, "method": method, "path": path}
    reserved = uuid.uuid4()
    insert_ignore(
        session,
        IdempotencyKey,
        {
            **identity,
            "id": reserved,
            "fingerprint": fingerprint,
            "created_at": now,
            "headers": {},
            "body": b"",
        },
    )
    found = session.execute(
        select(IdempotencyKey).filter_by(**identity).with_for_update()  # one takeover at a time
    ).scalar_one()
    if found.id == reserved:
        return found
    if found.fingerprint != fingerprint:
        raise Invalid(HEADER, "this key was used with another body: send a new key for a new request")
    if found.status_code is None:
        if found.created_at > now - TAKEOVER:
            raise KeyInFlight(f"a request with this {HEADER} is still in progress: retry later")
        found.created_at = now  # its first request died before it answered: this one runs instead
    elif _kept_before_erasure(session, org, _about(body), found):
        found.status_code, found.created_at, found.headers, found.body = None, now, {}, b""
    return found


def _kept_before_erasure(session: Session, org: Org, ref: str | None, kept: IdempotencyKey) -> bool:
    erased = None if ref is None else subject_service.erased_at(session, org=org, ref=ref)
    return erased is not None and erased > kept.created_at


def complete(
    session: Session, *, reserved: uuid.UUID, status_code: int, headers: Headers, body: bytes
) -> None:
    """Keep the response of the reserved key's request, to replay."""
    found = session.get(IdempotencyKey, reserved)
    if found is not None:  # gone if it expired meanwhile, or a takeover's failure released it
        found.status_code, found.body = status_code, body
        found.headers = {name: headers[name] for name in REPLAYED_HEADERS if name in headers}


def release(session: Session, *, reserved: uuid.UUID) -> None:
    """Forget a reservation whose request wrote nothing, so that a retry runs."""
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == reserved))


class IdempotencyMiddleware:
    """Reserve, run and keep, or replay, the org API's POST and PUT requests that carry the header."""

    def __init__(self, app: ASGIApp, hub: Hub) -> None:
        self.app, self.hub = app, hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        guarded = _guarded(scope)
        if guarded is None:
            await self.app(scope, receive, send)
            return
        value, api_key = guarded
        path, method = scope["path"], scope["method"]
        key = parse_key(value)
        if key is None:
            message = f"1 to {KEY_MAX} printable ASCII characters, bare or in double quotes"
            await _problem(Invalid(HEADER, message))(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:
            return  # the client left before it finished sending

        def claim(session: Session) -> IdempotencyKey | None:
            return reserve(
                session, api_key=api_key, key=key, method=method, path=path, body=body, now=self.hub.clock()
            )

        try:
            found = await self.hub.run(claim)
        except HarkenError as refusal:
            await _problem(refusal)(scope, receive, send)
            return
        if found is None:
            await self.app(scope, replaying(body, receive), send)
        elif found.status_code is not None:
            replayed = {**found.headers, "Idempotent-Replayed": "true"}
            await Response(found.body, status_code=found.status_code, headers=replayed)(scope, receive, send)
        else:
            await self._run(found.id, scope, replaying(body, receive), send)

    async def _run(self, reserved: uuid.UUID, scope: Scope, receive: Receive, send: Send) -> None:
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)

        try:
            await self.app(scope, receive, keep)
        except BaseException:
            await self.hub.run(lambda session: release(session, reserved=reserved))
            raise
        start = messages[0]
        if 200 <= start["status"] < 300:
            body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
            headers = Headers(raw=start["headers"])
            await self.hub.run(
                lambda session: complete(
                    session, reserved=reserved, status_code=start["status"], headers=headers, body=body
                )
            )
        else:
            await self.hub.run(lambda session: release(session, reserved=reserved))
        for message in messages:
            await send(message)


def _about(body: bytes) -> str | None:
    """The customer a JSON body names as its `subject` (a decision's), if any: read only to replay."""
    if b'"subject"' not in body:
        return None
    try:
        said = json.loads(body)
    except ValueError:
        return None
    subject = said.get("subject") if isinstance(said, dict) else None
    return subject if isinstance(subject, str) else None


def _guarded(scope: Scope) -> tuple[str, str] | None:
    """(Idempotency-Key, org API key) of an org API POST or PUT that carries both; None for the rest."""
    if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
        return None
    path: str = scope["path"]
    if not path.startswith("/v1/") or len(path) > PATH_MAX:
        return None
    headers = Headers(scope=scope)
    value = headers.get(HEADER)
    scheme, api_key = get_authorization_scheme_param(headers.get("authorization"))
    if value is None or scheme.lower() != "bearer" or not api_key.startswith(org_service.KEY_PREFIX):
        return None
    return value, api_key


async def read_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then whatever the client sends next."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


def _problem(error: HarkenError) -> Response:
    return problem_response(error.status_code, error.slug, error.title, error.detail, error.errors)


PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "1 to 255 printable ASCII characters, e.g. a UUID. Sent again with the same body within "
    "24 hours, the request gets its first 2xx response again (with `Idempotent-Replayed: true`) and "
    "writes nothing. The key with another body is refused (422); while its first request runs, 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX, "pattern": "^[ -~]+$"},
}


def document(app: FastAPI) -> None:
    """Declare the header on the org API's POST and PUT operations in the OpenAPI document (this
    middleware reads it, not the routes)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()  # cached by FastAPI, with the parameters added here
        for path, operations in schema["paths"].items():
            if path.startswith("/v1/") and not path.startswith("/v1/me"):
                for method in ("post", "put"):
                    if method in operations:
                        operations[method].setdefault("parameters", []).append(PARAMETER)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
