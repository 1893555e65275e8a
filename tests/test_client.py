"""The client library against the real app in process: the whole number lifecycle, every
endpoint reached by a method, typed results that match the server's schemas, and lists that
follow the cursor."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest
from pydantic import BaseModel

import callplane.client as library
from callplane.agents.schemas import AgentOut
from callplane.app import create_app
from callplane.assignments.schemas import AttachOut
from callplane.client import APIError, AsyncClient, Client, Conflict, Number
from callplane.events.schemas import EventOut
from callplane.numbers.schemas import NumberOut, SummaryOut
from callplane.providers.schemas import CandidateOut, ProviderImportOut, ReleaseOut
from callplane.reputation.schemas import (
    CallerIdOut,
    CapsOut,
    HealthOut,
    OutcomeOut,
    PolicyOut,
    TallyOut,
)
from callplane.routing.router import SelectionOut
from callplane.settings import Settings
from callplane.webhooks.schemas import DeliveryOut, EndpointOut, EndpointWithSecret, EventTypeOut
from callplane.workspaces.schemas import WorkspaceOut
from tests.client_support import InProcessTransport, client_for
from tests.helpers import Tenant


def test_buy_attach_route_release(tenant: Tenant) -> None:
    with client_for(tenant) as client:
        desk = client.agents.create(
            "Front desk", "inbound", language="en-US", stream_url="wss://media.example/desk"
        )
        dialer = client.agents.create("Reminders", "outbound", outbound_strategy="primary")
        assert (desk.type, dialer.type, desk.language) == ("inbound", "outbound", "en-US")

        offered = client.numbers.available(country="US", area_code="415", limit=2)
        assert len(offered) == 2 and all(o.e164.startswith("+1415") for o in offered)
        bought = client.numbers.purchase([o.e164 for o in offered], agent_id=dialer.id)
        assert {n.source for n in bought} == {"purchased"}
        assert all(n.outbound_agent_ids == [dialer.id] for n in bought)

        main = client.numbers.create("+16286666348", friendly_name="Main line")
        assigned = client.numbers.assign(main.slug, desk.id)
        assert assigned.inbound_agent_id == desk.id
        with pytest.raises(Conflict) as taken:
            client.numbers.assign(main.id, dialer.id)
        assert taken.value.code in ("number_already_assigned", "agent_type_mismatch")

        resolution = client.routing.resolve_inbound("+16286666348", caller="+12025550143")
        assert resolution.action == "connect" and resolution.agent is not None
        assert resolution.agent.id == desk.id
        assert resolution.stream_url == "wss://media.example/desk"

        updated = client.agents.update(dialer.id, primary_number_id=bought[0].id)
        assert updated.primary_number_id == bought[0].id
        selection = client.routing.select_caller_id(dialer.id, "+12125550199")
        assert selection.number.id == bought[0].id and selection.strategy == "primary"
        assert selection.selection_id != ""
        dry = client.routing.select_caller_id(dialer.id, "+12125550199", dry_run=True)
        assert dry.number.id == bought[0].id
        again = client.routing.select_caller_id(dialer.id, "+12125550199")
        assert dry.calls_last_hour == again.calls_last_hour == 2  # the dry run counted nothing

        batch = client.numbers.create_batch(
            ["+12025550143", {"e164": "+33782990580", "friendly_name": "Paris"}]
        )
        attached = client.agents.attach_numbers(
            dialer.id, ["+12025550143"], phone_number_slugs=["33782990580"]
        )
        assert attached.newly_attached == 2 and len(attached.numbers) == 2
        assert {n.id for n in client.agents.list_numbers(dialer.id)} == {
            n.id for n in [*bought, *batch]
        }
        after = client.agents.detach_number(dialer.id, "33782990580")
        assert after.id == dialer.id
        assert client.numbers.get("+33782990580").outbound_agent_ids == []

        renamed = client.numbers.update(main.e164, friendly_name=None, max_calls_per_hour=30)
        assert renamed.friendly_name is None and renamed.max_calls_per_hour == 30
        assert client.numbers.unassign(main.e164).inbound_agent_id is None

        imported = client.numbers.import_from_provider("sandbox")
        assert bought[0].e164 in imported.already_in_workspace

        released = client.numbers.release(bought[1].e164)
        assert released.id == bought[1].id
        releases = list(client.numbers.releases.list())
        assert [(r.e164, r.status) for r in releases] == [(bought[1].e164, "pending")]
        assert client.numbers.releases.retry(releases[0].id).status == "pending"
        gone = client.numbers.delete("+12025550143")
        assert gone.e164 == "+12025550143"

        summary = client.numbers.summary()
        assert summary.total == 3 and summary.by_assignment["outbound"] == 1
        workspace = client.workspace.update(name="Acme voice")
        assert workspace.name == client.workspace.get().name == "Acme voice"
        assert client.agents.archive(desk.id).archived_at is not None
        assert [a.id for a in client.agents.list()] == [dialer.id]
        assert [a.id for a in client.agents.list(include_archived=True)] == [desk.id, dialer.id]

        events = list(client.events.list(type="number.purchased"))
        assert len(events) == 1 and set(events[0].resource_ids) >= {n.id for n in bought}
        assert client.agents.get(desk.id).name == "Front desk"


class Recorder(InProcessTransport):
    """The app in process, remembering every request."""

    def __init__(self, tenant: Tenant) -> None:
        super().__init__(tenant.client)
        self.requests: list[httpx2.Request] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return super().handle_request(request)


def test_lists_follow_the_cursor_over_more_than_three_pages(tenant: Tenant) -> None:
    recorder = Recorder(tenant)
    client = Client("http://testserver", tenant.key, transport=recorder)
    created = client.numbers.create_batch([f"+1212555{i:04d}" for i in range(100, 109)])
    recorder.requests.clear()

    listed = list(client.numbers.list(country="US", limit=2))
    assert [n.id for n in listed] == [n.id for n in created]
    assert all(isinstance(n, Number) for n in listed)
    cursors = [r.url.params.get("cursor") for r in recorder.requests]
    assert len(cursors) == 5 and cursors[0] is None and len(set(cursors)) == 5
    assert {r.url.params["limit"] for r in recorder.requests} == {"2"}

    pages = list(client.numbers.list(limit=4).pages())
    assert [len(p.items) for p in pages] == [4, 4, 1] and pages[-1].next_cursor is None

    recorder.requests.clear()
    first = next(iter(client.numbers.list(limit=2)))
    assert first.id == created[0].id and len(recorder.requests) == 1  # lazy: one page only
    assert list(client.numbers.list(country="FR")) == []


# Every call of the native API, and the method that makes it.
ENDPOINTS: dict[tuple[str, str], Callable[[Client], object]] = {
    ("POST", "/v1/agents"): lambda c: c.agents.create("A", "inbound"),
    ("GET", "/v1/agents"): lambda c: list(c.agents.list()),
    ("GET", "/v1/agents/{agent_id}"): lambda c: c.agents.get("agt_x"),
    ("PATCH", "/v1/agents/{agent_id}"): lambda c: c.agents.update("agt_x", name="B"),
    ("DELETE", "/v1/agents/{agent_id}"): lambda c: c.agents.archive("agt_x"),
    ("GET", "/v1/agents/{agent_id}/numbers"): lambda c: list(c.agents.list_numbers("agt_x")),
    ("PUT", "/v1/agents/{agent_id}/numbers"): lambda c: c.agents.attach_numbers("agt_x", ["+1"]),
    ("DELETE", "/v1/agents/{agent_id}/numbers/{number}"): lambda c: c.agents.detach_number(
        "agt_x", "+1"
    ),
    ("POST", "/v1/numbers"): lambda c: c.numbers.create("+1"),
    ("POST", "/v1/numbers/batch"): lambda c: c.numbers.create_batch(["+1"]),
    ("GET", "/v1/numbers"): lambda c: list(c.numbers.list()),
    ("GET", "/v1/numbers/{number}"): lambda c: c.numbers.get("+1"),
    ("PATCH", "/v1/numbers/{number}"): lambda c: c.numbers.update("+1", status="active"),
    ("DELETE", "/v1/numbers/{number}"): lambda c: c.numbers.delete("+1"),
    ("POST", "/v1/numbers/assign"): lambda c: c.numbers.assign("+1", "agt_x"),
    ("POST", "/v1/numbers/unassign"): lambda c: c.numbers.unassign("+1"),
    ("GET", "/v1/numbers/summary"): lambda c: c.numbers.summary(),
    ("GET", "/v1/numbers/available"): lambda c: c.numbers.available(),
    ("POST", "/v1/numbers/purchase"): lambda c: c.numbers.purchase(["+1"]),
    ("POST", "/v1/numbers/import"): lambda c: c.numbers.import_from_provider(),
    ("GET", "/v1/numbers/releases"): lambda c: list(c.numbers.releases.list()),
    ("POST", "/v1/numbers/releases/{release_id}/retry"): lambda c: c.numbers.releases.retry(
        "rel_x"
    ),
    ("GET", "/v1/events"): lambda c: list(c.events.list()),
    ("GET", "/v1/routing/inbound"): lambda c: c.routing.resolve_inbound("+1"),
    ("POST", "/v1/routing/outbound"): lambda c: c.routing.select_caller_id("agt_x", "+1"),
    ("POST", "/v1/routing/outbound/{selection_id}/outcome"): lambda c: c.routing.report_outcome(
        "sel_x", "answered"
    ),
    ("GET", "/v1/numbers/{number}/health"): lambda c: c.numbers.health("+1"),
    ("POST", "/v1/numbers/{number}/health/pause"): lambda c: c.numbers.pause("+1"),
    ("POST", "/v1/numbers/{number}/health/resume"): lambda c: c.numbers.resume("+1"),
    ("GET", "/v1/agents/{agent_id}/caller-ids"): lambda c: c.agents.caller_ids("agt_x"),
    ("GET", "/v1/workspace/caller-id-policy"): lambda c: c.workspace.caller_id_policy(),
    ("PATCH", "/v1/workspace/caller-id-policy"): lambda c: c.workspace.update_caller_id_policy(
        sticky_window_hours=24
    ),
    ("GET", "/v1/workspace"): lambda c: c.workspace.get(),
    ("PATCH", "/v1/workspace"): lambda c: c.workspace.update(name="W"),
    ("GET", "/v1/event-types"): lambda c: c.webhook_endpoints.event_types(),
    ("POST", "/v1/webhook-endpoints"): lambda c: c.webhook_endpoints.create("https://h.example"),
    ("GET", "/v1/webhook-endpoints"): lambda c: list(c.webhook_endpoints.list()),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): lambda c: c.webhook_endpoints.get("we_x"),
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): lambda c: c.webhook_endpoints.update(
        "we_x", enabled=False
    ),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): lambda c: c.webhook_endpoints.delete("we_x"),
    (
        "POST",
        "/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
    ): lambda c: c.webhook_endpoints.rotate_secret("we_x"),
    (
        "GET",
        "/v1/webhook-endpoints/{endpoint_id}/deliveries",
    ): lambda c: list(c.webhook_endpoints.list_deliveries("we_x")),
    (
        "POST",
        "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    ): lambda c: c.webhook_endpoints.redeliver("we_x", "whd_x"),
    (
        "POST",
        "/v1/webhook-endpoints/{endpoint_id}/deliveries/redeliver-failed",
    ): lambda c: c.webhook_endpoints.redeliver_failed("we_x"),
}
NOT_FOR_CLIENTS = {  # Twilio calls them
    ("POST", "/v1/telephony/twilio/{workspace_id}/voice"),
    ("POST", "/v1/telephony/twilio/{workspace_id}/status"),
}


def native_api(database: Path) -> set[tuple[str, str]]:
    """(method, path) of every operation the OpenAPI document describes under /v1."""
    app = create_app(Settings(database_url=f"sqlite:///{database}", release_worker=False))
    paths = app.openapi()["paths"]
    found = {
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/v1/")
        for method in operations
    }
    return found - NOT_FOR_CLIENTS


def test_every_call_of_the_native_api_has_a_method(tmp_path: Path) -> None:
    assert set(ENDPOINTS) == native_api(tmp_path / "unused.db")
    sent: list[httpx2.Request] = []

    def refuse(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(418, json={"error": {"code": "teapot", "message": "no"}})

    client = Client("http://callplane.test", "sk_test", transport=httpx2.MockTransport(refuse))
    for (method, template), call in ENDPOINTS.items():
        with pytest.raises(APIError) as refused:
            call(client)
        assert refused.value.code == "teapot"
        pattern = re.sub(r"\{[a-z_]+\}", "[^/]+", template)
        assert (sent[-1].method, bool(re.fullmatch(pattern, sent[-1].url.path))) == (method, True)


def test_the_async_client_has_the_same_methods() -> None:
    sync, async_ = Client("http://x", "k"), AsyncClient("http://x", "k")

    def methods(resource: object) -> set[str]:
        return {name for name in dir(resource) if not name.startswith("_")} - {"releases"}

    for name in ("numbers", "agents", "routing", "events", "workspace", "webhook_endpoints"):
        expected = methods(getattr(sync, name)) - ({"import_csv"} if name == "numbers" else set())
        assert methods(getattr(async_, name)) == expected, name
    assert methods(sync.numbers.releases) == methods(async_.numbers.releases)


@pytest.mark.parametrize(
    ("ours", "servers"),
    [
        (library.Number, NumberOut),
        (library.Agent, AgentOut),
        (library.AttachResult, AttachOut),
        (library.Event, EventOut),
        (library.NumbersSummary, SummaryOut),
        (library.AvailableNumber, CandidateOut),
        (library.ProviderImport, ProviderImportOut),
        (library.Release, ReleaseOut),
        (library.Workspace, WorkspaceOut),
        (library.CallerIdSelection, SelectionOut),
        (library.NumberHealth, HealthOut),
        (library.CallerId, CallerIdOut),
        (library.CallOutcome, OutcomeOut),
        (library.CallerIdPolicy, PolicyOut),
        (library.OutcomeFigures, TallyOut),
        (library.CallerIdCaps, CapsOut),
        (library.WebhookEndpoint, EndpointOut),
        (library.IssuedWebhookEndpoint, EndpointWithSecret),
        (library.WebhookDelivery, DeliveryOut),
        (library.EventType, EventTypeOut),
    ],
)
def test_results_have_every_field_of_the_server_schema(
    ours: type[BaseModel], servers: type[BaseModel]
) -> None:
    assert set(ours.model_fields) == set(servers.model_fields)


def test_the_public_names_are_exactly_all() -> None:
    public = {name for name in vars(library) if not name.startswith("_")}
    assert public == set(library.__all__)
    for name in library.__all__:
        assert getattr(library, name) is not None


def test_caller_id_health_through_the_client(tenant: Tenant) -> None:
    client = Client("http://testserver", tenant.key, transport=InProcessTransport(tenant.client))
    policy = client.workspace.update_caller_id_policy(min_sample=2, warming_daily_caps=[])
    assert client.workspace.caller_id_policy() == policy
    agent = client.agents.create("Caller", "outbound", outbound_strategy="rotate")
    tenant.verified_number("+12025550101")
    client.agents.attach_numbers(agent.id, ["+12025550101"])
    chosen = client.routing.select_caller_id(agent.id, "+14155550100")
    reported = client.routing.report_outcome(chosen.selection_id, "no_answer")
    assert (reported.replayed, reported.health.last_outcomes.attempts) == (False, 1)
    assert client.numbers.pause("+12025550101").state == "paused"
    assert client.numbers.resume("+12025550101").state == "healthy"
    assert client.numbers.health("+12025550101").last_7d.attempts == 1
    assert [n.e164 for n in client.agents.caller_ids(agent.id)] == ["+12025550101"]
