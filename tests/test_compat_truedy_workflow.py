"""A Truedy client's whole number workflow, unchanged but for its base URL.

Errors are checked against the seed page's own schemas (``ErrorResponse``,
``HTTPValidationError``); successes against the envelope and lists Truedy documents.
"""

from __future__ import annotations

import uuid
from typing import Any

import jsonschema

from tests.conformance import seed_pages as seeds
from tests.conformance.vendor_shapes import (
    TRUEDY_AGENT_RESPONSE,
    TRUEDY_AGENTS,
    TRUEDY_NUMBER_RESPONSE,
    TRUEDY_NUMBERS,
    TRUEDY_RELEASED,
    TRUEDY_SEARCH,
    check,
)
from tests.helpers import Tenant

BASE = "/compat/truedy/api/public/v1"
NUMBERS = f"{BASE}/telephony/numbers"
SEED = seeds.openapi(seeds.TRUEDY_UNASSIGN)


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return dict(check(TRUEDY_NUMBER_RESPONSE, response.json())["data"])


def _agent(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(check(TRUEDY_AGENT_RESPONSE, response.json())["data"])


def _all_numbers(tenant: Tenant) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = []
    offset = 0
    while True:
        response = tenant.get(NUMBERS, params={"limit": 2, "offset": offset})
        assert response.status_code == 200, response.text
        page = check(TRUEDY_NUMBERS, response.json())
        listed += page["data"]
        offset += 2
        if not page["pagination"]["has_more"]:
            assert len(listed) == page["pagination"]["total"]
            return listed


def _error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    schema = seeds.schema_of_component(SEED, "ErrorResponse")
    jsonschema.Draft202012Validator(schema).validate(response.json())
    assert response.json()["error"]["code"] == code


def _invalid(response: Any) -> None:
    assert response.status_code == 422, response.text
    seeds.validate(SEED, 422, response.json())


def test_truedy_migration_story(tenant: Tenant) -> None:
    search = {"country_code": "US", "area_code": "212", "page": 1, "page_size": 2}
    first_page = check(TRUEDY_SEARCH, tenant.post(f"{NUMBERS}/search", search).json())
    assert len(first_page["data"]) == 2 and first_page["pagination"]["has_more"] is True
    second_page = check(
        TRUEDY_SEARCH, tenant.post(f"{NUMBERS}/search", {**search, "page": 2}).json()
    )
    offers = [o["phone_number"] for o in first_page["data"] + second_page["data"]]
    assert len(set(offers)) == 4 and all(o.startswith("+1212") for o in offers)

    bought = [_created(tenant.post(f"{NUMBERS}/purchase", {"phone_number": e})) for e in offers[:2]]
    twilio = _created(
        tenant.post(
            f"{NUMBERS}/import",
            {"phone_number": "+16286666348", "provider_type": "twilio", "api_key": "key"},
        )
    )
    sip = _created(
        tenant.post(
            f"{NUMBERS}/import",
            {
                "phone_number": "+33782990580",
                "provider_type": "custom_sip",
                "sip_username": "trunk",
                "sip_password": "secret",
                "sip_server": "sip.example.com",
                "friendly_name": "Paris",
            },
        )
    )
    assert (sip["provider"], sip["friendly_name"]) == ("custom_sip", "Paris")
    assert "secret" not in str(tenant.get(f"/v1/numbers/{sip['id']}").json())
    assert len(_all_numbers(tenant)) == 4

    desk = _agent(
        tenant.client.post(
            f"{BASE}/agents",
            json={
                "name": "Front desk",
                "voice_id": "v-1",
                "system_prompt": "Greet.",
                "greeting": "Hi",
            },
            headers={**tenant.auth, "X-Idempotency-Key": str(uuid.uuid4())},
        ),
        201,
    )
    caller = _agent(
        tenant.post(
            f"{BASE}/agents",
            {"name": "Dialer", "voice_id": "v-2", "system_prompt": "Call.", "type": "outbound"},
        ),
        201,
    )
    for number, agent, direction in (
        (bought[0], desk, "inbound"),
        (twilio, desk, "inbound"),
        (bought[1], caller, "outbound"),
        (sip, caller, "outbound"),
    ):
        assigned = tenant.post(
            f"{NUMBERS}/assign",
            {"number_id": number["id"], "agent_id": agent["id"], "assignment_type": direction},
        )
        assert assigned.status_code == 200, assigned.text
        assert assigned.json()["data"]["number_id"] == number["id"]

    listed = check(TRUEDY_AGENTS, tenant.get(f"{BASE}/agents", params={"name": "DESK"}).json())
    assert [a["id"] for a in listed["data"]] == [desk["id"]]
    assert tenant.get(f"{BASE}/agents", params={"status": "draft"}).json()["data"] == []
    paged = check(TRUEDY_AGENTS, tenant.get(f"{BASE}/agents", params={"limit": 1}).json())
    assert paged["pagination"] == {"total": 2, "limit": 1, "offset": 0, "has_more": True}
    seen = _agent(tenant.get(f"{BASE}/agents/{desk['id']}"))
    assert sorted(n["phone_number"] for n in seen["inbound_phone_numbers"]) == sorted(
        [bought[0]["phone_number"], "+16286666348"]
    )
    assert seen["outbound_phone_numbers"] == [] and seen["greeting"] == "Hi"
    dialer = _agent(tenant.get(f"{BASE}/agents/{caller['id']}"))
    assert {n["id"] for n in dialer["outbound_phone_numbers"]} == {bought[1]["id"], sip["id"]}

    updated = _agent(
        tenant.put(
            f"{BASE}/agents/{desk['id']}",
            {"name": None, "system_prompt": "Greet warmly.", "temperature": 0.5},
        )
    )
    assert (updated["name"], updated["system_prompt"]) == ("Front desk", "Greet warmly.")
    assert updated["greeting"] == "Hi" and len(updated["inbound_phone_numbers"]) == 2

    unassigned = tenant.post(
        f"{NUMBERS}/unassign", {"number_id": sip["id"], "assignment_type": "outbound"}
    )
    assert unassigned.status_code == 200, unassigned.text
    released = tenant.delete(f"{NUMBERS}/{bought[0]['id']}")
    assert check(TRUEDY_RELEASED, released.json())["data"]["released"] is True
    removed = tenant.delete(f"{NUMBERS}/{twilio['id'][4:]}")  # a bare UUID works too
    assert check(TRUEDY_RELEASED, removed.json())["data"]["released"] is False
    jobs = tenant.get("/v1/numbers/releases").json()["data"]
    assert [j["e164"] for j in jobs] == [bought[0]["phone_number"]]
    assert _agent(tenant.get(f"{BASE}/agents/{desk['id']}"))["inbound_phone_numbers"] == []
    remaining = {n["id"]: n for n in _all_numbers(tenant)}
    assert sorted(remaining) == sorted([bought[1]["id"], sip["id"]])
    assert remaining[sip["id"]]["outbound_agent_ids"] == []
    assert remaining[bought[1]["id"]]["outbound_agent_ids"] == [caller["id"]]


def test_truedy_bad_input(tenant: Tenant, other_tenant: Tenant) -> None:
    number = tenant.number("+12025550110")
    spare = tenant.number("+12025550111")
    desk = _agent(
        tenant.post(f"{BASE}/agents", {"name": "Desk", "voice_id": "v", "system_prompt": "p"}), 201
    )
    theirs = other_tenant.agent("inbound")
    their_number = other_tenant.number("+12025550112")
    assign = {"number_id": number["id"], "agent_id": desk["id"], "assignment_type": "inbound"}
    assert tenant.post(f"{NUMBERS}/assign", assign).status_code == 200

    unknown = {**assign, "number_id": f"num_{uuid.uuid4()}"}
    _error(tenant.post(f"{NUMBERS}/assign", unknown), 404, "number_not_found")
    _error(
        tenant.post(f"{NUMBERS}/assign", {**assign, "agent_id": theirs["id"]}),
        404,
        "agent_not_found",
    )
    _error(
        tenant.post(f"{NUMBERS}/assign", {**assign, "number_id": their_number["id"]}),
        404,
        "number_not_found",
    )
    _error(tenant.delete(f"{NUMBERS}/{their_number['id']}"), 404, "number_not_found")
    _error(tenant.get(f"{BASE}/agents/{theirs['id']}"), 404, "agent_not_found")
    _error(tenant.put(f"{BASE}/agents/{theirs['id']}", {"name": "x"}), 404, "agent_not_found")

    _invalid(tenant.post(f"{NUMBERS}/assign", {**assign, "assignment_type": "sideways"}))
    _invalid(tenant.post(f"{BASE}/agents", {"name": "No voice", "system_prompt": "p"}))
    _invalid(
        tenant.post(
            f"{BASE}/agents", {"name": "A", "voice_id": "v", "system_prompt": "p", "temperature": 2}
        )
    )
    _invalid(tenant.put(f"{BASE}/agents/{desk['id']}", {"temperature": "warm"}))
    _invalid(tenant.get(NUMBERS, params={"limit": 101}))
    _invalid(tenant.post(f"{NUMBERS}/search", {"page_size": 500}))
    _invalid(
        tenant.post(
            f"{NUMBERS}/import", {"phone_number": "+12025550113", "provider_type": "telnyx"}
        )
    )
    _error(
        tenant.post(f"{NUMBERS}/purchase", {"phone_number": "+16286666349"}),
        422,
        "number_not_available",
    )
    _error(tenant.post(f"{NUMBERS}/purchase", {"phone_number": "+1"}), 400, "invalid_phone_number")

    # Conflicts change nothing.
    second = _agent(
        tenant.post(f"{BASE}/agents", {"name": "Second", "voice_id": "v", "system_prompt": "p"}),
        201,
    )
    duplicate = {**assign, "agent_id": second["id"]}
    _error(tenant.post(f"{NUMBERS}/assign", duplicate), 409, "number_already_assigned")
    outbound = {**assign, "number_id": spare["id"], "assignment_type": "outbound"}
    _error(tenant.post(f"{NUMBERS}/assign", outbound), 409, "agent_type_mismatch")
    again = {"phone_number": number["e164"], "provider_type": "twilio", "api_key": "k"}
    _error(tenant.post(f"{NUMBERS}/import", again), 409, "number_already_exists")
    listed = {n["id"]: n for n in tenant.get(NUMBERS).json()["data"]}
    assert listed[number["id"]]["inbound_agent_id"] == desk["id"]
    assert listed[spare["id"]]["outbound_agent_ids"] == [] and len(listed) == 2
