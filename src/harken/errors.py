"""Errors carry their HTTP status; one handler renders every 4xx as RFC 9457 problem details."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: list[FieldProblem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(type=f"/problems/{slug}", title=title, status=status, detail=detail, errors=errors)
    return JSONResponse(
        problem.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _field(location: tuple[Any, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def install(app: FastAPI) -> None:
    @app.exception_handler(HarkenError)
    async def _harken(_request: Request, exc: HarkenError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return problem_response(exc.status_code, exc.slug, exc.title, exc.detail, exc.errors, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [FieldProblem(field=_field(tuple(e["loc"])), message=e["msg"]) for e in exc.errors()]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:3])
        return problem_response(422, "validation", "Invalid request", detail, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_problem(exc)


HTTP_PROBLEMS = {
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("content-too-large", "Content too large"),
}


def http_problem(exc: StarletteHTTPException) -> JSONResponse:
    """The framework's own refusals (404, 405 with its Allow, 413…) as problems, headers kept."""
    slug, title = HTTP_PROBLEMS.get(exc.status_code, ("http-error", "HTTP error"))
    return problem_response(exc.status_code, slug, title, str(exc.detail), headers=exc.headers)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description, "content": {PROBLEM_JSON: {}}}
    for status, description in {
        401: "Missing or unknown API key",
        404: "Unknown here (another org's data is indistinguishable from data that does not exist)",
        410: "The customer was erased: nothing new is recorded about them",
        422: "Invalid input: `errors` names each field and why; nothing was written",
    }.items()
}
