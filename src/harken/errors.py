"""The hub's refusals as plain data: exceptions that carry their HTTP status and RFC 9457 problem type,
and the problem's shape. No web framework here, so services raise them and the client reads them
without importing a server; `harken.problems` renders them as answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

PROBLEM_JSON = "application/problem+json"


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details; `errors` names each field that was wrong and why."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None


class HarkenError(Exception):
    status_code = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[FieldProblem] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class Unauthenticated(HarkenError):
    status_code, slug, title = 401, "unauthenticated", "Not authenticated"
    challenge = "Bearer"  # the answer's `WWW-Authenticate`


class TokenExpired(Unauthenticated):
    """A token that was good and is no longer: the caller should ask for a new one, not fix its key."""

    slug, title = "token-expired", "The token expired"
    challenge = 'Bearer error="invalid_token", error_description="The token expired"'  # RFC 6750, 3.1


class NotFound(HarkenError):
    status_code, slug, title = 404, "not-found", "Not found"


class Gone(HarkenError):
    """The customer was erased: their ref remains, as a tombstone, and nothing more is kept about them."""

    status_code, slug, title = 410, "subject-erased", "The customer was erased"


class Invalid(HarkenError):
    """Well-formed input that breaks a rule; names the field."""

    status_code, slug, title = 422, "validation", "Invalid request"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[FieldProblem(field=field, message=message)])


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description, "content": {PROBLEM_JSON: {}}}
    for status, description in {
        401: "Missing, unknown or revoked credential; a token past its time: `/problems/token-expired`",
        404: "Unknown here (another org's data is indistinguishable from data that does not exist)",
        410: "The customer was erased: nothing new is recorded about them",
        422: "Invalid input: `errors` names each field and why; nothing was written",
    }.items()
}
