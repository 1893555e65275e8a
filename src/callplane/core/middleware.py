"""Request ids, access logging and the request body limit, as one small ASGI middleware."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callplane.core.envelope import error_body

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
access_log = logging.getLogger("callplane.access")

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
MAX_BODY_BYTES = 2 * 1024 * 1024


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _CLIENT_REQUEST_ID.match(given) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            length = headers.get(b"content-length", b"0")
            if length.isdigit() and int(length) > self.max_body_bytes:
                await _too_large(send_with_id, request_id, self.max_body_bytes)
                return
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "%s %s %d %.1fms",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
            request_id_var.reset(token)


async def _too_large(send: Send, request_id: str, limit: int) -> None:
    body = json.dumps(
        error_body(
            request_id, "payload_too_large", f"request body exceeds {limit} bytes", {"limit": limit}
        )
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class AdmissionMiddleware:
    """Admit at most ``limit`` requests at once; the rest wait here, holding nothing.

    Sync endpoints hop between worker threads (dependencies, endpoint, commit) while their
    transaction holds a pooled connection and, on SQLite, the write lock. If every worker thread
    were taken by requests waiting for a connection or a lock, the holders could never take
    their next hop. Keeping admitted requests at or below the connection pool and below the
    thread count makes that starvation impossible.
    """

    def __init__(self, app: ASGIApp, limit: int, exempt: tuple[str, ...] = ("/healthz",)) -> None:
        self.app = app
        self.limit = limit
        self.exempt = exempt
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.limit)
        async with self._semaphore:
            await self.app(scope, receive, send)
