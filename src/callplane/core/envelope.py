"""The native API's envelope: ``{"data", "meta"}`` on success, ``{"error", "meta"}`` on failure."""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Meta(BaseModel):
    request_id: str
    ts: str


class Pagination(BaseModel):
    limit: int
    has_more: bool
    next_cursor: str | None


class Envelope(BaseModel, Generic[T]):
    data: T
    meta: Meta


class ListEnvelope(BaseModel, Generic[T]):
    data: list[T]
    meta: Meta
    pagination: Pagination


class FieldError(BaseModel):
    """One refused field; some codes add context (``value``, ``allowed``, ``limit``)."""

    model_config = ConfigDict(extra="allow")

    field: str = Field(description="Where, e.g. `e164` or `numbers[3].e164`; `body` for all")
    message: str
    type: str = Field(description="What kind of refusal, e.g. `missing` or `invalid_phone_number`")


class ErrorDetails(BaseModel):
    """Always an object: field errors under ``errors``; other codes add their own keys."""

    model_config = ConfigDict(extra="allow")

    errors: list[FieldError] = Field(
        default_factory=list, description="The refused fields, when the refusal is about input"
    )


class ErrorBody(BaseModel):
    code: str = Field(description="Stable snake_case code; the docs list every one")
    message: str = Field(description="A sentence for people, naming the problem and the fix")
    details: ErrorDetails = Field(
        description="Field errors under `errors`; the keys other codes add are listed per code "
        "in the docs' error reference"
    )


class ErrorEnvelope(BaseModel):
    error: ErrorBody
    meta: Meta


def timestamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def meta(request_id: str) -> Meta:
    return Meta(request_id=request_id, ts=timestamp())


def error_body(request_id: str, code: str, message: str, details: Any) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": message, "details": details},
        "meta": {"request_id": request_id, "ts": timestamp()},
    }
