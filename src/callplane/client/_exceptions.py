"""Every error the client raises, in one tree, so a caller catches exactly the kind it handles.

``CallplaneError`` is the root. ``APIError`` means the server answered with an error; its class
comes from the error ``code`` the server sent (falling back on the HTTP status), so a new code of
a known kind lands in the right class. ``TransportError`` means no answer came at all. Every
instance carries the request id, the one the server logged and wrote into the audit log (the
client sends its own ``X-Request-ID``, so even a request that never arrived has one).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIError",
    "AuthenticationError",
    "CallplaneError",
    "Conflict",
    "NotFound",
    "PermissionDenied",
    "PreconditionFailed",
    "RateLimited",
    "RequestTimeout",
    "ServerError",
    "TransportError",
    "ValidationError",
]


class CallplaneError(Exception):
    """The root of every error this client raises."""

    def __init__(self, message: str, *, request_id: str) -> None:
        super().__init__(message)
        self.message = message
        self.request_id = request_id

    def __str__(self) -> str:
        return f"{self.message} (request {self.request_id})"


class TransportError(CallplaneError):
    """The server could not be reached, or the connection broke before an answer came."""

    def __init__(self, message: str, *, request_id: str, url: str) -> None:
        super().__init__(message, request_id=request_id)
        self.url = url


class RequestTimeout(TransportError):
    """No answer within the configured timeout."""


class APIError(CallplaneError):
    """The server answered with an error: its status, stable ``code``, message and details."""

    def __init__(
        self,
        message: str,
        *,
        request_id: str,
        status_code: int,
        code: str,
        details: Any = None,
    ) -> None:
        super().__init__(message, request_id=request_id)
        self.status_code = status_code
        self.code = code
        self.details = details

    def __str__(self) -> str:
        return f"{self.code}: {self.message} (HTTP {self.status_code}, request {self.request_id})"


class ValidationError(APIError):
    """The request was refused as input (422 or a malformed body); ``field`` names what."""

    @property
    def field(self) -> str | None:
        """The first field the server named, e.g. ``e164`` or ``numbers[3].e164``."""
        errors = self.errors
        if errors and isinstance(errors[0].get("field"), str):
            return str(errors[0]["field"])
        return None

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Every refused field or batch item, as the server listed them (may be empty)."""
        if isinstance(self.details, dict) and isinstance(self.details.get("errors"), list):
            return [e for e in self.details["errors"] if isinstance(e, dict)]
        return []


class AuthenticationError(APIError):
    """The API key is missing, unknown or revoked (401)."""


class PermissionDenied(APIError):
    """The key is valid but may not do this (403)."""


class NotFound(APIError):
    """No such resource in this workspace (404); another workspace's look the same."""


class Conflict(APIError):
    """The rules refuse the change as things stand (409), e.g. ``number_already_assigned``."""


class PreconditionFailed(APIError):
    """The resource changed since the ETag sent in ``if_match`` (412); ``etag`` is the current
    one: read the resource again, reapply the change, and send it with that ETag."""

    def __init__(
        self,
        message: str,
        *,
        request_id: str,
        status_code: int,
        code: str,
        details: Any = None,
        etag: str | None = None,
    ) -> None:
        super().__init__(
            message, request_id=request_id, status_code=status_code, code=code, details=details
        )
        self.etag = etag


class RateLimited(APIError):
    """Too many requests with this key (429); ``retry_after`` says when to try again."""

    def __init__(
        self,
        message: str,
        *,
        request_id: str,
        status_code: int,
        code: str,
        details: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, request_id=request_id, status_code=status_code, code=code, details=details
        )
        self.retry_after = retry_after


class ServerError(APIError):
    """The server failed (5xx), or a provider behind it did (``provider_unavailable``)."""
