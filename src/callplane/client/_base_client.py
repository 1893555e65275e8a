"""Everything the sync and async clients share that does no I/O.

Configuration, building each request, deciding whether and when to retry, and turning an
answer into a result or an exception live here once; ``Client`` and ``AsyncClient`` add only
the sending and the sleeping.
"""

from __future__ import annotations

import email.utils
import os
import random
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import httpx2
from pydantic import TypeAdapter
from pydantic import ValidationError as ModelError

from callplane import __version__
from callplane.client._exceptions import (
    APIError,
    AuthenticationError,
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RateLimited,
    RequestTimeout,
    ServerError,
    TransportError,
    ValidationError,
)

__all__ = ["DEFAULT_MAX_RETRIES", "DEFAULT_TIMEOUT", "DEFAULT_URL"]

T = TypeVar("T")

DEFAULT_URL: Final = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_RETRIES: Final = 2
INITIAL_RETRY_DELAY: Final = 0.5
MAX_RETRY_DELAY: Final = 8.0
# A Retry-After longer than this is not waited for: the error goes to the caller instead.
MAX_RETRY_AFTER: Final = 60.0

# Methods the native API keeps idempotent: repeating one cannot do a thing twice.
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Failures after which the server did nothing, whatever the method: the request never left
# (connect errors), it was refused before any work (429: the rate limit is checked first), or
# its transaction was rolled back and the server says so.
NEVER_SENT: Final = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)
NOTHING_DONE_CODES: Final = frozenset({"rate_limited", "concurrent_modification"})
# A keyed request the server is still running: the retry gets its answer once it is done.
IN_FLIGHT_CODE: Final = "idempotency_request_in_flight"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"


def present(**fields: object) -> dict[str, Any]:
    """The fields of a create or a query that have a value (the server defaults the rest)."""
    return {name: value for name, value in fields.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One API call: what to send and how to read the ``data`` of its answer."""

    method: str
    path: str
    result: TypeAdapter[T]
    params: dict[str, Any] | None = None
    json: Any = None
    # Sent as Idempotency-Key with every attempt of a POST the server keys (see ``keyed``): the
    # server does it once, so such a POST is retried like a PUT.
    idempotency_key: str | None = None
    # Sent as If-Match: change the resource only if it is still at this ETag (412 otherwise).
    if_match: str | None = None

    def headers(self) -> dict[str, str]:
        """The headers of this call beyond those of every call."""
        headers = {IDEMPOTENCY_HEADER: self.idempotency_key} if self.idempotency_key else {}
        if self.if_match is not None:
            headers["If-Match"] = self.if_match
        return headers


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list, and the cursor of the next (None on the last)."""

    items: list[T]
    next_cursor: str | None


def keyed(key: str | None) -> str:
    """The caller's idempotency key, or a new one for this call that its retries reuse."""
    return key or str(uuid.uuid4())


def new_request_id() -> str:
    """The same shape as the server's own ids, so it is accepted and logged as given."""
    return "req_" + secrets.token_hex(12)


class BaseClient:
    """Configuration and the I/O-free half of every request."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        timeout: float | httpx2.Timeout,
        max_retries: int,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self.base_url = (base_url or os.environ.get("CALLPLANE_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key or os.environ.get("CALLPLANE_API_KEY") or None
        self.timeout = timeout
        self.max_retries = max_retries

    def _headers(self, request_id: str, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {
            "Accept": "application/json",
            "User-Agent": f"callplane-python/{__version__}",
            "X-Request-ID": request_id,
        }
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return {**headers, **(extra or {})}

    def _build_request(
        self,
        http: httpx2.Client | httpx2.AsyncClient,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json: Any,
        request_id: str,
        extra_headers: dict[str, str] | None = None,
    ) -> httpx2.Request:
        return http.build_request(
            method,
            self.base_url + path,
            params=params,
            json=json,
            headers=self._headers(request_id, extra_headers),
            timeout=self.timeout,
        )

    def _retry_delay(
        self,
        method: str,
        attempt: int,
        outcome: httpx2.Response | httpx2.TransportError,
        *,
        keyed: bool = False,
    ) -> float | None:
        """Seconds to wait before trying again, or None when this outcome is final.

        ``keyed``: the request carries an idempotency key, so repeating it cannot do it twice.
        """
        if attempt >= self.max_retries:
            return None
        safe = method in IDEMPOTENT_METHODS or keyed
        if isinstance(outcome, httpx2.TransportError):
            return _backoff(attempt) if safe or isinstance(outcome, NEVER_SENT) else None
        status = outcome.status_code
        code = _error_code(outcome)
        in_flight = keyed and code == IN_FLIGHT_CODE
        if not (
            status in (408, 429) or status >= 500 or code == "concurrent_modification" or in_flight
        ):
            return None
        if not safe and code not in NOTHING_DONE_CODES:
            return None
        retry_after = _retry_after(outcome)
        if retry_after is None:
            return _backoff(attempt)
        return retry_after if retry_after <= MAX_RETRY_AFTER else None

    def _result(self, call: Call[T], response: httpx2.Response, request_id: str) -> T:
        """The ``data`` of a success, typed; any error answer raised as its exception."""
        return _typed(call.result, self._data(response, request_id), response, request_id)

    def _page(
        self, item: TypeAdapter[list[T]], response: httpx2.Response, request_id: str
    ) -> Page[T]:
        data = self._data(response, request_id)
        pagination = self._body(response, request_id).get("pagination") or {}
        cursor = pagination.get("next_cursor") if pagination.get("has_more") else None
        return Page(_typed(item, data, response, request_id), cursor)

    def _data(self, response: httpx2.Response, request_id: str) -> Any:
        if response.is_error:
            raise self._api_error(response, request_id)
        return self._body(response, request_id).get("data")

    def _body(self, response: httpx2.Response, request_id: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "data" not in body:
            raise APIError(
                f"{response.request.url} answered {response.status_code} without a callplane "
                "body: is the URL a callplane server?",
                request_id=_answer_request_id(response, body, request_id),
                status_code=response.status_code,
                code="unexpected_response",
            )
        return body

    def _api_error(self, response: httpx2.Response, request_id: str) -> APIError:
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            code, message = error["code"], str(error.get("message") or error["code"])
            details = error.get("details")
        else:
            code = f"http_{response.status_code}"
            message = response.text[:300] or response.reason_phrase
            details = None
        status = response.status_code
        if status == 401 and not self.api_key:
            message += " (no API key given: pass api_key= or set CALLPLANE_API_KEY)"
        request_id = _answer_request_id(response, body, request_id)
        cls = _error_class(code, status)
        if cls is RateLimited:
            return RateLimited(
                message,
                request_id=request_id,
                status_code=status,
                code=code,
                details=details,
                retry_after=_retry_after(response),
            )
        if cls is PreconditionFailed:
            return PreconditionFailed(
                message,
                request_id=request_id,
                status_code=status,
                code=code,
                details=details,
                etag=response.headers.get("etag"),
            )
        return cls(message, request_id=request_id, status_code=status, code=code, details=details)

    def _transport_error(
        self, exc: httpx2.TransportError, request: httpx2.Request, request_id: str
    ) -> TransportError:
        url = str(request.url.copy_with(query=None))
        if isinstance(exc, httpx2.TimeoutException):
            return RequestTimeout(
                f"no answer from {url} within the timeout ({type(exc).__name__})",
                request_id=request_id,
                url=url,
            )
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, httpx2.ConnectError):
            message = f"cannot reach the callplane server at {self.base_url}: {reason}"
        else:
            message = f"the connection to {url} failed: {reason}"
        return TransportError(message, request_id=request_id, url=url)


_ERROR_CLASS_BY_CODE: Final[dict[str, type[APIError]]] = {
    "rate_limited": RateLimited,
    "missing_api_key": AuthenticationError,
    "invalid_api_key": AuthenticationError,
    "revoked_api_key": AuthenticationError,
    "malformed_json": ValidationError,
    "payload_too_large": ValidationError,
    "concurrent_modification": Conflict,
}
_ERROR_CLASS_BY_STATUS: Final[dict[int, type[APIError]]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    422: ValidationError,
    429: RateLimited,
}


def api_error(
    status: int, code: str, message: str, details: Any = None, request_id: str = "-"
) -> APIError:
    """The exception the client raises for this error answer, for code that answers in process
    (the dashboard's import runs the client's engine against the services directly)."""
    return _error_class(code, status)(
        message, request_id=request_id, status_code=status, code=code, details=details
    )


def _error_class(code: str, status: int) -> type[APIError]:
    """The exception for an error ``code``; the status decides for codes of no named kind."""
    if code in _ERROR_CLASS_BY_CODE:
        return _ERROR_CLASS_BY_CODE[code]
    if code.endswith("_not_found"):
        return NotFound
    if status >= 500:
        return ServerError
    return _ERROR_CLASS_BY_STATUS.get(status, APIError)


def _error_code(response: httpx2.Response) -> str | None:
    if not response.is_error:
        return None
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) else None


def _answer_request_id(response: httpx2.Response, body: Any, sent: str) -> str:
    meta = body.get("meta") if isinstance(body, dict) else None
    if isinstance(meta, dict) and isinstance(meta.get("request_id"), str):
        return str(meta["request_id"])
    return response.headers.get("x-request-id") or sent


def _retry_after(response: httpx2.Response) -> float | None:
    """``Retry-After`` in seconds, given as seconds or as an HTTP date."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _backoff(attempt: int) -> float:
    """``min(0.5·2ⁿ, 8)`` seconds, less up to a quarter at random so clients spread out."""
    return min(INITIAL_RETRY_DELAY * 2.0**attempt, MAX_RETRY_DELAY) * (1 - 0.25 * random.random())


def _typed(adapter: TypeAdapter[T], data: Any, response: httpx2.Response, request_id: str) -> T:
    try:
        return adapter.validate_python(data)
    except ModelError as exc:  # a server of another version, or not a callplane server
        raise APIError(
            f"the answer of {response.request.url} does not match this client: {exc}",
            request_id=_answer_request_id(response, None, request_id),
            status_code=response.status_code,
            code="unexpected_response",
        ) from exc
