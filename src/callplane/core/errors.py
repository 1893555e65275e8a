"""Domain errors: each carries a stable ``code``; every surface maps the kind to its own status.

Services raise these and never an HTTP exception, so the same rule produces the native
``{"error": …}`` body and each vendor's own error shape without being written twice.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request that the rules refuse. ``status`` is the native API's status for the kind."""

    status = 400
    # Set on a refusal whose audit event the service wrote (and nothing else): the request
    # boundary commits that event instead of rolling it back with the refused request.
    keeps_audit_event = False

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


class InvalidInput(DomainError):
    status = 422


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Unauthenticated(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class PreconditionFailed(DomainError):
    """An ``If-Match`` (or ``If-None-Match``) that the resource no longer meets."""

    status = 412


def not_found(resource: str, reference: str) -> NotFound:
    return NotFound(
        f"{resource}_not_found",
        f"No {resource.replace('_', ' ')} '{reference}' in this workspace",
        {"resource": resource, "id": reference},
    )
