"""The vendor APIs buy from the workspace's provider: Twilio once configured, and a Twilio
failure reaches each vendor's client as that vendor's provider error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from callplane.app import create_app
from tests.conformance import seed_pages as seeds
from tests.conformance.vendor_shapes import CALLINGBOX_ERROR, CALLINGBOX_NUMBER, check
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, fake_twilio
from tests.helpers import Backend, Tenant, make_tenant, settings_for

CALLINGBOX = "/compat/callingbox/v1"
TRUEDY = "/compat/truedy/api/public/v1"


@pytest.fixture
def twilio_tenant(backend: Backend) -> Iterator[tuple[Tenant, FakeTwilio]]:
    with fake_twilio() as twilio:
        settings = settings_for(backend).model_copy(update={"twilio_api_base_url": twilio.url})
        with TestClient(create_app(settings, backend.database)) as client:
            tenant = make_tenant(backend, client, "twilio-workspace")
            configured = tenant.patch(
                "/v1/workspace",
                {"twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN},
            )
            assert configured.status_code == 200, configured.text
            yield tenant, twilio


def test_vendor_purchases_go_to_the_configured_twilio(
    twilio_tenant: tuple[Tenant, FakeTwilio],
) -> None:
    tenant, twilio = twilio_tenant
    twilio.for_sale = ["+14155550100", "+14155551234"]
    offered = tenant.get(f"{CALLINGBOX}/numbers/available", params={"area_code": "415"})
    assert [o["phone_number"] for o in offered.json()] == twilio.for_sale
    bought = tenant.post(f"{CALLINGBOX}/numbers/purchase", {"phone_number": "+14155550100"})
    assert bought.status_code == 201, bought.text
    assert check(CALLINGBOX_NUMBER, bought.json())["monthly_cost_cents"] == 115
    truedy = tenant.post(f"{TRUEDY}/telephony/numbers/purchase", {"phone_number": "+14155551234"})
    assert truedy.status_code == 201, truedy.text
    assert len(twilio.owned) == 2
    assert {n["provider"] for n in tenant.get("/v1/numbers").json()["data"]} == {"twilio"}
    released = tenant.delete(f"{TRUEDY}/telephony/numbers/{truedy.json()['data']['id']}")
    assert released.json()["data"]["released"] is True
    [job] = tenant.get("/v1/numbers/releases").json()["data"]
    assert (job["provider"], job["e164"]) == ("twilio", "+14155551234")


def test_an_unreachable_provider_is_each_vendors_provider_error(
    twilio_tenant: tuple[Tenant, FakeTwilio], backend: Backend
) -> None:
    tenant, _ = twilio_tenant
    settings = settings_for(backend).model_copy(
        update={"twilio_api_base_url": "http://127.0.0.1:9"}
    )
    with TestClient(create_app(settings, backend.database)) as client:
        callingbox = client.get(f"{CALLINGBOX}/numbers/available", headers=tenant.auth)
        truedy = client.post(
            f"{TRUEDY}/telephony/numbers/purchase",
            json={"phone_number": "+14155550100"},
            headers=tenant.auth,
        )
    assert callingbox.status_code == 502
    assert check(CALLINGBOX_ERROR, callingbox.json())["error"]["code"] == "provider_unavailable"
    assert truedy.status_code == 502
    seed = seeds.openapi(seeds.TRUEDY_UNASSIGN)
    check(seeds.schema_of_component(seed, "ErrorResponse"), truedy.json())
    assert truedy.json()["error"]["code"] == "provider_error"
    assert truedy.json()["error"]["details"]["reason"] == "provider_unavailable"
    assert tenant.get("/v1/numbers").json()["data"] == []
