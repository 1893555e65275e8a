"""A real ``callplane serve`` process on a free loopback port, for tests of real concurrency."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

from tests.helpers import SECRET


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(
    database_url: str, log_path: Path, settings: dict[str, str] | None = None
) -> Iterator[str]:
    """``settings``: more CALLPLANE_* environment variables for this server."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CALLPLANE_SECRET_KEY": SECRET,
        "CALLPLANE_LOG_LEVEL": "WARNING",
        # Several servers share one PostgreSQL of 100 connections with the test process: each
        # keeps to 24 (16 for requests; 4 for the hot path's threads and 4 on its event loop)
        # unless a test says otherwise.
        "CALLPLANE_DB_POOL_SIZE": "6",
        "CALLPLANE_DB_MAX_OVERFLOW": "10",
        "CALLPLANE_HOT_PATH_CONNECTIONS": "4",
        **(settings or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "callplane", "serve", "--no-migrate", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120  # a loaded machine starts slowly
            while True:
                try:
                    if httpx2.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start: {log_path.read_text()[-2000:]}")
                time.sleep(0.1)
            yield base_url
        finally:
            process.terminate()
            process.wait(timeout=15)
