"""The HTTP protocol ``callplane serve`` gives uvicorn: limits that only the protocol can enforce.

The application sees a request once its headers are complete, so two attacks are over before it
could act: headers that never end (httptools accepts a 50 MB header, gathering it by repeated
concatenation that stalls the event loop) and connections that send their headers slowly or
not at all (uvicorn's own keep-alive timeout starts only after a first response). This protocol
bounds both: the header section may take ``max_header_bytes`` and ``header_timeout_seconds``,
after which the connection gets a 431 or a 408 and is closed. The request-limit middleware
checks header size and count again inside the app, for servers other than this one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from callplane.settings import get_settings

LINGER_SECONDS = 1.0


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a byte and time budget for each header section."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self._max_header_bytes = settings.max_header_bytes
        self._header_timeout = settings.header_timeout_seconds
        self._in_headers = True  # a new connection owes its first request's headers
        self._header_bytes = 0
        self._header_clock: asyncio.TimerHandle | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_clock()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # already answered; what is still in flight is dropped
        was_in_headers = self._in_headers
        super().data_received(data)
        if was_in_headers and self._in_headers and not self.transport.is_closing():
            # The whole chunk belonged to an unfinished header section.
            self._header_bytes += len(data)
            if self._header_bytes > self._max_header_bytes:
                self._refuse(431, "Request Header Fields Too Large", "request headers too large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers = True
        self._header_bytes = 0
        self._start_header_clock()

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._stop_header_clock()
        super().on_headers_complete()

    def _start_header_clock(self) -> None:
        if self._header_clock is None:
            self._header_clock = self.loop.call_later(self._header_timeout, self._headers_late)

    def _stop_header_clock(self) -> None:
        if self._header_clock is not None:
            self._header_clock.cancel()
            self._header_clock = None

    def _headers_late(self) -> None:
        self._header_clock = None
        if self._in_headers and not self._refused and not self.transport.is_closing():
            self._refuse(408, "Request Timeout", "request headers did not arrive in time")

    def _refuse(self, status: int, reason: str, message: str) -> None:
        body = message.encode("ascii")
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (status, reason.encode("ascii"), len(body), body)
        )
        self._stop_header_clock()
        # Closing a socket with unread input resets it, and a reset can destroy the answer
        # before the client reads it: stop reading and close a moment later instead.
        self._refused = True
        self.transport.pause_reading()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
