"""Each vendor's whole flow in its own terms, and one agent seen through every surface."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
import redis
from fastapi.testclient import TestClient

from callplane.app import create_app
from callplane.assignments import service as assignments
from callplane.core.ratelimit import RateLimited, SharedCounter, build_rate_limiter
from tests.conformance import seed_pages as seeds
from tests.helpers import Tenant, settings_for

SYNTHFLOW = "/compat/synthflow/v2"
TRUEDY = "/compat/truedy/api/public/v1"
CALLINGBOX = "/compat/callingbox/v1"


def test_synthflow_flow(tenant: Tenant) -> None:
    agent = tenant.agent("outbound")
    for e164 in ("+16286666348", "+12025550190", "+12025550191"):
        tenant.number(e164)
    attach = tenant.put(
        f"{SYNTHFLOW}/assistants/{agent['id']}/phone_numbers",
        {"phone_numbers": ["+16286666348", "+12025550190"]},
    )
    assert attach.json() == {"status": "ok"}
    by_slug = tenant.put(
        f"{SYNTHFLOW}/assistants/{agent['id']}/phone_numbers",
        {"phone_number_slugs": ["12025550191", "16286666348"]},
    )
    assert by_slug.json() == {"status": "ok"}
    assert len(tenant.get(f"/v1/agents/{agent['id']}/numbers").json()["data"]) == 3
    assert tenant.delete(
        f"{SYNTHFLOW}/assistants/{agent['id']}/phone_numbers/12025550190"
    ).json() == {"status": "ok"}
    assert tenant.delete(f"{SYNTHFLOW}/numbers/16286666348").json() == {"status": "ok"}
    remaining = tenant.get(f"/v1/agents/{agent['id']}/numbers").json()["data"]
    assert [n["e164"] for n in remaining] == ["+12025550191"]
    gone = tenant.delete(f"{SYNTHFLOW}/numbers/16286666348")
    assert gone.status_code == 404
    assert gone.json()["detail"]["category"] == "not_found"


def test_truedy_flow(tenant: Tenant) -> None:
    inbound = tenant.agent("inbound")
    number = tenant.number("+18005559876")
    assigned = tenant.post(
        f"{TRUEDY}/telephony/numbers/assign",
        {"number_id": number["id"], "agent_id": inbound["id"], "assignment_type": "inbound"},
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["data"]["agent_id"] == inbound["id"]
    assert assigned.json()["meta"]["request_id"].startswith("req_")
    second = tenant.agent("inbound", name="Second")
    conflict = tenant.post(
        f"{TRUEDY}/telephony/numbers/assign",
        {"number_id": number["id"], "agent_id": second["id"], "assignment_type": "inbound"},
    )
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "number_already_assigned"
    unassigned = tenant.post(
        f"{TRUEDY}/telephony/numbers/unassign",
        {"number_id": number["id"], "assignment_type": "inbound"},
    )
    assert unassigned.json()["data"]["agent_id"] is None
    assert unassigned.json()["data"]["number"] == "+18005559876"


def test_callingbox_flow(tenant: Tenant) -> None:
    inbound = tenant.agent("inbound", voice="alloy")
    number = tenant.number("+12025550192")
    agent_uuid, number_uuid = inbound["id"][4:], number["id"][4:]
    attached = tenant.post(f"{CALLINGBOX}/agents/{agent_uuid}/numbers", {"number_id": number_uuid})
    assert attached.status_code == 200, attached.text
    assert attached.json()["numbers"][0]["inbound_agent_id"] == agent_uuid
    assert tenant.get(f"{CALLINGBOX}/agents/{agent_uuid}").json()["numbers"][0]["id"] == number_uuid
    detached = tenant.delete(f"{CALLINGBOX}/agents/{agent_uuid}/numbers/{number_uuid}")
    assert detached.json()["numbers"] == []
    again = tenant.delete(f"{CALLINGBOX}/agents/{agent_uuid}/numbers/{number_uuid}")
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "number_not_attached"


def test_one_agent_through_every_surface(tenant: Tenant, other_tenant: Tenant) -> None:
    outbound = tenant.agent("outbound", voice="alloy")
    number = tenant.number("+12025550193")
    tenant.put(
        f"{SYNTHFLOW}/assistants/{outbound['id']}/phone_numbers",
        {"phone_numbers": ["+12025550193"]},
    )
    seen = tenant.get(f"{CALLINGBOX}/agents/{outbound['id'][4:]}").json()
    assert [n["e164"] for n in seen["numbers"]] == ["+12025550193"]
    assert seen["numbers"][0]["outbound_agent_ids"] == [outbound["id"][4:]]
    native = tenant.get(f"/v1/numbers/{number['id']}").json()["data"]
    assert native["outbound_agent_ids"] == [outbound["id"]]
    # Another workspace cannot see or touch it on any surface.
    assert other_tenant.get(f"{CALLINGBOX}/agents/{outbound['id'][4:]}").status_code == 404
    assert (
        other_tenant.post(
            f"{TRUEDY}/telephony/numbers/unassign",
            {"number_id": number["id"], "assignment_type": "outbound"},
        ).status_code
        == 404
    )
    assert other_tenant.delete(f"{SYNTHFLOW}/numbers/12025550193").status_code == 404
    unassigned = tenant.post(
        f"{TRUEDY}/telephony/numbers/unassign",
        {"number_id": number["id"], "assignment_type": "outbound"},
    )
    assert unassigned.status_code == 200
    assert tenant.get(f"{CALLINGBOX}/agents/{outbound['id'][4:]}").json()["numbers"] == []


def test_rate_limit_is_429_in_each_surface_shape(tenant: Tenant) -> None:
    settings = settings_for(tenant.backend).model_copy(update={"rate_limit_per_minute": 2})
    with TestClient(create_app(settings, tenant.backend.database)) as client:
        headers = tenant.auth
        url = f"{TRUEDY}/telephony/numbers/unassign"
        body = {"number_id": "+12025550199", "assignment_type": "inbound"}
        statuses = [client.post(url, json=body, headers=headers).status_code for _ in range(3)]
        assert statuses == [404, 404, 429]
        limited = client.post(url, json=body, headers=headers)
        assert limited.json()["error"]["code"] == "rate_limited"
        seeds.validate(seeds.openapi(seeds.TRUEDY_UNASSIGN), 429, limited.json())
        assert int(limited.headers["retry-after"]) >= 1
        synthflow = client.delete(f"{SYNTHFLOW}/numbers/12025550199", headers=headers)
        assert synthflow.status_code == 429
        assert synthflow.json()["detail"]["category"] == "rate_limited"


def test_unexpected_failure_is_500_in_truedy_shape(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("simulated fault inside the service")

    monkeypatch.setattr(assignments, "unassign", broken)
    response = tenant.post(
        f"{TRUEDY}/telephony/numbers/unassign",
        {"number_id": "+12025550199", "assignment_type": "inbound"},
    )
    assert response.status_code == 500
    seeds.validate(seeds.openapi(seeds.TRUEDY_UNASSIGN), 500, response.json())
    assert response.json() == {
        "error": {"code": "internal_error", "message": "internal server error", "details": None}
    }
    assert response.headers["x-request-id"].startswith("req_")
    assert "simulated" not in response.text


def test_redis_counter_is_shared_between_limiters() -> None:
    url = os.environ.get("CALLPLANE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError as exc:
        message = f"Redis not reachable at {url} ({exc}); start it or set CALLPLANE_TEST_REDIS_URL"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    first, second = build_rate_limiter(3, url, 1.0), build_rate_limiter(3, url, 1.0)
    assert isinstance(first.counter, SharedCounter)
    key = f"test-{uuid.uuid4()}"

    async def four_checks() -> None:
        for limiter in (first, second, first):
            await limiter.check(key)
        with pytest.raises(RateLimited, match="more than 3 requests"):
            await second.check(key)
        await first.close()
        await second.close()

    asyncio.run(four_checks())


def test_openapi_lists_each_surface_under_its_own_tag(tenant: Tenant) -> None:
    document = tenant.client.get("/openapi.json").json()
    tags = {
        path: {tag for operation in item.values() for tag in operation.get("tags", [])}
        for path, item in document["paths"].items()
    }
    assert tags[f"{SYNTHFLOW}/assistants/{{model_id}}/phone_numbers"] == {"compat: Synthflow v2"}
    assert tags[f"{TRUEDY}/telephony/numbers/unassign"] == {"compat: Truedy public v1"}
    assert tags[f"{CALLINGBOX}/agents/{{id}}/numbers/{{number_id}}"] == {"compat: CallingBox v1"}
    assert tags["/v1/numbers/assign"] == {"numbers"}
