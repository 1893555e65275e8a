"""Numbers of other workspaces: no existence oracle, no squatting, no unproven caller ID."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from callplane.app import create_app
from callplane.cli import app as cli
from callplane.numbers.ownership import UNAVAILABLE_PER_HOUR
from callplane.settings import get_settings
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, fake_twilio
from tests.helpers import SECRET, Backend, Tenant, error_code, make_tenant, settings_for

SANDBOX = "+12025550100"  # a number the sandbox sells


def held_by_other(other: Tenant, count: int) -> list[str]:
    numbers = [f"+1305555{1000 + i:04d}" for i in range(count)]
    response = other.post("/v1/numbers/batch", {"numbers": [{"e164": n} for n in numbers]})
    assert response.status_code == 201, response.text
    return numbers


def test_a_batch_of_guesses_names_at_most_one_held_number(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    """The reported attack: 999 guesses plus one invalid item named every held guess."""
    held = held_by_other(other_tenant, 10)
    guesses = [f"+1305555{1000 + i:04d}" for i in range(999)]  # the 10 held ones among them
    with_invalid = tenant.post(
        "/v1/numbers/batch", {"numbers": [{"e164": g} for g in guesses] + [{"e164": "+1"}]}
    )
    assert with_invalid.status_code == 422
    assert [e["type"] for e in with_invalid.json()["error"]["details"]["errors"]] == [
        "invalid_phone_number"
    ]
    assert not any(n in with_invalid.text for n in held)

    valid_only = tenant.post("/v1/numbers/batch", {"numbers": [{"e164": g} for g in guesses]})
    assert (valid_only.status_code, error_code(valid_only)) == (422, "batch_invalid")
    errors = valid_only.json()["error"]["details"]["errors"]
    assert [(e["index"], e["type"], e["message"]) for e in errors] == [
        (0, "number_not_available", "this number is not available")
    ]
    assert sum(n in valid_only.text for n in held) == 1
    assert "workspace" not in valid_only.text.replace("workspace_id", "")
    # Nothing was imported, yet the refusal is in the audit log.
    assert tenant.get("/v1/numbers").json()["data"] == []
    audited = tenant.events("number.unavailable")
    assert [e["after"]["e164"] for e in audited] == [held[0]]


def test_asking_for_held_numbers_is_limited_per_hour(tenant: Tenant, other_tenant: Tenant) -> None:
    held = held_by_other(other_tenant, UNAVAILABLE_PER_HOUR + 2)
    for number in held[:UNAVAILABLE_PER_HOUR]:
        response = tenant.post("/v1/numbers", {"e164": number})
        assert (response.status_code, error_code(response)) == (409, "number_not_available")
    limited = tenant.post("/v1/numbers", {"e164": held[UNAVAILABLE_PER_HOUR]})
    assert (limited.status_code, error_code(limited)) == (429, "too_many_unavailable_numbers")
    assert held[UNAVAILABLE_PER_HOUR] not in limited.text
    batch = tenant.post("/v1/numbers/batch", {"numbers": [{"e164": held[-1]}]})
    assert batch.status_code == 429
    assert len(tenant.events("number.unavailable")) == UNAVAILABLE_PER_HOUR
    assert tenant.post("/v1/numbers", {"e164": "+14155550100"}).status_code == 201
    # The limit is the asking workspace's own: the holder is not slowed down.
    assert other_tenant.post("/v1/numbers", {"e164": "+14155550101"}).status_code == 201


def test_imported_numbers_are_unverified_and_not_caller_ids(
    tenant: Tenant, backend: Backend
) -> None:
    imported = tenant.number("+14155550100")
    vouched = tenant.verified_number("+14155550101")
    bought = tenant.post("/v1/numbers/purchase", {"phone_numbers": [SANDBOX]})
    assert bought.status_code == 201, bought.text
    assert imported["verified_by"] is None
    assert bought.json()["data"][0]["verified_by"] == "provider"
    caller = tenant.agent("outbound", "Dialer", outbound_strategy="rotate")
    attached = tenant.put(
        f"/v1/agents/{caller['id']}/numbers",
        {"phone_numbers": [imported["e164"], vouched["e164"], SANDBOX]},
    )
    assert attached.status_code == 200, attached.text
    body = {"agent_id": caller["id"], "to": "+14155550199"}
    picked = {tenant.post("/v1/routing/outbound", body).json()["data"]["number"]["e164"]}
    picked |= {tenant.post("/v1/routing/outbound", body).json()["data"]["number"]["e164"]}
    assert picked == {SANDBOX, vouched["e164"]}  # rotated over the proven ones only
    for proven in (vouched["e164"], SANDBOX):
        tenant.delete(f"/v1/agents/{caller['id']}/numbers/{proven}")
    only_unproven = tenant.post("/v1/routing/outbound", body)
    assert error_code(only_unproven) == "no_caller_id_available"


def test_a_squatted_number_gives_way_to_a_purchase(tenant: Tenant, other_tenant: Tenant) -> None:
    """The reported attack: an import without proof blocked the real owner's purchase (409)."""
    agent = tenant.agent("inbound", "Squatter")
    squat = tenant.number(SANDBOX)
    assigned = tenant.post(
        "/v1/numbers/assign",
        {"number_id": squat["id"], "agent_id": agent["id"], "assignment_type": "inbound"},
    )
    assert assigned.status_code == 200, assigned.text

    offered = other_tenant.get("/v1/numbers/available", params={"area_code": "202"})
    assert SANDBOX in [c["e164"] for c in offered.json()["data"]]
    bought = other_tenant.post("/v1/numbers/purchase", {"phone_numbers": [SANDBOX]})
    assert bought.status_code == 201, bought.text
    assert bought.json()["data"][0]["verified_by"] == "provider"

    assert tenant.get(f"/v1/numbers/{squat['id']}").status_code == 404
    displaced = tenant.events("number.displaced")
    assert len(displaced) == 1 and displaced[0]["before"]["e164"] == SANDBOX
    assert agent["id"] in displaced[0]["resource_ids"]
    assert other_tenant.workspace_id not in str(displaced)
    # The squatter cannot take it back.
    again = tenant.post("/v1/numbers", {"e164": SANDBOX})
    assert (again.status_code, error_code(again)) == (409, "number_not_available")


def test_a_verified_holder_keeps_its_number(tenant: Tenant, other_tenant: Tenant) -> None:
    assert tenant.post("/v1/numbers/purchase", {"phone_numbers": [SANDBOX]}).status_code == 201
    imported = other_tenant.post("/v1/numbers", {"e164": SANDBOX})
    assert (imported.status_code, error_code(imported)) == (409, "number_not_available")
    bought = other_tenant.post("/v1/numbers/purchase", {"phone_numbers": [SANDBOX]})
    assert (bought.status_code, error_code(bought)) == (409, "number_not_available")
    assert tenant.get(f"/v1/numbers/{SANDBOX}").json()["data"]["verified_by"] == "provider"


@pytest.fixture
def twilio_owner(backend: Backend, tenant: Tenant) -> Iterator[tuple[Tenant, list[str]]]:
    """A workspace whose Twilio account holds two numbers; the tenant squats one of them."""
    with fake_twilio() as twilio:
        settings = settings_for(backend).model_copy(update={"twilio_api_base_url": twilio.url})
        with TestClient(create_app(settings, backend.database)) as client:
            owner = make_tenant(backend, client, "twilio-owner")
            owner.patch(
                "/v1/workspace",
                {"twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN},
            )
            numbers = ["+14155550150", "+14155550151"]
            for number in numbers:
                twilio.own(number)
            yield owner, numbers


def test_a_number_found_in_the_own_twilio_account_displaces_a_squatter(
    tenant: Tenant, twilio_owner: tuple[Tenant, list[str]]
) -> None:
    owner, (squatted, mine_unproven) = twilio_owner
    tenant.number(squatted)
    owner.number(mine_unproven)  # imported by hand first, proven by the provider later
    response = owner.post("/v1/numbers/import", {"provider": "twilio", "configure_voice": False})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [n["e164"] for n in data["imported"]] == [squatted]
    assert data["verified"] == [mine_unproven] and data["in_other_workspace"] == []
    listed = owner.get("/v1/numbers").json()["data"]
    assert {n["e164"]: n["verified_by"] for n in listed} == {
        squatted: "provider",
        mine_unproven: "provider",
    }
    assert tenant.get(f"/v1/numbers/{squatted}").status_code == 404
    assert [e["before"]["e164"] for e in tenant.events("number.displaced")] == [squatted]


def test_an_operator_verifies_with_an_explicit_flag(
    tenant: Tenant, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant.number("+14155550100")
    monkeypatch.setenv("DATABASE_URL", backend.url)
    monkeypatch.setenv("CALLPLANE_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        unflagged = runner.invoke(
            cli, ["verify-number", "+14155550100", "--workspace", tenant.workspace_id]
        )
        flagged = runner.invoke(
            cli,
            [
                "verify-number",
                "+14155550100",
                "--workspace",
                tenant.workspace_id,
                "--ownership-checked",
            ],
        )
        unknown = runner.invoke(
            cli,
            [
                "verify-number",
                "+14155550199",
                "--workspace",
                tenant.workspace_id,
                "--ownership-checked",
            ],
        )
    finally:
        get_settings.cache_clear()
    assert unflagged.exit_code == 1 and "--ownership-checked" in unflagged.output
    assert tenant.get("/v1/numbers/14155550100").json()["data"]["verified_by"] == "operator"
    assert flagged.exit_code == 0, flagged.output
    assert unknown.exit_code == 1 and "number_not_found" in unknown.output
    assert tenant.events("number.verified")[0]["after"]["verified_by"] == "operator"
