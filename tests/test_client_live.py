"""The client against a real ``callplane serve`` process over TCP, on both databases, and what
it says when that server is gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from callplane.client import Client, TransportError
from tests.helpers import Backend, Tenant
from tests.live_server import live_server


def test_a_live_server(backend: Backend, tenant: Tenant, tmp_path: Path) -> None:
    with live_server(backend.url, tmp_path / "server.log") as base_url:
        with Client(base_url, tenant.key) as client:
            dialer = client.agents.create("Dialer", "outbound")
            client.numbers.create_batch([f"+1212555{i:04d}" for i in range(100, 107)])
            attached = client.agents.attach_numbers(dialer.id, ["+12125550100", "+12125550101"])
            assert attached.newly_attached == 2
            assert len(list(client.numbers.list(limit=2))) == 7  # four pages
            assert [n.e164 for n in client.numbers.list(agent_id=dialer.id)] == [
                "+12125550100",
                "+12125550101",
            ]
            client.numbers.purchase(["+12025550150"], agent_id=dialer.id)
            selection = client.routing.select_caller_id(dialer.id, "+12125559999")
            assert selection.number.e164 == "+12025550150"  # the only proven one
        stopped = Client(base_url, tenant.key, max_retries=0)
    with pytest.raises(TransportError) as gone:
        stopped.numbers.summary()
    assert base_url in str(gone.value)
