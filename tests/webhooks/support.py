"""A real HTTP server on loopback that receives webhooks, and the pieces webhook tests share."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from callplane.webhooks.delivery import DeliveryWorker, Policy, Sender
from tests.helpers import Backend, Tenant


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


Script = Callable[[Received], Answer]


class Receiver:
    """Records every request; ``script`` decides each answer (200 "ok" unless told)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: Script = lambda _request: Answer()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                request = Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                with receiver._lock:
                    receiver.received.append(request)
                answer = receiver.script(request)
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
        thread.join(5)


LOCAL = Policy(
    timeout_seconds=2.0,
    backoff_seconds=60.0,
    backoff_max_seconds=3600.0,
    lease_seconds=30.0,
    allow_http=True,
    allow_private=True,
)


def worker_for(backend: Backend, policy: Policy = LOCAL, **options: Any) -> DeliveryWorker:
    return DeliveryWorker(backend.database, policy, Sender(policy), **options)


def endpoint(tenant: Tenant, url: str, **fields: Any) -> dict[str, Any]:
    response = tenant.post("/v1/webhook-endpoints", {"url": url, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def deliveries(tenant: Tenant, endpoint_id: str, **params: str) -> list[dict[str, Any]]:
    response = tenant.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])
