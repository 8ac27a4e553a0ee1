"""Cursor pagination for the org's lists (offers, customers, notices): a page is `limit` items in a
stable key order, and `next_cursor` (also a `Link: <…>; rel="next"` header) resumes after its last item.

A cursor is opaque to the caller: base64url of the JSON list [list name, *last sort key]. A cursor of
another list, or one that was altered, is a 422 naming `cursor`; it never reaches the database as
anything but the key values it decodes to."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import Query, Request, Response

from harken.errors import Invalid

MAX_LIMIT = 500
Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (1 to {MAX_LIMIT}; 100 by default).")
]
Cursor = Annotated[
    str | None,
    Query(
        max_length=512, description="The `next_cursor` of the previous page, unchanged; none for the first."
    ),
]


def encode(name: str, *key: str | int) -> str:
    """The cursor that resumes list `name` after the item whose sort key is `key`."""
    text = json.dumps([name, *key], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str | None, name: str, *shape: type) -> list[Any] | None:
    """The sort key a cursor of list `name` resumes after (values of the types in `shape`); None for no
    cursor. Anything else is Invalid("cursor")."""
    if cursor is None:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        decoded = None
    if (
        not isinstance(decoded, list)
        or len(decoded) != len(shape) + 1
        or decoded[0] != name
        or not all(type(value) is kind for value, kind in zip(decoded[1:], shape, strict=True))
        or not all(_storable(value) for value in decoded[1:])
    ):
        raise Invalid(
            "cursor", f"not a cursor of this list ({name}): pass the previous page's `next_cursor` unchanged"
        )
    return decoded[1:]


def _storable(value: object) -> bool:
    """A key value a database can compare: no NUL (PostgreSQL's text refuses it), no key longer than any
    id, an integer within BIGINT."""
    if isinstance(value, str):
        return "\x00" not in value and len(value) <= 128
    return isinstance(value, int) and -(2**63) <= value < 2**63


def link_next(request: Request, response: Response, cursor: str | None) -> None:
    """Name the next page in a `Link` header (RFC 8288), as well as in the body's `next_cursor`."""
    if cursor is not None:
        url = request.url.include_query_params(cursor=cursor)
        response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
