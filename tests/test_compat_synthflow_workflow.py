"""A Synthflow client's whole number workflow, unchanged but for its base URL.

Every response is checked against the shape Synthflow documents (``vendor_shapes``).
"""

from __future__ import annotations

from typing import Any

from tests.conformance.vendor_shapes import (
    SYNTHFLOW_ASSISTANTS,
    SYNTHFLOW_DELETED,
    SYNTHFLOW_ERROR,
    SYNTHFLOW_IMPORTED,
    SYNTHFLOW_NUMBER,
    SYNTHFLOW_NUMBERS,
    SYNTHFLOW_SAVED,
    SYNTHFLOW_STATUS_OK,
    check,
)
from tests.helpers import Tenant

BASE = "/compat/synthflow/v2"
NUMBERS = ("+16286666348", "+12025550190", "+12025550191", "+33782990580")


def _import(tenant: Tenant, e164: str, **fields: Any) -> dict[str, Any]:
    body = {
        "workspace_id": tenant.workspace_id,
        "phone_number": e164,
        "termination_uri": "sip.example.com",
        **fields,
    }
    response = tenant.post(f"{BASE}/custom-numbers", body)
    assert response.status_code == 200, response.text
    return dict(check(SYNTHFLOW_IMPORTED, response.json())["response"])


def _assistant(tenant: Tenant, type_: str, name: str, **fields: Any) -> str:
    body = {"type": type_, "name": name, "agent": {"prompt": "Be brief.", "voice_id": "v1"}}
    response = tenant.post(f"{BASE}/assistants", {**body, **fields})
    assert response.status_code == 200, response.text
    return str(check(SYNTHFLOW_SAVED, response.json())["response"]["model_id"])


def _numbers(tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    """Every page of ``GET /numbers``, two at a time, to the end."""
    listed: list[dict[str, Any]] = []
    offset = 0
    while True:
        response = tenant.get(
            f"{BASE}/numbers",
            params={"workspace": tenant.workspace_id, "limit": 2, "offset": offset, **params},
        )
        assert response.status_code == 200, response.text
        page = check(SYNTHFLOW_NUMBERS, response.json())["response"]
        listed += page["phone_numbers"]
        offset += 2
        if offset >= page["pagination"]["total_records"]:
            assert len(listed) == page["pagination"]["total_records"]
            return listed


def _number(tenant: Tenant, e164: str) -> dict[str, Any]:
    response = tenant.get(f"{BASE}/numbers/{e164[1:]}", params={"workspace": tenant.workspace_id})
    assert response.status_code == 200, response.text
    return dict(check(SYNTHFLOW_NUMBER, response.json()))


def _get_assistant(tenant: Tenant, model_id: str) -> dict[str, Any]:
    response = tenant.get(f"{BASE}/assistants/{model_id}")
    assert response.status_code == 200, response.text
    (assistant,) = check(SYNTHFLOW_ASSISTANTS, response.json())["response"]["assistants"]
    return dict(assistant)


def test_synthflow_migration_story(tenant: Tenant) -> None:
    imported = _import(tenant, NUMBERS[0], friendly_name="Front desk", provider_name="twilio")
    assert imported["phone_number"] == NUMBERS[0]
    for e164 in NUMBERS[1:]:
        _import(tenant, e164)

    # An inbound agent bound to its number at creation, an outbound one with a pool.
    receptionist = _assistant(tenant, "inbound", "Receptionist", phone_number=NUMBERS[0])
    caller = _assistant(tenant, "outbound", "Caller", description="Calls back leads")
    attach = tenant.put(
        f"{BASE}/assistants/{caller}/phone_numbers",
        {"phone_number_slugs": [NUMBERS[1][1:], NUMBERS[2][1:]]},
    )
    assert check(SYNTHFLOW_STATUS_OK, attach.json()) == {"status": "ok"}
    update = tenant.put(
        f"{BASE}/assistants/{caller}",
        {"phone_number": NUMBERS[1], "agent": {"prompt": "Be polite.", "llm": "gpt-4o"}},
    )
    assert check(SYNTHFLOW_SAVED, update.json())["details"] == {"phone": NUMBERS[1], "voice": "v1"}

    listed = _numbers(tenant)
    assert sorted(n["number"] for n in listed) == sorted(NUMBERS)
    assert [n["number"] for n in _numbers(tenant, is_available="false")] == [NUMBERS[0]]
    assert NUMBERS[0] not in [n["number"] for n in _numbers(tenant, is_available="true")]

    front = _number(tenant, NUMBERS[0])
    assert front["assistants"] == [receptionist]
    assert front["is_available"] is False
    assert (front["friendly_name"], front["provider_name"]) == ("Front desk", "twilio")
    assert front["sip_term_uri"] == "sip.example.com"

    patched = tenant.patch(
        f"{BASE}/numbers/{NUMBERS[1][1:]}",
        {"friendly_name": "Outbound 1", "sip_term_uri": "pbx.example.com", "uac_enabled": True},
    )
    assert check(SYNTHFLOW_STATUS_OK, patched.json()) == {"status": "ok"}
    second_patch = tenant.patch(f"{BASE}/numbers/{NUMBERS[1][1:]}", {"sip_auth_username": "u1"})
    assert check(SYNTHFLOW_STATUS_OK, second_patch.json()) == {"status": "ok"}
    outbound_one = _number(tenant, NUMBERS[1])
    assert outbound_one["sip_auth_username"] == "u1"
    assert outbound_one["friendly_name"] == "Outbound 1"
    assert outbound_one["sip_term_uri"] == "pbx.example.com"
    assert outbound_one["uac_enabled"] is True
    assert outbound_one["assistants"] == [caller]

    seen = _get_assistant(tenant, caller)
    assert sorted(n["number"] for n in seen["attached_phone_numbers"]) == sorted(NUMBERS[1:3])
    assert seen["phone_number"] == NUMBERS[1]
    assert seen["agent"]["prompt"] == "Be polite."
    assert seen["agent"]["llm"] == "gpt-4o"
    assert seen["description"] == "Calls back leads"
    everyone = tenant.get(f"{BASE}/assistants/", params={"limit": 1, "offset": 1})
    page = check(SYNTHFLOW_ASSISTANTS, everyone.json())["response"]
    assert page["pagination"] == {"total_records": 2, "limit": 1, "offset": 1}
    assert [a["model_id"] for a in page["assistants"]] == [caller]

    # The same agents natively: the model id maps to the agent, the native id still works.
    native = tenant.get("/v1/agents", params={"type": "outbound"}).json()["data"]
    (caller_native,) = native
    assert caller_native["primary_number_id"] is not None
    assert _get_assistant(tenant, caller_native["id"])["model_id"] == caller

    detached = tenant.delete(f"{BASE}/assistants/{caller}/phone_numbers/{NUMBERS[2][1:]}")
    assert check(SYNTHFLOW_STATUS_OK, detached.json()) == {"status": "ok"}
    deleted = tenant.delete(f"{BASE}/numbers/{NUMBERS[1][1:]}")
    assert check(SYNTHFLOW_STATUS_OK, deleted.json()) == {"status": "ok"}
    after = _get_assistant(tenant, caller)
    assert (after["attached_phone_numbers"], after["phone_number"]) == ([], "")
    assert (
        tenant.get(f"/v1/agents/{caller_native['id']}").json()["data"]["primary_number_id"] is None
    )

    gone = tenant.delete(f"{BASE}/assistants/{receptionist}")
    assert check(SYNTHFLOW_DELETED, gone.json())["status"] == "ok"
    missing = tenant.get(f"{BASE}/assistants/{receptionist}")
    assert missing.status_code == 404
    assert check(SYNTHFLOW_ERROR, missing.json())["detail"]["category"] == "not_found"
    assert _number(tenant, NUMBERS[0])["is_available"] is True
    assert sorted(n["number"] for n in _numbers(tenant)) == sorted([NUMBERS[0], *NUMBERS[2:]])


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(check(SYNTHFLOW_ERROR, response.json())["detail"])


def test_synthflow_bad_input(tenant: Tenant, other_tenant: Tenant) -> None:
    _import(tenant, NUMBERS[0])
    receptionist = _assistant(tenant, "inbound", "Receptionist", phone_number=NUMBERS[0])
    theirs = _assistant(other_tenant, "outbound", "Theirs")
    workspace = {"workspace": tenant.workspace_id}

    # Unknown and foreign ids are the same 404.
    _error(tenant.get(f"{BASE}/assistants/1726559381711x108708587477942990"), 404)
    _error(tenant.get(f"{BASE}/assistants/{theirs}"), 404)
    _error(tenant.put(f"{BASE}/assistants/{theirs}", {"name": "Mine now"}), 404)
    _error(tenant.delete(f"{BASE}/assistants/not-an-id"), 404)
    foreign = {"workspace": other_tenant.workspace_id}
    _error(tenant.get(f"{BASE}/numbers", params=foreign), 404)
    _error(other_tenant.get(f"{BASE}/numbers/{NUMBERS[0][1:]}", params=foreign), 404)
    _error(other_tenant.patch(f"{BASE}/numbers/{NUMBERS[0][1:]}", {"friendly_name": "x"}), 404)

    # Wrong types and shapes are 400 in Synthflow's shape.
    assert (
        "name"
        in _error(
            tenant.post(f"{BASE}/assistants", {"type": "inbound", "name": 7, "agent": {}}), 400
        )["description"]
    )
    _error(tenant.post(f"{BASE}/assistants", {"type": "widget", "name": "W", "agent": {}}), 400)
    _error(tenant.put(f"{BASE}/assistants/{receptionist}", {"is_recording": "yes"}), 400)
    huge = {"agent": {"notes": "x" * 9000}}
    assert (
        "agent" in _error(tenant.put(f"{BASE}/assistants/{receptionist}", huge), 400)["description"]
    )
    _error(tenant.patch(f"{BASE}/numbers/{NUMBERS[0][1:]}", {"uac_register_expires": 5}), 400)
    _error(tenant.get(f"{BASE}/numbers", params={**workspace, "limit": "all"}), 400)
    _error(tenant.get(f"{BASE}/numbers"), 400)  # workspace is required
    _error(tenant.get(f"{BASE}/numbers/+16286666348", params=workspace), 400)
    _error(
        tenant.post(
            f"{BASE}/custom-numbers",
            {"workspace_id": tenant.workspace_id, "phone_number": NUMBERS[1]},
        ),
        400,
    )
    _error(
        tenant.post(
            f"{BASE}/custom-numbers",
            {"workspace_id": tenant.workspace_id, "phone_number": "+1", "termination_uri": "x"},
        ),
        400,
    )

    # A number another inbound agent answers: refused, and no half-made agent stays behind.
    duplicate = tenant.post(
        f"{BASE}/assistants",
        {"type": "inbound", "name": "Second", "agent": {}, "phone_number": NUMBERS[0]},
    )
    assert _error(duplicate, 409)["category"] == "conflict"
    listed = tenant.get(f"{BASE}/assistants/").json()["response"]
    assert [a["name"] for a in listed["assistants"]] == ["Receptionist"]
    again = tenant.post(
        f"{BASE}/custom-numbers",
        {"workspace_id": tenant.workspace_id, "phone_number": NUMBERS[0], "termination_uri": "x"},
    )
    _error(again, 409)
    unknown_number = tenant.put(
        f"{BASE}/assistants/{receptionist}", {"phone_number": NUMBERS[2], "name": "Renamed"}
    )
    _error(unknown_number, 404)
    assert _get_assistant(tenant, receptionist)["name"] == "Receptionist"
