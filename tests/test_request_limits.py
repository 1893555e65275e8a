"""Request limits inside the app, on both databases: JSON depth, counted bodies, methods."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.helpers import Tenant, error_code


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": True}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_deeply_nested_json_is_422_not_500(tenant: Tenant) -> None:
    for depth in (300, 990):
        body = b'{"name": "Deep", "type": "outbound", "metadata": ' + b'{"a": ' * depth
        body += b"1" + b"}" * depth + b"}"
        response = tenant.client.post(
            "/v1/agents", content=body, headers={**tenant.auth, "Content-Type": "application/json"}
        )
        assert response.status_code == 422, (depth, response.text)
        assert error_code(response) == "json_too_deep"
        assert response.json()["error"]["details"] == {"limit": 32}
    # Nesting a real document needs stays fine, and is stored as sent.
    shallow = tenant.agent(name="Shallow", metadata=_nested(20))
    assert shallow["metadata"] == _nested(20)


def test_deep_json_is_refused_in_each_surface_shape(tenant: Tenant) -> None:
    body = b'{"number_id": ' + b"[" * 100 + b"]" * 100 + b"}"
    response = tenant.client.post(
        "/compat/truedy/api/public/v1/telephony/numbers/unassign",
        content=body,
        headers={**tenant.auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 400  # Truedy answers invalid input with a 400
    assert response.json()["error"]["code"] == "json_too_deep"


def test_a_chunked_body_is_counted_not_trusted(tenant: Tenant) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(48):  # 3 MB, sent without a Content-Length
            yield b" " * 65536

    response = tenant.client.post("/v1/agents", content=chunks(), headers=tenant.auth)
    assert response.status_code == 413
    assert error_code(response) == "payload_too_large"
    assert response.headers["connection"] == "close"


def test_unknown_methods_are_405_with_allow(tenant: Tenant) -> None:
    for method, path, allowed in (
        ("TRACE", "/v1/agents", {"GET", "POST"}),
        ("TRACE", "/healthz", {"GET"}),
        ("PROPFIND", "/v1/numbers/batch", {"POST"}),
        ("TRACE", "/compat/synthflow/v2/numbers/12025550199", {"DELETE"}),
    ):
        response = tenant.client.request(method, path, headers=tenant.auth)
        assert response.status_code == 405, (method, path)
        assert set(response.headers["allow"].replace(" ", "").split(",")) >= allowed
        assert "TRACE" not in response.headers["allow"]
