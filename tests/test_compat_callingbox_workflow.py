"""A CallingBox client's whole number workflow, unchanged but for its base URL.

Every response is checked against CallingBox's field reference (``vendor_shapes``).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from callplane.compat.callingbox import agents as agent_routes
from callplane.compat.callingbox import numbers as number_routes
from tests.conformance.vendor_shapes import (
    CALLINGBOX_AGENT,
    CALLINGBOX_AGENTS,
    CALLINGBOX_AVAILABLE,
    CALLINGBOX_ERROR,
    CALLINGBOX_NUMBER,
    CALLINGBOX_NUMBERS,
    check,
)
from tests.helpers import Tenant

BASE = "/compat/callingbox/v1"


def _buy(tenant: Tenant, e164: str) -> str:
    response = tenant.post(f"{BASE}/numbers/purchase", {"phone_number": e164})
    assert response.status_code == 201, response.text
    number = check(CALLINGBOX_NUMBER, response.json())
    assert number["purchased_at"] is not None
    return str(number["id"])


def _agent(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(check(CALLINGBOX_AGENT, response.json()))


def _numbers(tenant: Tenant) -> dict[str, dict[str, Any]]:
    response = tenant.get(f"{BASE}/numbers")
    assert response.status_code == 200, response.text
    return {n["id"]: n for n in check(CALLINGBOX_NUMBERS, response.json())}


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = check(CALLINGBOX_ERROR, response.json())["error"]
    assert error["code"] == code, error
    return dict(error)


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """CallingBox lists are unpaged; callplane reads them in pages, here of one item each."""
    monkeypatch.setattr(agent_routes, "MAX_LIMIT", 1)
    monkeypatch.setattr(number_routes, "MAX_LIMIT", 1)


@pytest.mark.usefixtures("small_pages")
def test_callingbox_migration_story(tenant: Tenant) -> None:
    offered = tenant.get(f"{BASE}/numbers/available", params={"area_code": "415", "limit": 3})
    local = check(CALLINGBOX_AVAILABLE, offered.json())
    assert len(local) == 3 and all(o["phone_number"].startswith("+1415") for o in local)
    toll_free = tenant.get(f"{BASE}/numbers/available", params={"number_type": "toll_free"})
    assert {o["number_type"] for o in check(CALLINGBOX_AVAILABLE, toll_free.json())} == {
        "toll_free"
    }

    first, second, third = (_buy(tenant, o["phone_number"]) for o in local)
    fourth = _buy(tenant, toll_free.json()[0]["phone_number"])
    assert local[0]["phone_number"] not in [
        o["phone_number"] for o in tenant.get(f"{BASE}/numbers/available").json()
    ]

    created = tenant.post(
        f"{BASE}/agents",
        {
            "name": "Follow-ups",
            "type": "outbound",
            "voice": "alloy",
            "instructions": "Confirm the appointment.",
            "returns": {"confirmed": "boolean"},
            "number_ids": [first, second],
            "primary_number_id": first,
        },
    )
    caller = _agent(created, 201)
    assert (caller["primary_number_id"], sorted(n["id"] for n in caller["numbers"])) == (
        first,
        sorted([first, second]),
    )
    desk = _agent(
        tenant.post(
            f"{BASE}/agents",
            {"name": "Desk", "type": "inbound", "voice": "verse", "number_ids": [third]},
        ),
        201,
    )

    inventory = _numbers(tenant)
    assert inventory[first]["outbound_agent_ids"] == [caller["id"]]
    assert inventory[third]["inbound_agent_id"] == desk["id"]
    assert inventory[fourth]["inbound_agent_id"] is None

    outbound = check(CALLINGBOX_AGENTS, tenant.get(f"{BASE}/agents?type=outbound").json())
    assert [a["id"] for a in outbound["data"]] == [caller["id"]]
    assert len(tenant.get(f"{BASE}/agents").json()["data"]) == 2

    primary = tenant.put(f"{BASE}/agents/{caller['id']}/primary-number", {"number_id": second})
    assert _agent(primary)["primary_number_id"] == second
    attached = tenant.post(
        f"{BASE}/agents/{caller['id']}/numbers", {"number_id": fourth, "set_as_primary": True}
    )
    assert _agent(attached)["primary_number_id"] == fourth
    assert len(attached.json()["numbers"]) == 3
    patched = tenant.patch(
        f"{BASE}/agents/{caller['id']}", {"name": "Reminders", "voicemail_action": "leave_message"}
    )
    assert (_agent(patched)["name"], patched.json()["voicemail_action"]) == (
        "Reminders",
        "leave_message",
    )
    assert _agent(tenant.get(f"{BASE}/agents/{caller['id']}"))["primary_number_id"] == fourth

    detached = _agent(tenant.delete(f"{BASE}/agents/{caller['id']}/numbers/{fourth}"))
    assert detached["primary_number_id"] is None
    archived = _agent(tenant.delete(f"{BASE}/agents/{caller['id']}"))
    assert archived["archived_at"] is not None and archived["numbers"] == []
    assert [a["id"] for a in tenant.get(f"{BASE}/agents").json()["data"]] == [desk["id"]]
    inventory = _numbers(tenant)
    assert len(inventory) == 4 and inventory[first]["outbound_agent_ids"] == []


def test_callingbox_bad_input(tenant: Tenant, other_tenant: Tenant) -> None:
    mine = tenant.number("+12025550100")["id"][4:]
    spare = tenant.number("+12025550101")["id"][4:]
    desk = _agent(
        tenant.post(
            f"{BASE}/agents",
            {"name": "Desk", "type": "inbound", "voice": "v", "number_ids": [mine]},
        ),
        201,
    )
    theirs = other_tenant.agent("outbound", voice="v")["id"][4:]
    their_number = other_tenant.number("+12025550102")["id"][4:]

    _error(tenant.get(f"{BASE}/agents/{uuid.uuid4()}"), 404, "agent_not_found")
    _error(tenant.get(f"{BASE}/agents/{theirs}"), 404, "agent_not_found")
    _error(tenant.patch(f"{BASE}/agents/{theirs}", {"name": "x"}), 404, "agent_not_found")
    _error(tenant.delete(f"{BASE}/agents/{theirs}"), 404, "agent_not_found")
    foreign = tenant.post(f"{BASE}/agents/{desk['id']}/numbers", {"number_id": their_number})
    _error(foreign, 404, "number_not_found")

    _error(tenant.post(f"{BASE}/agents", {"name": 5, "type": "inbound"}), 400, "invalid_request")
    _error(tenant.post(f"{BASE}/agents", {"name": "A", "type": "sideways"}), 400, "invalid_request")
    wrong = {"name": "A", "type": "inbound", "number_ids": spare}
    _error(tenant.post(f"{BASE}/agents", wrong), 400, "invalid_request")
    _error(
        tenant.patch(f"{BASE}/agents/{desk['id']}", {"type": "outbound"}), 400, "agent_type_fixed"
    )
    _error(
        tenant.post(f"{BASE}/numbers/purchase", {"phone_number": "+1"}), 400, "invalid_phone_number"
    )
    _error(
        tenant.get(f"{BASE}/numbers/available", params={"limit": "many"}), 400, "invalid_request"
    )

    # Refusals leave nothing behind: no new agent, no new assignment.
    duplicate = {"name": "Second desk", "type": "inbound", "voice": "v", "number_ids": [mine]}
    _error(tenant.post(f"{BASE}/agents", duplicate), 409, "number_already_assigned")
    missing = {
        "name": "Caller",
        "type": "outbound",
        "voice": "v",
        "number_ids": [spare, their_number],
    }
    details = _error(tenant.post(f"{BASE}/agents", missing), 404, "number_not_found")["details"]
    assert [m["value"] for m in details["missing"]] == [their_number]
    unattached = {
        "name": "Caller",
        "type": "outbound",
        "voice": "v",
        "number_ids": [spare],
        "primary_number_id": mine,
    }
    _error(tenant.post(f"{BASE}/agents", unattached), 400, "primary_number_not_attached")
    assert [a["name"] for a in tenant.get(f"{BASE}/agents").json()["data"]] == ["Desk"]
    assert _numbers(tenant)[spare]["outbound_agent_ids"] == []

    primary = tenant.put(f"{BASE}/agents/{desk['id']}/primary-number", {"number_id": spare})
    _error(primary, 400, "primary_number_not_attached")
    caller = _agent(
        tenant.post(f"{BASE}/agents", {"name": "C", "type": "outbound", "voice": "v"}), 201
    )
    second_desk = _agent(
        tenant.post(f"{BASE}/agents", {"name": "D2", "type": "inbound", "voice": "v"}), 201
    )
    held = tenant.post(f"{BASE}/agents/{second_desk['id']}/numbers", {"number_id": mine})
    _error(held, 409, "number_already_assigned")
    _error(
        tenant.post(
            f"{BASE}/agents/{caller['id']}/numbers", {"number_id": spare, "set_as_primary": "yes"}
        ),
        400,
        "invalid_request",
    )
    assert _numbers(tenant)[spare]["outbound_agent_ids"] == []
