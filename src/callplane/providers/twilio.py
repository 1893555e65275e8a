"""Twilio, through the official ``twilio`` package, with the workspace's own credentials.

Every Twilio failure becomes a callplane domain error with a stable code: a refused credential,
a number someone else bought first, an outage. The auth token is never put in a message, an
error detail or a log line (the SDK's own request log does not carry it either).

``api_base_url`` exists so the tests can run the real SDK against a local server that answers
like Twilio's REST API; in production it stays ``https://api.twilio.com``.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from callplane.core.errors import DomainError, InvalidInput
from callplane.providers.base import (
    Candidate,
    OwnedNumber,
    ProviderFailed,
    ProviderUnavailable,
    SearchQuery,
    number_not_at_provider,
    number_not_available,
    unavailable,
)

NAME = "twilio"
TWILIO_API = "https://api.twilio.com"
TIMEOUT_SECONDS = 15.0
log = logging.getLogger("callplane.providers.twilio")

# Twilio error codes (https://www.twilio.com/docs/api/errors) that have a better name here.
AUTH_FAILED = {20003, 20005, 20006}
NOT_FOUND = {20404}
NOT_AVAILABLE = {21422, 21450, 21451, 21452, 21453}
RATE_LIMITED = {20429, 14107}
BAD_NUMBER = {21421, 21211}


class _RedirectingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # untyped SDK
    """The SDK's own HTTP client, sending ``https://api.twilio.com`` requests to another base."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=TIMEOUT_SECONDS)
        self._base = urlsplit(base_url.rstrip("/"))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API):
            parts = urlsplit(url)
            url = urlunsplit(
                (
                    self._base.scheme,
                    self._base.netloc,
                    self._base.path + parts.path,
                    parts.query,
                    "",
                )
            )
        return super().request(method, url, *args, **kwargs)


class TwilioProvider:
    """One workspace's Twilio account."""

    name = NAME

    def __init__(self, account_sid: str, auth_token: str, *, api_base_url: str = TWILIO_API):
        self._client = Client(
            account_sid,
            auth_token,
            http_client=_RedirectingHttpClient(api_base_url),
            environment={},  # never pick up TWILIO_* from the server's environment
        )

    def search(self, query: SearchQuery) -> list[Candidate]:
        country = self._client.available_phone_numbers(query.country.upper())
        kwargs: dict[str, Any] = {"limit": query.limit, "page_size": query.limit}
        if query.area_code:
            kwargs["area_code"] = int(query.area_code)
        if query.contains:
            kwargs["contains"] = query.contains
        try:
            records = country.local.list(**kwargs)
        except TwilioException as exc:
            if _code(exc) in NOT_AVAILABLE or _status(exc) == 404:
                return []  # Twilio answers "no numbers found" with an error; it is a result
            raise _translate(exc, "search") from exc
        except requests.RequestException as exc:
            raise unavailable(NAME, type(exc).__name__) from exc
        return [
            Candidate(
                str(r.phone_number),
                r.iso_country,
                locality=r.locality or None,
                region=r.region or None,
            )
            for r in records
        ]

    def purchase(self, e164: str, voice_url: str | None) -> OwnedNumber:
        kwargs: dict[str, Any] = {"phone_number": e164}
        if voice_url:
            kwargs.update(voice_url=voice_url, voice_method="POST")
        try:
            record = self._client.incoming_phone_numbers.create(**kwargs)
        except TwilioException as exc:
            if _code(exc) in NOT_AVAILABLE:
                raise number_not_available(NAME, e164, _message(exc)) from exc
            raise _translate(exc, "purchase", e164=e164) from exc
        except requests.RequestException as exc:
            raise unavailable(NAME, type(exc).__name__) from exc
        return OwnedNumber(str(record.phone_number), str(record.sid), record.friendly_name)

    def release(self, e164: str, provider_ref: str | None) -> None:
        try:
            sid = provider_ref or self._sid_of(e164)
            if sid is None:
                return  # the account no longer holds it: released already
            self._client.incoming_phone_numbers(sid).delete()
        except TwilioException as exc:
            if _code(exc) in NOT_FOUND or _status(exc) == 404:
                return  # deleted already (perhaps by a worker that died before recording it)
            raise _translate(exc, "release", e164=e164) from exc
        except requests.RequestException as exc:
            raise unavailable(NAME, type(exc).__name__) from exc

    def configure_voice(self, provider_ref: str, voice_url: str) -> None:
        try:
            self._client.incoming_phone_numbers(provider_ref).update(
                voice_url=voice_url, voice_method="POST"
            )
        except TwilioException as exc:
            if _code(exc) in NOT_FOUND or _status(exc) == 404:
                raise number_not_at_provider(NAME, provider_ref) from exc
            raise _translate(exc, "configure") from exc
        except requests.RequestException as exc:
            raise unavailable(NAME, type(exc).__name__) from exc

    def owned(self) -> list[OwnedNumber]:
        try:
            records = self._client.incoming_phone_numbers.list(page_size=1000)
        except TwilioException as exc:
            raise _translate(exc, "list") from exc
        except requests.RequestException as exc:
            raise unavailable(NAME, type(exc).__name__) from exc
        return [OwnedNumber(str(r.phone_number), str(r.sid), r.friendly_name) for r in records]

    def _sid_of(self, e164: str) -> str | None:
        records = self._client.incoming_phone_numbers.list(phone_number=e164, limit=1)
        return str(records[0].sid) if records else None


def _payload(exc: TwilioException) -> dict[str, Any]:
    """The error body, whichever way the SDK raised it (list requests raise a bare exception)."""
    response = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(response, Response):
        try:
            body = json.loads(response.text)
        except ValueError:
            return {"status": response.status_code}
        return {"status": response.status_code, **body} if isinstance(body, dict) else {}
    return {}


def _status(exc: TwilioException) -> int | None:
    if isinstance(exc, TwilioRestException):
        return int(exc.status)
    status = _payload(exc).get("status")
    return int(status) if isinstance(status, int) else None


def _code(exc: TwilioException) -> int | None:
    code = exc.code if isinstance(exc, TwilioRestException) else _payload(exc).get("code")
    return int(code) if isinstance(code, int) else None


def _message(exc: TwilioException) -> str:
    if isinstance(exc, TwilioRestException):
        return str(exc.msg).split(": ", 1)[-1]
    return str(_payload(exc).get("message") or "error")


def _translate(exc: TwilioException, action: str, **extra: Any) -> DomainError:
    status, code, message = _status(exc), _code(exc), _message(exc)
    details = {"provider": NAME, "action": action, "twilio_code": code, "twilio_status": status}
    details.update(extra)
    log.info("twilio %s failed: status=%s code=%s", action, status, code)
    if code in AUTH_FAILED or status == 401:
        return InvalidInput(
            "provider_credentials_rejected",
            "Twilio refused this workspace's account SID or auth token; "
            "fix them with PATCH /v1/workspace",
            details,
        )
    if code in RATE_LIMITED or status == 429:
        return ProviderUnavailable(
            "provider_rate_limited", "Twilio is rate limiting this account; retry later", details
        )
    if code in BAD_NUMBER:
        return InvalidInput("provider_rejected_number", f"Twilio: {message}", details)
    if status is None or status >= 500:
        return ProviderUnavailable(
            "provider_unavailable", f"Twilio failed on its side ({message}); retry later", details
        )
    return ProviderFailed("provider_error", f"Twilio refused the {action}: {message}", details)
