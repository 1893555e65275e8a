"""What a number provider does for callplane, and the errors every provider speaks.

Services call providers; HTTP code never does. Each adapter translates its vendor's failures
into the domain errors below, so a Twilio error code and a sandbox refusal reach the client as
the same stable ``code`` (and the release worker knows which failures are worth retrying).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from callplane.core.errors import Conflict, DomainError, InvalidInput, NotFound

PROVIDER_NAMES = ("sandbox", "twilio")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A number the provider offers for sale."""

    e164: str
    country_code: str | None
    locality: str | None = None
    region: str | None = None
    monthly_cost_cents: int | None = None


@dataclass(frozen=True, slots=True)
class OwnedNumber:
    """A number the provider account holds: just bought, or already there before callplane."""

    e164: str
    provider_ref: str
    friendly_name: str | None = None
    monthly_cost_cents: int = 0


@dataclass(frozen=True, slots=True)
class SearchQuery:
    country: str = "US"
    area_code: str | None = None
    contains: str | None = None
    limit: int = 20


class Provider(Protocol):
    """A number provider bound to one workspace's account."""

    name: str

    def search(self, query: SearchQuery) -> list[Candidate]: ...

    def purchase(self, e164: str, voice_url: str | None) -> OwnedNumber: ...

    def release(self, e164: str, provider_ref: str | None) -> None:
        """Cancel the number; releasing what the provider no longer has is success."""
        ...

    def configure_voice(self, provider_ref: str, voice_url: str) -> None: ...

    def owned(self) -> list[OwnedNumber]: ...


class ProviderUnavailable(DomainError):
    """The provider could not be reached or failed on its side: retry later."""

    status = 503


class ProviderFailed(DomainError):
    """The provider answered with an error callplane has no better name for."""

    status = 502


def unavailable(provider: str, reason: str) -> ProviderUnavailable:
    return ProviderUnavailable(
        "provider_unavailable",
        f"{provider} is unavailable ({reason}); nothing was changed, retry later",
        {"provider": provider},
    )


def unknown_provider(name: object) -> InvalidInput:
    return InvalidInput(
        "unknown_provider",
        f"provider: {name!r} is not one of {', '.join(PROVIDER_NAMES)}",
        {"field": "provider", "value": name, "allowed": list(PROVIDER_NAMES)},
    )


def not_configured(provider: str, missing: str) -> InvalidInput:
    return InvalidInput(
        "provider_not_configured",
        f"{provider} is not configured for this workspace: set {missing} with PATCH /v1/workspace",
        {"provider": provider, "missing": missing},
    )


def number_not_available(provider: str, e164: str, reason: str) -> Conflict:
    return Conflict(
        "number_not_available",
        f"{e164} cannot be bought from {provider}: {reason}",
        {"provider": provider, "e164": e164},
    )


def number_not_at_provider(provider: str, ref: str) -> NotFound:
    return NotFound(
        "provider_number_not_found",
        f"{provider} does not hold number '{ref}' in this account",
        {"provider": provider, "provider_ref": ref},
    )


def details(provider: str, **extra: Any) -> dict[str, Any]:
    return {"provider": provider, **extra}
