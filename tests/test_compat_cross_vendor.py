"""One data set behind every surface: a change through one vendor's API is what the other two
vendors' APIs and the native API show next."""

from __future__ import annotations

from typing import Any

from tests.conformance.vendor_shapes import (
    CALLINGBOX_AGENT,
    CALLINGBOX_NUMBERS,
    SYNTHFLOW_ASSISTANTS,
    SYNTHFLOW_NUMBER,
    TRUEDY_AGENT_RESPONSE,
    TRUEDY_NUMBERS,
    check,
)
from tests.helpers import Tenant

SYNTHFLOW = "/compat/synthflow/v2"
CALLINGBOX = "/compat/callingbox/v1"
TRUEDY = "/compat/truedy/api/public/v1"


class Surfaces:
    """What each surface says about the workspace, read the way its own clients read it."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant

    def synthflow_number(self, e164: str) -> dict[str, Any]:
        params = {"workspace": self.tenant.workspace_id}
        response = self.tenant.get(f"{SYNTHFLOW}/numbers/{e164[1:]}", params=params)
        return dict(check(SYNTHFLOW_NUMBER, response.json()))

    def synthflow_assistant(self, model_id: str) -> dict[str, Any]:
        response = self.tenant.get(f"{SYNTHFLOW}/assistants/{model_id}")
        (assistant,) = check(SYNTHFLOW_ASSISTANTS, response.json())["response"]["assistants"]
        return dict(assistant)

    def callingbox_numbers(self) -> dict[str, dict[str, Any]]:
        response = self.tenant.get(f"{CALLINGBOX}/numbers")
        return {n["e164"]: n for n in check(CALLINGBOX_NUMBERS, response.json())}

    def callingbox_agent(self, agent_uuid: str) -> dict[str, Any]:
        return dict(
            check(CALLINGBOX_AGENT, self.tenant.get(f"{CALLINGBOX}/agents/{agent_uuid}").json())
        )

    def truedy_numbers(self) -> dict[str, dict[str, Any]]:
        response = self.tenant.get(f"{TRUEDY}/telephony/numbers")
        return {n["phone_number"]: n for n in check(TRUEDY_NUMBERS, response.json())["data"]}

    def truedy_agent(self, agent_id: str) -> dict[str, Any]:
        response = self.tenant.get(f"{TRUEDY}/agents/{agent_id}")
        return dict(check(TRUEDY_AGENT_RESPONSE, response.json())["data"])

    def native_number(self, e164: str) -> dict[str, Any]:
        return dict(self.tenant.get(f"/v1/numbers/{e164}").json()["data"])

    def native_agent(self, agent_id: str) -> dict[str, Any]:
        return dict(self.tenant.get(f"/v1/agents/{agent_id}").json()["data"])


def test_changes_through_one_vendor_are_seen_by_the_others(tenant: Tenant) -> None:
    seen = Surfaces(tenant)
    pool, line = "+16286666348", "+12125550150"

    # Synthflow: import a number, create an outbound assistant, attach the number to it.
    imported = tenant.post(
        f"{SYNTHFLOW}/custom-numbers",
        {"workspace_id": tenant.workspace_id, "phone_number": pool, "termination_uri": "sip.x"},
    )
    assert imported.status_code == 200, imported.text
    created = tenant.post(
        f"{SYNTHFLOW}/assistants", {"type": "outbound", "name": "Dialer", "agent": {}}
    )
    model_id = created.json()["response"]["model_id"]
    tenant.put(f"{SYNTHFLOW}/assistants/{model_id}/phone_numbers", {"phone_numbers": [pool]})
    (native_dialer,) = tenant.get("/v1/agents").json()["data"]
    dialer_id, dialer_uuid = native_dialer["id"], native_dialer["id"][4:]
    assert seen.callingbox_numbers()[pool]["outbound_agent_ids"] == [dialer_uuid]
    assert seen.truedy_numbers()[pool]["outbound_agent_ids"] == [dialer_id]
    assert [n["phone_number"] for n in seen.truedy_agent(dialer_id)["outbound_phone_numbers"]] == [
        pool
    ]
    assert seen.native_number(pool)["outbound_agent_ids"] == [dialer_id]

    # CallingBox: buy a number and create an inbound agent answering it.
    bought = tenant.post(f"{CALLINGBOX}/numbers/purchase", {"phone_number": line})
    assert bought.status_code == 201, bought.text
    desk = tenant.post(
        f"{CALLINGBOX}/agents",
        {"name": "Desk", "type": "inbound", "voice": "v", "number_ids": [bought.json()["id"]]},
    ).json()
    desk_id = f"agt_{desk['id']}"
    desk_model_id = seen.synthflow_assistant(desk_id)["model_id"]
    assert seen.synthflow_number(line)["assistants"] == [desk_model_id]
    assert seen.synthflow_number(line)["is_available"] is False
    assert seen.truedy_numbers()[line]["inbound_agent_id"] == desk_id
    assert seen.native_number(line)["inbound_agent_id"] == desk_id

    # CallingBox: the attached Synthflow number becomes the dialer's primary caller ID.
    tenant.put(f"{CALLINGBOX}/agents/{dialer_uuid}/primary-number", {"number_id": pool})
    assert seen.synthflow_assistant(model_id)["phone_number"] == pool
    assert seen.native_agent(dialer_id)["primary_number_id"] == seen.native_number(pool)["id"]

    # Truedy: unassign the desk's number; rename the desk.
    tenant.post(
        f"{TRUEDY}/telephony/numbers/unassign", {"number_id": line, "assignment_type": "inbound"}
    )
    assert seen.callingbox_agent(desk["id"])["numbers"] == []
    assert seen.synthflow_number(line)["is_available"] is True
    assert seen.native_number(line)["inbound_agent_id"] is None
    tenant.put(f"{TRUEDY}/agents/{desk_id}", {"name": "Reception"})
    assert seen.synthflow_assistant(desk_model_id)["name"] == "Reception"
    assert seen.callingbox_agent(desk["id"])["name"] == "Reception"

    # Truedy: release the Synthflow number; the primary it was goes with it everywhere.
    assert (
        tenant.delete(f"{TRUEDY}/telephony/numbers/{seen.native_number(pool)['id']}").status_code
        == 200
    )
    assert seen.synthflow_assistant(model_id)["attached_phone_numbers"] == []
    assert seen.callingbox_agent(dialer_uuid)["primary_number_id"] is None
    assert pool not in seen.callingbox_numbers()
    assert tenant.get(f"/v1/numbers/{pool}").status_code == 404

    # Synthflow: delete the dialer; CallingBox shows it archived, Truedy no longer lists it.
    tenant.delete(f"{SYNTHFLOW}/assistants/{model_id}")
    assert seen.callingbox_agent(dialer_uuid)["archived_at"] is not None
    assert tenant.get(f"{TRUEDY}/agents/{dialer_id}").status_code == 404
    listed = tenant.get(f"{TRUEDY}/agents").json()["data"]
    assert [a["id"] for a in listed] == [desk_id]
    assert seen.native_agent(dialer_id)["archived_at"] is not None

    # A Truedy agent is a Synthflow assistant and a CallingBox agent.
    made = tenant.post(
        f"{TRUEDY}/agents",
        {"name": "Closer", "voice_id": "v", "system_prompt": "Close.", "type": "outbound"},
    ).json()["data"]
    assert seen.callingbox_agent(made["id"][4:])["instructions"] == "Close."
    names = tenant.get(f"{SYNTHFLOW}/assistants/").json()["response"]["assistants"]
    assert sorted(a["name"] for a in names) == ["Closer", "Reception"]
