"""The web side of `harken.errors`: every refusal rendered as RFC 9457 problem details
(`application/problem+json`), and the handlers that make FastAPI's own refusals — bad JSON, a body of
another media type, a field a model refuses, a path or method it does not know — say the same way what
is wrong and where."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from harken.errors import PROBLEM_JSON, FieldProblem, HarkenError, Problem, Unauthenticated

JSON = "application/json"


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


def error_response(exc: HarkenError) -> JSONResponse:
    """A HarkenError as its problem; a 401 says how to authenticate (`WWW-Authenticate`)."""
    headers = {"WWW-Authenticate": exc.challenge} if isinstance(exc, Unauthenticated) else None
    return problem_response(exc.status_code, exc.slug, exc.title, exc.detail, exc.errors, headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(HarkenError)
    async def _harken(_request: Request, exc: HarkenError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(request.headers.get("content-type"), exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_problem(exc)


def validation_problem(content_type: str | None, exc: RequestValidationError) -> JSONResponse:
    """422 naming each field a model refused; 400 for a body that is not JSON at all, saying where it
    breaks; 415 for a body of another media type than the JSON the operation takes."""
    found = exc.errors()
    if isinstance(exc.body, bytes) and exc.body:
        # FastAPI hands a body over undecoded only when it was not declared JSON.
        return unsupported_media_type(content_type)
    broken = next((e for e in found if e["type"] == "json_invalid"), None)
    if broken is not None and isinstance(exc.body, str):
        return malformed_json(exc.body, int(broken["loc"][-1]), str(broken.get("ctx", {}).get("error", "")))
    errors = [FieldProblem(field=_field(tuple(e["loc"])), message=e["msg"]) for e in found]
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:3])
    return problem_response(422, "validation", "Invalid request", detail, errors)


def unsupported_media_type(content_type: str | None) -> JSONResponse:
    sent = (content_type or "").partition(";")[0].strip()
    message = f"send the body as {JSON}" + (f", not {sent}" if sent else " (no Content-Type was sent)")
    return problem_response(
        415,
        "unsupported-media-type",
        "Unsupported media type",
        f"this operation takes a JSON body: {message}",
        [FieldProblem(field="header.content-type", message=message)],
    )


def malformed_json(document: str, position: int, reason: str) -> JSONResponse:
    """Where the body stops being JSON, by line and column, and what usually causes that there."""
    where = json.JSONDecodeError(reason, document, position)  # computes the line and column
    message = f"{reason.removesuffix(' at') or 'Not JSON'} at line {where.lineno}, column {where.colno}"
    hint = json_hint(document, position, reason)
    if hint:
        message += f" — {hint}"
    return problem_response(
        400,
        "malformed-json",
        "The body is not valid JSON",
        f"the body is not valid JSON: {message}",
        [FieldProblem(field="body", message=message)],
    )


_HINTS = {
    "Expecting ',' delimiter": "is a comma missing between two items, or a quote left open?",
    "Expecting ':' delimiter": "does a key lack the colon before its value?",
    "Expecting property name enclosed in double quotes": "JSON keys take double quotes",
    "Extra data": "something follows the end of the JSON value: a stray bracket, or two values?",
    "Unterminated string": "a string without its closing quote?",
    "Invalid control character": "a line break or tab inside a string: write it as \\n or \\t",
    "Invalid \\escape": "a backslash that starts no JSON escape: write a backslash as \\\\",
    "Invalid \\uXXXX escape": "a \\u escape takes four hexadecimal digits",
}


def json_hint(document: str, position: int, reason: str) -> str | None:
    """What the mistake at `position` probably is, in the words of someone fixing it by hand."""
    at, before = document[position : position + 1], document[:position].rstrip()[-1:]
    if at == "'":
        return "JSON strings and keys take double quotes, not single"
    if not document[position:].strip():
        return "the body ends too early: is it cut off?"
    if reason.startswith(("Expecting value", "Expecting property name")):
        if at in "}]" and before == ",":
            return "a trailing comma before the closing bracket?"
        if at in "}],":
            return "a value left out?"
        if reason.startswith("Expecting value"):
            return "strings take double quotes; true, false and null are written in lower case"
    return next((hint for start, hint in _HINTS.items() if reason.startswith(start)), None)


def _field(location: tuple[Any, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


HTTP_PROBLEMS = {
    400: ("bad-request", "Bad request"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("content-too-large", "Content too large"),
}


def http_problem(exc: StarletteHTTPException) -> JSONResponse:
    """The framework's own refusals (404, 405 with its Allow, 413…) as problems, headers kept."""
    if isinstance(exc.__cause__, UnicodeDecodeError):  # FastAPI reading a JSON body that is not UTF-8
        return _not_utf8(exc.__cause__)
    slug, title = HTTP_PROBLEMS.get(exc.status_code, ("http-error", "HTTP error"))
    return problem_response(exc.status_code, slug, title, str(exc.detail), headers=exc.headers)


def _not_utf8(cause: UnicodeDecodeError) -> JSONResponse:
    read = cause.object[: cause.start]
    line = read.count(b"\n") + 1
    column = len(read.rpartition(b"\n")[2].decode("utf-8", "replace")) + 1
    bad = cause.object[cause.start : cause.start + 1].hex()
    message = f"byte 0x{bad} at line {line}, column {column} is not UTF-8: JSON is sent as UTF-8"
    return problem_response(
        400,
        "malformed-json",
        "The body is not valid JSON",
        f"the body is not valid JSON: {message}",
        [FieldProblem(field="body", message=message)],
    )


# What these handlers add to the refusals of every operation that takes a JSON body.
BODY_PROBLEMS: dict[str, dict[str, Any]] = {
    str(status): {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, description in {
        400: "The body is not valid JSON: `/problems/malformed-json`, saying at which line and column",
        415: "The body is not JSON (`Content-Type` other than `application/json` or `application/*+json`)",
    }.items()
}


def document(app: FastAPI) -> None:
    """Declare 400 and 415 on every operation with a JSON request body in the OpenAPI document (these
    handlers answer them, not the routes)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()  # cached by FastAPI, with the responses added here
        for operations in schema["paths"].values():
            for operation in operations.values():
                if JSON in operation.get("requestBody", {}).get("content", {}):
                    responses = operation.setdefault("responses", {})
                    for status, response in BODY_PROBLEMS.items():
                        responses.setdefault(status, response)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
