"""Every exception of the client, raised by the real app where the app can raise it: the class
comes from the error code, and each one carries the request id."""

from __future__ import annotations

import re

import httpx2
import pytest
from fastapi.testclient import TestClient

from callplane.app import create_app
from callplane.client import (
    APIError,
    AuthenticationError,
    CallplaneError,
    Client,
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    RequestTimeout,
    ServerError,
    TransportError,
    ValidationError,
)
from callplane.settings import Settings
from tests.client_support import InProcessTransport, client_for
from tests.helpers import SECRET, Backend, Tenant, make_tenant
from tests.live_server import free_port

REQUEST_ID = re.compile(r"^req_[0-9a-f]{24}$")


def test_not_found_conflict_and_validation_carry_code_field_and_request_id(
    tenant: Tenant,
) -> None:
    client = client_for(tenant)
    with pytest.raises(NotFound) as missing:
        client.numbers.get("+12025550100")
    assert (missing.value.status_code, missing.value.code) == (404, "number_not_found")
    assert REQUEST_ID.match(missing.value.request_id)
    assert missing.value.request_id in str(missing.value)
    assert "number_not_found" in str(missing.value)

    desk, other = client.agents.create("Desk", "inbound"), client.agents.create("Other", "inbound")
    client.numbers.create("+16286666348")
    client.numbers.assign("+16286666348", desk.id)
    with pytest.raises(Conflict) as taken:
        client.numbers.assign("+16286666348", other.id)
    assert (taken.value.status_code, taken.value.code) == (409, "number_already_assigned")
    # The request id is the one the server logged: the failed request left the state as it was.
    assert REQUEST_ID.match(taken.value.request_id)
    assert client.numbers.get("+16286666348").inbound_agent_id == desk.id

    with pytest.raises(ValidationError) as bad_number:
        client.numbers.create("+1")
    assert bad_number.value.code == "invalid_phone_number"
    assert bad_number.value.field == "e164"
    with pytest.raises(ValidationError) as bad_batch:
        client.numbers.create_batch(["+12025550143", {"e164": "+1", "friendly_name": "x"}])
    assert bad_batch.value.code == "batch_invalid"
    assert [e.get("index") for e in bad_batch.value.errors] == [1]
    with pytest.raises(ValidationError) as bad_request:
        client.agents.create("A" * 300, "inbound")
    assert (bad_request.value.code, bad_request.value.field) == ("invalid_request", "name")


def test_a_wrong_or_missing_key_is_an_authentication_error(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport = InProcessTransport(tenant.client)
    with pytest.raises(AuthenticationError) as wrong:
        Client(
            "http://testserver", "sk_live_not_a_key_at_all_0000", transport=transport
        ).numbers.summary()
    assert (wrong.value.status_code, wrong.value.code) == (401, "invalid_api_key")
    monkeypatch.delenv("CALLPLANE_API_KEY", raising=False)
    with pytest.raises(AuthenticationError) as missing:
        Client("http://testserver", transport=transport).workspace.get()
    assert missing.value.code == "missing_api_key"
    assert "CALLPLANE_API_KEY" in str(missing.value)
    assert REQUEST_ID.match(missing.value.request_id)


def test_the_rate_limit_is_rate_limited_with_retry_after(backend: Backend) -> None:
    settings = Settings(
        database_url=backend.url,
        secret_key=SECRET,
        release_worker=False,
        rate_limit_per_minute=1,
    )
    with TestClient(create_app(settings, backend.database)) as app_client:
        tenant = make_tenant(backend, app_client, "limited")
        client = client_for(tenant, max_retries=0)
        client.workspace.get()
        with pytest.raises(RateLimited) as limited:
            client.workspace.get()
    assert (limited.value.status_code, limited.value.code) == (429, "rate_limited")
    assert limited.value.retry_after is not None and 0 < limited.value.retry_after <= 61
    assert REQUEST_ID.match(limited.value.request_id)


def test_a_provider_outage_is_a_server_error(backend: Backend) -> None:
    settings = Settings(
        database_url=backend.url,
        secret_key=SECRET,
        release_worker=False,
        twilio_api_base_url=f"http://127.0.0.1:{free_port()}",  # nobody listens there
    )
    with TestClient(create_app(settings, backend.database)) as app_client:
        tenant = make_tenant(backend, app_client, "twilio")
        client = client_for(tenant, max_retries=0)
        client.workspace.update(twilio_account_sid="AC" + "0" * 32, twilio_auth_token="token-1234")
        with pytest.raises(ServerError) as outage:
            client.numbers.available(provider="twilio", country="US")
    assert (outage.value.status_code, outage.value.code) == (503, "provider_unavailable")
    assert REQUEST_ID.match(outage.value.request_id)


def test_no_server_is_a_transport_error_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TransportError) as down:
        Client(url, "sk_live_x", max_retries=0).numbers.summary()
    assert url in str(down.value) and down.value.url == f"{url}/v1/numbers/summary"
    assert REQUEST_ID.match(down.value.request_id)


def answering(response: httpx2.Response | Exception) -> httpx2.MockTransport:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if isinstance(response, Exception):
            raise response
        return response

    return httpx2.MockTransport(handler)


def test_a_timeout_is_a_request_timeout() -> None:
    client = Client(
        "http://callplane.test",
        "k",
        transport=answering(httpx2.ReadTimeout("slow")),
        max_retries=0,
    )
    with pytest.raises(RequestTimeout) as slow:
        client.numbers.summary()
    assert isinstance(slow.value, TransportError) and REQUEST_ID.match(slow.value.request_id)


def test_a_forbidden_answer_is_permission_denied() -> None:
    body = {"error": {"code": "forbidden", "message": "no"}, "meta": {"request_id": "req_abc"}}
    client = Client(
        "http://callplane.test", "k", transport=answering(httpx2.Response(403, json=body))
    )
    with pytest.raises(PermissionDenied) as denied:
        client.workspace.get()
    assert denied.value.request_id == "req_abc"


def test_something_that_is_not_callplane_is_an_api_error() -> None:
    html = httpx2.Response(200, text="<html>hello</html>", headers={"X-Request-ID": "req_proxy"})
    client = Client("http://callplane.test", "k", transport=answering(html))
    with pytest.raises(APIError) as odd:
        client.numbers.summary()
    assert odd.value.code == "unexpected_response" and odd.value.request_id == "req_proxy"
    wrong_shape = httpx2.Response(200, json={"data": {"total": "many"}, "meta": {}})
    with pytest.raises(APIError) as mismatch:
        Client("http://x", "k", transport=answering(wrong_shape)).numbers.summary()
    assert mismatch.value.code == "unexpected_response"


def test_every_error_is_a_callplane_error() -> None:
    for cls in (
        APIError,
        AuthenticationError,
        Conflict,
        NotFound,
        PermissionDenied,
        RateLimited,
        RequestTimeout,
        ServerError,
        TransportError,
        ValidationError,
    ):
        assert issubclass(cls, CallplaneError)
