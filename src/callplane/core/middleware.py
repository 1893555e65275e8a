"""The ASGI layers around the application: request context, request limits, admission.

Outermost first: ``RequestContextMiddleware`` (request id, access log, URL policy),
``RequestLimitMiddleware`` (headers, body size and deadline, JSON depth), then
``AdmissionMiddleware`` (at most as many requests inside as there are database connections).
The order is the point: a request reaches admission only with its whole body in hand, so a slow
or oversized client never holds anything scarce (docs/security.md, "Limits").
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from contextvars import ContextVar

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callplane.core import urls
from callplane.core.error_handlers import Problem, render_problem
from callplane.core.limits import RequestLimits, json_depth_exceeds

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
access_log = logging.getLogger("callplane.access")

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_CLOSE = (("Connection", "close"),)


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


class RequestContextMiddleware:
    """A request id on every request and response, one access-log line, the URL policy."""

    def __init__(self, app: ASGIApp, allow_private_urls: bool = False) -> None:
        self.app = app
        self.allow_private_urls = allow_private_urls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        given_id = given.decode("latin-1")
        request_id = given_id if _CLIENT_REQUEST_ID.match(given_id) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        policy = urls.allow_private_urls.set(self.allow_private_urls)
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
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "%s %s %d %.1fms",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
            urls.allow_private_urls.reset(policy)
            request_id_var.reset(token)


class RequestLimitMiddleware:
    """Refuse what is too large, too deep or too slow, before anything scarce is taken.

    The body is read here, in full, counting the bytes actually received (a chunked body has no
    ``Content-Length`` to trust) and within a deadline, then handed on from memory. Refusals are
    rendered in the shape of the request's surface.
    """

    def __init__(self, app: ASGIApp, limits: RequestLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        problem = self._header_problem(scope)
        if problem is None and not _has_body(headers):
            await self.app(scope, receive, send)
            return
        if problem is None:
            received = await self._read_body(headers, receive)
            if received is None:
                return  # the client left before sending its body: nobody to answer
            if isinstance(received, Problem):
                problem = received
            elif _is_json(headers) and json_depth_exceeds(received, self.limits.max_json_depth):
                problem = _json_too_deep(self.limits.max_json_depth)
            else:
                await self.app(scope, replay_body(received, receive), send)
                return
        await render_problem(Request(scope), problem)(scope, receive, send)

    def _header_problem(self, scope: Scope) -> Problem | None:
        headers = scope["headers"]
        size = len(scope.get("raw_path", b"")) + len(scope.get("query_string", b""))
        size += sum(len(name) + len(value) + 4 for name, value in headers)
        limits = self.limits
        if len(headers) <= limits.max_header_count and size <= limits.max_header_bytes:
            return None
        return Problem(
            431,
            "headers_too_large",
            f"request headers exceed {limits.max_header_bytes} bytes or "
            f"{limits.max_header_count} fields",
            {"max_bytes": limits.max_header_bytes, "max_fields": limits.max_header_count},
            extra_headers=_CLOSE,
        )

    async def _read_body(
        self, headers: list[tuple[bytes, bytes]], receive: Receive
    ) -> bytes | Problem | None:
        """The whole body; a Problem when it is too large or too slow; None if the client left."""
        limit = self.limits.max_body_bytes
        declared = _header(headers, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return _too_large(limit)
        chunks: list[bytes] = []
        received = 0
        try:
            async with asyncio.timeout(self.limits.body_timeout_seconds):
                more = True
                while more:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk = message.get("body", b"")
                    received += len(chunk)
                    if received > limit:
                        return _too_large(limit)
                    chunks.append(chunk)
                    more = message.get("more_body", False)
        except TimeoutError:
            seconds = self.limits.body_timeout_seconds
            return Problem(
                408,
                "request_timeout",
                f"the request body did not arrive within {seconds:g} s",
                {"timeout_seconds": seconds},
                extra_headers=_CLOSE,
            )
        return b"".join(chunks)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((value for key, value in headers if key == name), None)


def _has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    length = _header(headers, b"content-length")
    return _header(headers, b"transfer-encoding") is not None or (
        length is not None and length != b"0"
    )


def _is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    """FastAPI reads a body without a content type as JSON too."""
    content_type = _header(headers, b"content-type")
    return content_type is None or b"json" in content_type.lower()


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over the buffered body, then waits for the disconnect."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _too_large(limit: int) -> Problem:
    return Problem(
        413,
        "payload_too_large",
        f"request body exceeds {limit} bytes",
        {"limit": limit},
        extra_headers=_CLOSE,
    )


def _json_too_deep(limit: int) -> Problem:
    return Problem(
        422,
        "json_too_deep",
        f"the JSON body nests arrays and objects deeper than {limit} levels",
        {"limit": limit},
    )


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
