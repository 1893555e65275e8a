"""The Twilio voice webhook trusts only what Twilio signed, once, at the configured public URL."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from callplane.app import create_app
from callplane.core import ids
from callplane.core.hotdb import HotPool
from callplane.routing.call_legs import AnsweredCallLeg, CallLegs
from callplane.settings import Settings
from tests.helpers import SECRET, Tenant, settings_for
from tests.test_routing_inbound import LINE, TOKEN, _inbound_setup

PUBLIC = "https://voice.example.com"


def _post(
    client: TestClient, tenant: Tenant, signed_url: str, params: dict[str, str], **headers: str
) -> tuple[int, str]:
    response = client.post(
        f"/v1/telephony/twilio/{tenant.workspace_id}/voice",
        content=urlencode(params),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(signed_url, params),
            **headers,
        },
    )
    return response.status_code, response.text


def _params(call: str) -> dict[str, str]:
    return {"CallSid": "CA" + call * 32, "From": "+14155550100", "To": LINE}


def test_a_replayed_call_sid_is_refused(tenant: Tenant) -> None:
    _inbound_setup(tenant)
    url = f"http://testserver/v1/telephony/twilio/{tenant.workspace_id}/voice"
    first = _post(tenant.client, tenant, url, _params("a"))
    assert first[0] == 200, first[1]
    status, body = _post(tenant.client, tenant, url, _params("a"))  # the same signed request
    assert status == 409
    assert json.loads(body)["error"]["code"] == "twilio_request_replayed"
    assert _post(tenant.client, tenant, url, _params("b"))[0] == 200  # another leg is fine


def test_the_replay_record_is_shared_and_pruned(tenant: Tenant) -> None:
    database = tenant.backend.database
    workspace = ids.parse("workspace", tenant.workspace_id)
    assert workspace is not None
    day = dt.timedelta(hours=24)

    async def scenario() -> tuple[bool, ...]:
        # Two servers, each with its own pool, on the same database.
        pools = [HotPool(database.engine, 2) for _ in range(2)]
        one, other = (CallLegs(pool, database, day) for pool in pools)
        brief = CallLegs(pools[0], database, dt.timedelta(microseconds=1))
        try:
            return (
                await one.first_request(workspace, "CA-shared"),
                await other.first_request(workspace, "CA-shared"),
                await one.first_request(workspace, "CA-brief"),
                # Past the window a record no longer counts, pruned or not (docs/security.md).
                await brief.first_request(workspace, "CA-brief"),
            )
        finally:
            for pool in pools:
                pool.close()

    assert asyncio.run(scenario()) == (True, False, True, True)
    # Pruning, apart from the calls, deletes only the records past the window.
    brief = CallLegs(HotPool(database.engine, 1), database, dt.timedelta(minutes=1))
    assert brief.prune() == 0
    with database.transaction() as session:  # two minutes pass
        for leg in session.scalars(select(AnsweredCallLeg)):
            leg.seen_at -= dt.timedelta(minutes=2)
    assert brief.prune() == 2
    with database.transaction() as session:
        left = session.scalar(select(func.count()).select_from(AnsweredCallLeg))
    assert left == 0


def test_without_a_public_url_the_host_header_is_trusted_only_in_development() -> None:
    with pytest.raises(ValidationError, match="CALLPLANE_PUBLIC_BASE_URL"):
        Settings(env="production")
    own_secret = Settings(env="production", public_base_url=PUBLIC, secret_key=SECRET)  # type: ignore[arg-type]
    assert own_secret.env == "production"


def test_in_production_the_signature_is_checked_against_the_public_url(tenant: Tenant) -> None:
    _inbound_setup(tenant)
    settings = settings_for(tenant.backend).model_copy(
        update={"env": "production", "public_base_url": PUBLIC}
    )
    path = f"/v1/telephony/twilio/{tenant.workspace_id}/voice"
    with TestClient(create_app(settings, tenant.backend.database)) as client:
        # An attacker's request signed for a host of their choosing, sent with that Host header.
        forged = _post(
            client, tenant, f"http://evil.example{path}", _params("c"), Host="evil.example"
        )
        assert forged[0] == 403
        assert "invalid_twilio_signature" in forged[1]
        signed = _post(client, tenant, f"{PUBLIC}{path}", _params("d"), Host="evil.example")
        assert signed[0] == 200
