"""Fixtures of the webhook tests: a receiving HTTP server, and a workspace allowed to use it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from callplane.app import create_app
from tests.helpers import Backend, Tenant, make_tenant, settings_for
from tests.webhooks.support import Receiver, receiving


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as found:
        yield found


@pytest.fixture
def hooks(backend: Backend) -> Iterator[Tenant]:
    """A workspace on an app that lets endpoints be plain http on loopback (the receiver)."""
    settings = settings_for(backend).model_copy(
        update={"allow_private_urls": True, "webhooks_allow_http": True}
    )
    with TestClient(create_app(settings, backend.database), raise_server_exceptions=False) as c:
        yield make_tenant(backend, c, "workspace-a")


@pytest.fixture
def other(backend: Backend, hooks: Tenant) -> Tenant:
    """A second workspace on the same app: its endpoints must be invisible to the first."""
    return make_tenant(backend, hooks.client, "workspace-b")
