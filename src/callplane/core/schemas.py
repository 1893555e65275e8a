"""Field types shared by the native API's request and response models."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from callplane.core import urls

Language = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$", max_length=35)
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
MAX_METADATA_BYTES = 8192
VERSION_DOC = (
    "Counts every change to the resource; it goes up by at least one on each (see docs/etags.md)."
)
ETAG_DOC = (
    "The ETag of this version: send it in If-Match to change the resource only if nobody "
    "changed it meanwhile."
)


_HTTP_URL = TypeAdapter(AnyHttpUrl)


def _http_url(value: str) -> str:
    """Checked as a public http(s) URL (core/urls.py), kept exactly as the client wrote it."""
    _HTTP_URL.validate_python(value)
    return urls.check_url(value, ("http", "https"))


def _stream_url(value: str) -> str:
    return urls.check_url(value, ("ws", "wss"))


WebhookUrl = Annotated[str, StringConstraints(max_length=2048), AfterValidator(_http_url)]
# The media WebSocket a call streams to (agent, or a workspace's default).
StreamUrl = Annotated[
    str, StringConstraints(pattern=r"^wss?://\S+$", max_length=2048), AfterValidator(_stream_url)
]


def _forward_target(value: str) -> str:
    """A SIP URI's host must be public too; an E.164 number is parsed by the service."""
    return urls.check_sip_uri(value) if value.startswith(("sip:", "sips:")) else value


ForwardTarget = Annotated[str, StringConstraints(max_length=255), AfterValidator(_forward_target)]


def _small_object(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata must serialise to at most {MAX_METADATA_BYTES} bytes")
    return value


Metadata = Annotated[dict[str, Any], Field(max_length=50), AfterValidator(_small_object)]
Tools = Annotated[list[Metadata], Field(max_length=50)]


class Input(BaseModel):
    """Request bodies: unknown fields and loose types are refused, not silently ignored.

    Text must also be storable: PostgreSQL refuses NUL characters and unpaired surrogates
    (which JSON can carry as ``\\u0000`` and ``\\ud83d``), so they are a 422 here rather than
    a database error later.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        if (problem := unstorable_text(data)) is not None:
            raise ValueError(problem)
        return data


def unstorable_text(value: Any, path: str = "body") -> str | None:
    """Where ``value`` holds text no database can store, and why; None when it is all fine."""
    if isinstance(value, str):
        if "\x00" in value:
            return f"{path}: contains a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{path}: contains an unpaired surrogate, not valid Unicode text"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = unstorable_text(key, f"{path} (a key)") or unstorable_text(
                item, f"{path}.{key}"
            )
            if problem:
                return problem
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if problem := unstorable_text(item, f"{path}[{index}]"):
                return problem
    return None


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _upper(value: str) -> str:
    return value.upper()


CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$"), AfterValidator(_upper)]
CountryList = Annotated[list[CountryCode], Field(max_length=250)]
