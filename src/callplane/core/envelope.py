"""The native API's envelope: ``{"data", "meta"}`` on success, ``{"error", "meta"}`` on failure."""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

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


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | list[Any] | None = None


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
