"""The client's wire: one org's calls to the hub over HTTP, each tried again on a lost connection or a
passing error under the same Idempotency-Key, and the hub's RFC 9457 problems raised as HarkenError."""

from __future__ import annotations

import enum
import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Final, Literal, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

import harken

log = logging.getLogger("harken.client")
M = TypeVar("M", bound=BaseModel)
DOCUMENT = TypeAdapter(dict[str, Any])


# ---- errors: the client's own, so that it needs nothing of the server --------------------------------


class FieldProblem(BaseModel):
    """One wrong field of a request, as the hub's problem names it."""

    field: str
    message: str


_FIELD_PROBLEMS = TypeAdapter(list[FieldProblem])


class HarkenError(Exception):
    """An answer other than 2xx, as the server's RFC 9457 problem: `errors` names each wrong field, and
    `problem` is the whole document the hub sent (empty when the answer was not one of the hub's)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        type: str = "about:blank",
        errors: Sequence[FieldProblem] = (),
        retry_after: float | None = None,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")
        self.status, self.title, self.detail, self.type = status, title, detail, type
        self.errors = list(errors)
        self.problem: dict[str, Any] = dict(problem or {})
        self.retry_after = retry_after
        """Seconds the server asked to wait before trying again (`Retry-After`), if it said."""

    @property
    def fields(self) -> dict[str, str]:
        """field → message, e.g. {"channels[0]": "Input should be 'email', 'sms', ..."}."""
        return {e.field: e.message for e in self.errors}

    @classmethod
    def from_response(cls, response: httpx.Response) -> HarkenError:
        retry_after = _retry_after(response.headers.get("retry-after"))
        try:
            problem = response.json()
        except ValueError:
            problem = None
        if not isinstance(problem, dict) or "title" not in problem:  # a proxy's page, not the hub's
            text = response.text.strip()[:500]
            return cls(
                response.status_code, response.reason_phrase or "HTTP error", text, retry_after=retry_after
            )
        try:
            errors = _FIELD_PROBLEMS.validate_python(problem.get("errors") or [])
        except ValidationError:
            errors = []
        return cls(
            response.status_code,
            str(problem["title"]),
            str(problem.get("detail", "")),
            type=str(problem.get("type", "about:blank")),
            errors=errors,
            retry_after=retry_after,
            problem=problem,
        )


def _retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header: delay-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


_WRITES = frozenset({"POST", "PUT"})  # the methods the hub's Idempotency-Key covers
_RETRYABLE_STATUS = frozenset({409, 429, 500, 502, 503, 504})
IN_FLIGHT = "/problems/idempotency-key-in-flight"


class Wire:
    """What every call of `harken.client.Harken` goes through (its docstring names the arguments)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout = 10.0,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
        max_attempts: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_after: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if http is not None and transport is not None:
            raise ValueError("give either http (a client of your own) or transport, not both")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(transport=transport, timeout=timeout)
        self.max_attempts, self.backoff, self.max_backoff = max_attempts, backoff, max_backoff
        self.max_retry_after = max_retry_after
        self._sleep = sleep

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _model(
        self,
        model: type[M],
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> M:
        return model.model_validate_json(self._send(method, path, body, params=params).content)

    def _pages(self, page: type[BaseModel], path: str, params: Mapping[str, Any]) -> Iterator[Any]:
        """Every item of a list, a page at a time: the next page is asked for only when the items so far
        have been taken (each page's `next_cursor`, as the hub gave it)."""
        cursor = None
        while True:
            found = self._model(page, "GET", path, params=given({**params, "cursor": cursor}))
            yield from found.items  # type: ignore[attr-defined]
            cursor = found.next_cursor  # type: ignore[attr-defined]
            if cursor is None:
                return

    def _send(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """One call, tried up to max_attempts times; the body is encoded once, so that every attempt
        sends the same bytes under the same Idempotency-Key."""
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": f"harken-python/{harken.__version__}",
        }
        content = None
        if body is not None:
            content = json.dumps(to_jsonable_python(body), separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        if method in _WRITES:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        query = {name: str(to_jsonable_python(value)) for name, value in (params or {}).items()}
        url = self.base_url + path
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self.max_attempts
            try:
                response = self._http.request(method, url, content=content, headers=headers, params=query)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as failure:
                if last:
                    raise
                wait = self._backoff(attempt)
                log.warning("%s %s: %r; attempt %d again in %.2f s", method, path, failure, attempt + 1, wait)
                self._sleep(wait)
                continue
            if response.is_success:
                return response
            error = HarkenError.from_response(response)
            if last or not _retryable(error):
                raise error
            if error.retry_after is not None:
                if error.retry_after > self.max_retry_after:
                    raise error
                wait = error.retry_after
            else:
                wait = self._backoff(attempt)
            log.warning("%s %s: %s; attempt %d again in %.2f s", method, path, error, attempt + 1, wait)
            self._sleep(wait)

    def _backoff(self, attempt: int) -> float:
        """Exponential, capped, with jitter: between half and all of backoff * 2**(attempt - 1)."""
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)


def _retryable(error: HarkenError) -> bool:
    if error.status == 409:
        return error.type == IN_FLIGHT  # the same Idempotency-Key still running: its answer is coming
    return error.status in _RETRYABLE_STATUS


# The values a caller writes as constants; the server's enums are accepted as well.
StatusName = Literal["granted", "denied", "withdrawn"]
ChannelName = Literal["email", "sms", "push", "phone", "post", "in-app"]
MethodName = Literal["preference-centre", "api", "import", "gpc"]
OrgProvenanceName = Literal["observed", "inferred"]
EventTypeName = Literal["purchase", "offer.shown", "offer.accepted", "offer.dismissed"]
FeedbackName = Literal["accepted", "dismissed", "not-relevant", "opted-out"]
WebhookEventName = Literal[
    "consent.updated",
    "preferences.updated",
    "context.updated",
    "share.updated",
    "terms.updated",
    "subject.erased",
    "ledger.checkpoint",
]
DeliveryStatusName = Literal["pending", "delivered", "dead", "disabled"]


class Unset(enum.Enum):
    UNSET = "UNSET"


UNSET: Final = Unset.UNSET
"""An argument not given: the PATCH leaves that preference as it is (None removes it)."""


def segment(value: object) -> str:
    """A path parameter, percent-encoded (refs may hold `:`, `@` and `+`)."""
    return quote(str(value), safe="")


def given(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A request body without the fields left out (None for a PUT or POST, UNSET for a PATCH)."""
    return {name: value for name, value in fields.items() if value is not None and value is not UNSET}
