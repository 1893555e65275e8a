"""POST /v1/numbers has two paths on PostgreSQL: the usual create on the event loop
(``numbers.router.QuickCreate``) and the FastAPI route behind it, which answers everything the
first hands on. Both must answer, write, audit and notify the same, and count a request once."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2
import pytest

from callplane.core.ratelimit import RateLimiter
from callplane.numbers import hot_path
from tests.helpers import Tenant, error_code
from tests.test_api_keys import new_key

# What differs between two creates of two numbers, whoever made them.
_OWN = {"id", "e164", "slug", "created_at", "updated_at", "etag"}


def create(
    tenant: Tenant, e164: str, *, idempotent: bool = False, **fields: Any
) -> httpx2.Response:
    headers = {**tenant.auth, "Idempotency-Key": str(uuid.uuid4())} if idempotent else {}
    return tenant.client.post(
        "/v1/numbers", json={"e164": e164, **fields}, headers=headers or tenant.auth
    )


@pytest.fixture
def quick_creates(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The E.164s that QuickCreate inserted."""
    inserted: list[str] = []
    insert_number = hot_path.insert_number

    async def spy(*args: Any) -> Any:
        created = await insert_number(*args)
        if created is not None:
            inserted.append(created.number.e164)
        return created

    monkeypatch.setattr(hot_path, "insert_number", spy)
    return inserted


def webhook(tenant: Tenant, name: str, types: list[str], *, enabled: bool = True) -> str:
    url = f"https://hooks.example.com/{name}"
    response = tenant.post("/v1/webhook-endpoints", {"url": url, "event_types": types})
    assert response.status_code == 201, response.text
    endpoint_id = str(response.json()["data"]["id"])
    if not enabled:
        changed = tenant.patch(f"/v1/webhook-endpoints/{endpoint_id}", {"enabled": False})
        assert changed.status_code == 200, changed.text
    return endpoint_id


def delivered_events(tenant: Tenant, endpoint_id: str) -> list[str]:
    response = tenant.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return sorted(d["event_id"] for d in data if d["event_type"] == "number.imported")


def test_both_paths_answer_audit_and_notify_the_same(
    tenant: Tenant, quick_creates: list[str]
) -> None:
    every = webhook(tenant, "every", ["*"])
    imports = webhook(tenant, "imports", ["number.imported"])
    agents = webhook(tenant, "agents", ["agent.created"])
    disabled = webhook(tenant, "disabled", ["*"], enabled=False)
    fields = {"friendly_name": "Front desk", "monthly_cost_cents": 115, "provider": "twilio"}

    quick = create(tenant, "+16285550101", **fields)
    routed = create(tenant, "+16285550102", idempotent=True, **fields)

    assert (quick.status_code, routed.status_code) == (201, 201), (quick.text, routed.text)
    postgres = tenant.backend.name == "postgresql"
    assert quick_creates == (["+16285550101"] if postgres else [])
    mine, theirs = quick.json()["data"], routed.json()["data"]
    assert mine.keys() == theirs.keys()
    assert {k: v for k, v in mine.items() if k not in _OWN} == {
        k: v for k, v in theirs.items() if k not in _OWN
    }
    assert mine["version"] == 1 and mine["etag"] == f'"{mine["id"][4:].replace("-", "")}-1"'
    listed = tenant.get(f"/v1/numbers/{mine['id']}").json()["data"]
    assert {k: v for k, v in listed.items() if k != "etag"} == {
        k: v for k, v in mine.items() if k != "etag"
    }

    events = {e["resource_ids"][0]: e for e in tenant.events("number.imported")}
    made_quick, made_routed = events[mine["id"]], events[theirs["id"]]
    for made, answer in ((made_quick, mine), (made_routed, theirs)):
        assert made["resource_ids"] == [answer["id"]]
        assert made["before"] is None
        assert made["after"]["e164"] == answer["e164"]
    assert {**made_quick["after"], "e164": "-"} == {**made_routed["after"], "e164": "-"}
    assert made_quick["actor_key_id"] == made_routed["actor_key_id"] is not None

    both = sorted([made_quick["id"], made_routed["id"]])
    assert delivered_events(tenant, every) == both
    assert delivered_events(tenant, imports) == both
    assert delivered_events(tenant, agents) == []
    assert delivered_events(tenant, disabled) == []


def test_what_quick_create_hands_on_is_answered_by_the_route(
    tenant: Tenant, other_tenant: Tenant, quick_creates: list[str]
) -> None:
    """Held numbers, bad numbers, bad bodies, other content types: the route's answers."""
    assert create(tenant, "+16285550103").status_code == 201
    again = create(tenant, "+16285550103")
    assert (again.status_code, error_code(again)) == (409, "number_already_exists")
    elsewhere = create(other_tenant, "+16285550103")
    assert (elsewhere.status_code, error_code(elsewhere)) == (409, "number_not_available")
    bad_number = create(tenant, "+1628")
    assert (bad_number.status_code, error_code(bad_number)) == (422, "invalid_phone_number")
    bad_field = create(tenant, "+16285550104", monthly_cost_cents="much")
    assert bad_field.status_code == 422
    assert bad_field.json()["error"]["details"]["errors"][0]["field"] == "monthly_cost_cents"
    not_json = tenant.client.post(
        "/v1/numbers",
        content=b"e164=+16285550104",
        headers={**tenant.auth, "content-type": "text/plain"},
    )
    assert not_json.status_code == 422
    assert quick_creates == (["+16285550103"] if tenant.backend.name == "postgresql" else [])
    held = tenant.get("/v1/numbers", params={"q": "628555010"}).json()["data"]
    assert [n["e164"] for n in held] == ["+16285550103"]
    assert [n["e164"] for n in other_tenant.get("/v1/numbers").json()["data"]] == []


def test_keys_are_refused_as_by_the_route(tenant: Tenant) -> None:
    no_key = tenant.client.post("/v1/numbers", json={"e164": "+16285550105"})
    assert (no_key.status_code, error_code(no_key)) == (401, "missing_api_key")
    bad_key = tenant.client.post(
        "/v1/numbers", json={"e164": "+16285550105"}, headers={"Authorization": "Bearer sk_no"}
    )
    assert (bad_key.status_code, error_code(bad_key)) == (401, "invalid_api_key")
    reader = {"Authorization": f"Bearer {new_key(tenant.backend, tenant, scope='read')}"}
    refused = tenant.client.post("/v1/numbers", json={"e164": "+16285550105"}, headers=reader)
    assert (refused.status_code, error_code(refused)) == (403, "insufficient_scope")
    assert tenant.get("/v1/numbers").json()["data"] == []


def test_each_request_is_counted_once_against_the_rate_limit(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request QuickCreate counted and then handed on is not counted again by the route."""
    limiter: RateLimiter = tenant.client.app.state.rate_limiter  # type: ignore[attr-defined]
    checks: list[uuid.UUID | None] = []
    check = limiter.check

    async def counted(key_id: uuid.UUID | None) -> None:
        checks.append(key_id)
        await check(key_id)

    monkeypatch.setattr(limiter, "check", counted)
    requests = [
        lambda: create(tenant, "+16285550106"),  # created here
        lambda: create(tenant, "+16285550106"),  # held: handed on
        lambda: create(tenant, "+1628"),  # refused by the E.164 rules: handed on
        lambda: create(tenant, "+16285550107", monthly_cost_cents=-1),  # by the schema
        lambda: create(tenant, "+16285550108", idempotent=True),  # the route's alone
    ]
    for send in requests:
        before = len(checks)
        response = send()
        assert response.status_code in (201, 409, 422), response.text
        assert len(checks) == before + 1, response.request.content
