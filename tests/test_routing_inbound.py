"""Inbound resolution for the media plane, and the Twilio voice webhook."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import psycopg
import pytest
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from callplane.routing.router import _ResolutionJson
from callplane.routing.service import AgentRoute, InboundRoute
from tests.conftest import POSTGRES_URL
from tests.helpers import Tenant, error_code

LINE = "+16286666348"
STREAM = "wss://media.example.com/stream"
TOKEN = "twilio-auth-token-for-tests-0001"


def _inbound_setup(tenant: Tenant) -> tuple[dict[str, str], dict[str, str]]:
    tenant.patch("/v1/workspace", {"default_stream_url": STREAM, "twilio_auth_token": TOKEN})
    agent = tenant.agent(
        "inbound",
        name="Front desk",
        persona="Warm",
        voice="alloy",
        language="en-US",
        webhook_url="https://example.com/hook",
    )
    number = tenant.number(LINE)
    tenant.post(
        "/v1/numbers/assign",
        {"number_id": number["id"], "agent_id": agent["id"], "assignment_type": "inbound"},
    )
    return agent, number


def _resolve(tenant: Tenant, to: str, caller: str | None = None) -> dict[str, object]:
    params = {"to": to, **({"from": caller} if caller else {})}
    response = tenant.get("/v1/routing/inbound", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def test_assigned_number_resolves_then_falls_back_then_is_gone(tenant: Tenant) -> None:
    agent, number = _inbound_setup(tenant)
    resolved = _resolve(tenant, LINE, "+14155550100")
    assert (resolved["action"], resolved["reason"], resolved["stream_url"]) == (
        "connect",
        "assigned",
        STREAM,
    )
    assert resolved["agent"] == {
        "id": agent["id"],
        "name": "Front desk",
        "type": "inbound",
        "persona": "Warm",
        "instructions": None,
        "voice": "alloy",
        "language": "en-US",
        "webhook_url": "https://example.com/hook",
        "voicemail_action": "hangup",
    }

    tenant.delete(f"/v1/agents/{agent['id']}/numbers/{number['id']}")
    after_detach = _resolve(tenant, LINE)
    assert (after_detach["action"], after_detach["reason"]) == ("reject", "no_inbound_agent")
    tenant.patch(
        f"/v1/numbers/{number['id']}",
        {"fallback_action": "forward", "fallback_destination": "+14155550111"},
    )
    forwarded = _resolve(tenant, LINE)
    assert (forwarded["action"], forwarded["destination"]) == ("forward", "+14155550111")

    tenant.delete(f"/v1/numbers/{number['id']}")
    gone = tenant.get("/v1/routing/inbound", params={"to": LINE})
    assert gone.status_code == 404
    assert error_code(gone) == "number_not_found"


def test_country_list_suspension_and_agent_stream_override(tenant: Tenant) -> None:
    agent, number = _inbound_setup(tenant)
    tenant.patch(f"/v1/numbers/{number['id']}", {"allowed_inbound_countries": ["us", "CA"]})
    assert _resolve(tenant, LINE, "+14155550100")["action"] == "connect"
    refused = _resolve(tenant, LINE, "+33782990580")
    assert (refused["action"], refused["reason"]) == ("reject", "country_not_allowed")
    assert _resolve(tenant, LINE)["reason"] == "country_not_allowed"  # withheld caller id
    tenant.patch(f"/v1/agents/{agent['id']}", {"stream_url": "wss://agent.example.com/a"})
    assert _resolve(tenant, LINE, "+14155550100")["stream_url"] == "wss://agent.example.com/a"
    tenant.patch(f"/v1/numbers/{number['id']}", {"status": "suspended"})
    assert _resolve(tenant, LINE, "+14155550100")["reason"] == "number_suspended"


def test_forward_needs_a_destination_and_resolution_input_is_checked(tenant: Tenant) -> None:
    number = tenant.number(LINE)
    refused = tenant.patch(f"/v1/numbers/{number['id']}", {"fallback_action": "forward"})
    assert error_code(refused) == "fallback_destination_required"
    sip = tenant.patch(
        f"/v1/numbers/{number['id']}",
        {"fallback_action": "forward", "fallback_destination": "sip:desk@pbx.example.com"},
    )
    assert sip.json()["data"]["fallback_destination"] == "sip:desk@pbx.example.com"
    bad = tenant.patch(f"/v1/numbers/{number['id']}", {"fallback_destination": "desk"})
    assert bad.status_code == 422
    assert tenant.get("/v1/routing/inbound", params={"to": "+1231242151"}).status_code == 422
    assert tenant.get("/v1/routing/inbound").status_code == 422
    assert tenant.client.get("/v1/routing/inbound", params={"to": LINE}).status_code == 401


def test_another_spelling_of_a_stored_number_resolves_it(tenant: Tenant) -> None:
    """Canonical numbers are looked up as given; a spelling phonenumbers rewrites (the UK
    trunk 0 after +44) is parsed, then looked up in its canonical form."""
    tenant.patch("/v1/workspace", {"default_stream_url": STREAM})
    agent = tenant.agent("inbound", name="London desk")
    number = tenant.number("+442071838750")
    tenant.post(
        "/v1/numbers/assign",
        {"number_id": number["id"], "agent_id": agent["id"], "assignment_type": "inbound"},
    )
    for spelling in ("+442071838750", "+4402071838750"):
        resolved = _resolve(tenant, spelling)
        assert resolved["action"] == "connect"
        assert resolved["number"]["e164"] == "+442071838750"  # type: ignore[index]
    missing = tenant.get("/v1/routing/inbound", params={"to": "+4402071838751"})
    assert (missing.status_code, error_code(missing)) == (404, "number_not_found")


@pytest.mark.postgres_only
def test_resolution_survives_its_connection_being_dropped(tenant: Tenant) -> None:
    """A read connection the server closed (a restart, a failover) is replaced, once."""
    _inbound_setup(tenant)
    app = tenant.client.app
    with TestClient(app) as client:  # one event loop: the read connection is kept between calls
        for _ in range(3):
            answer = client.get("/v1/routing/inbound", params={"to": LINE}, headers=tenant.auth)
            assert answer.status_code == 200, answer.text
            reads = app.state.lookups.pool._reads  # type: ignore[attr-defined]
            pids = [connection.info.backend_pid for connection in reads._idle]
            assert pids
            with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
                for pid in pids:
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_other_workspace_cannot_resolve_my_number(tenant: Tenant, other_tenant: Tenant) -> None:
    _inbound_setup(tenant)
    response = other_tenant.get("/v1/routing/inbound", params={"to": LINE})
    assert response.status_code == 404


def _twilio_post(tenant: Tenant, params: dict[str, str], token: str = TOKEN) -> tuple[int, str]:
    url = f"http://testserver/v1/telephony/twilio/{tenant.workspace_id}/voice"
    signature = RequestValidator(token).compute_signature(url, params)
    response = tenant.client.post(
        url,
        content=urlencode(params),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    return response.status_code, response.text


def test_twilio_webhook_streams_to_the_agent(tenant: Tenant) -> None:
    agent, number = _inbound_setup(tenant)
    params = {
        "CallSid": "CA" + "1" * 32,
        "From": "+14155550100",
        "To": LINE,
        "AccountSid": "AC" + "0" * 32,
    }
    status, body = _twilio_post(tenant, params)
    assert status == 200, body
    root = ET.fromstring(body)
    stream = root.find("./Connect/Stream")
    assert stream is not None
    assert stream.get("url") == STREAM
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert parameters == {
        "agent_id": agent["id"],
        "number_id": number["id"],
        "call_sid": params["CallSid"],
        "from": "+14155550100",
        "to": LINE,
    }

    tenant.delete(f"/v1/agents/{agent['id']}/numbers/{number['id']}")
    tenant.patch(
        f"/v1/numbers/{number['id']}",
        {"fallback_action": "forward", "fallback_destination": "+14155550111"},
    )
    # Each call is a new call leg with its own CallSid (a repeated one is a replay).
    status, body = _twilio_post(tenant, {**params, "CallSid": "CA" + "3" * 32})
    assert ET.fromstring(body).findtext("./Dial/Number") == "+14155550111"
    tenant.patch(f"/v1/numbers/{number['id']}", {"fallback_action": "reject"})
    status, body = _twilio_post(tenant, {**params, "CallSid": "CA" + "4" * 32})
    assert ET.fromstring(body).find("./Reject") is not None
    not_ours = {**params, "CallSid": "CA" + "5" * 32, "To": "+12025550123"}
    status, body = _twilio_post(tenant, not_ours)
    assert ET.fromstring(body).find("./Reject") is not None


def test_twilio_webhook_refuses_a_bad_signature(tenant: Tenant) -> None:
    _inbound_setup(tenant)
    params = {"CallSid": "CA" + "2" * 32, "From": "+14155550100", "To": LINE}
    status, body = _twilio_post(tenant, params, token="not-the-workspace-token")
    assert status == 403
    assert "invalid_twilio_signature" in body
    url = f"/v1/telephony/twilio/{tenant.workspace_id}/voice"
    unsigned = tenant.client.post(
        url,
        content=urlencode(params),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert unsigned.status_code == 403
    unknown = tenant.client.post("/v1/telephony/twilio/ws_nope/voice", content="")
    assert unknown.status_code == 404


def test_twilio_webhook_falls_back_when_no_stream_url_is_configured(tenant: Tenant) -> None:
    """Twilio needs a URL to stream to: without one the call takes the number's fallback."""
    tenant.patch("/v1/workspace", {"twilio_auth_token": TOKEN})
    agent = tenant.agent("inbound", name="Front desk")
    number = tenant.number(LINE)
    tenant.patch(
        f"/v1/numbers/{number['id']}",
        {"fallback_action": "forward", "fallback_destination": "+14155550111"},
    )
    tenant.post(
        "/v1/numbers/assign",
        {"number_id": number["id"], "agent_id": agent["id"], "assignment_type": "inbound"},
    )
    assert _resolve(tenant, LINE)["action"] == "connect"
    status, body = _twilio_post(tenant, {"CallSid": "CA" + "3" * 32, "To": LINE})
    assert status == 200, body
    assert ET.fromstring(body).findtext("./Dial/Number") == "+14155550111"


def test_the_serialised_answers_are_bounded_by_bytes_and_keyed_by_the_route() -> None:
    """A changed route is a new key (nothing to retire); long texts cannot grow it unbounded."""

    def route(e164: str, instructions: str) -> InboundRoute:
        agent = AgentRoute(
            id=uuid.UUID(int=1),
            name="Front desk",
            type="inbound",
            persona=None,
            instructions=instructions,
            voice=None,
            language=None,
            webhook_url=None,
            voicemail_action="hangup",
            stream_url=STREAM,
            archived=False,
        )
        return InboundRoute(
            workspace_id=uuid.UUID(int=2),
            number_id=uuid.UUID(int=3),
            e164=e164,
            status="active",
            allowed_inbound_countries=None,
            fallback_action="reject",
            fallback_destination=None,
            agent=agent,
        )

    cache = _ResolutionJson(limit=100_000)
    assert '"instructions":"before"' in cache(route(LINE, "before"), None)
    assert '"instructions":"after"' in cache(route(LINE, "after"), None)  # a change: its own
    for n in range(200):
        cache(route(f"+1628666{n:04d}", "x" * 1000), None)
    assert 50_000 < cache.size <= 100_000
