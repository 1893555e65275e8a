"""Creating and deleting a number have two paths on PostgreSQL: the usual case on the event loop
(``numbers.router.QuickCreate``, ``QuickDelete``) and the FastAPI route behind it, which answers
everything the first hands on. Both must answer, write, audit and notify the same, and count a
request once."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx2
import pytest

from callplane.assignments import hot_path as assignments_hot_path
from callplane.assignments import service as assignments_service
from callplane.core import ids
from callplane.core.context import Actor
from callplane.core.ratelimit import RateLimiter
from callplane.numbers import hot_path
from callplane.numbers.models import PhoneNumber
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


@pytest.fixture
def quick_deletes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The E.164s that QuickDelete deleted."""
    deleted: list[str] = []
    delete_number = hot_path.delete_number

    async def spy(pool: Any, actor: Any, removed: Any, subscribers: Any) -> bool:
        done = await delete_number(pool, actor, removed, subscribers)
        if done:
            deleted.append(removed.number.e164)
        return done

    monkeypatch.setattr(hot_path, "delete_number", spy)
    return deleted


def webhook(tenant: Tenant, name: str, types: list[str], *, enabled: bool = True) -> str:
    url = f"https://hooks.example.com/{name}"
    response = tenant.post("/v1/webhook-endpoints", {"url": url, "event_types": types})
    assert response.status_code == 201, response.text
    endpoint_id = str(response.json()["data"]["id"])
    if not enabled:
        changed = tenant.patch(f"/v1/webhook-endpoints/{endpoint_id}", {"enabled": False})
        assert changed.status_code == 200, changed.text
    return endpoint_id


def delivered_events(
    tenant: Tenant, endpoint_id: str, event_type: str = "number.imported"
) -> list[str]:
    response = tenant.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return sorted(d["event_id"] for d in data if d["event_type"] == event_type)


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
        lambda: tenant.delete("/v1/numbers/+16285550106"),  # deleted here
        lambda: tenant.delete("/v1/numbers/+16285550106"),  # gone: handed on
        lambda: tenant.delete("/v1/numbers/+1628"),  # refused reference: handed on
    ]
    for send in requests:
        before = len(checks)
        response = send()
        assert response.status_code in (200, 201, 404, 409, 422), response.text
        assert len(checks) == before + 1, response.request.content


def test_both_delete_paths_answer_audit_and_notify_the_same(
    tenant: Tenant, quick_deletes: list[str]
) -> None:
    every = webhook(tenant, "every", ["*"])
    deletes = webhook(tenant, "deletes", ["number.deleted"])
    imports = webhook(tenant, "imports", ["number.imported"])
    quick = tenant.number("+16285550111", friendly_name="Front desk")
    routed = tenant.number("+16285550112", friendly_name="Front desk")

    by_slug = tenant.delete("/v1/numbers/16285550111")
    preconditions = {**tenant.auth, "If-Match": routed["etag"]}
    by_id = tenant.client.delete(f"/v1/numbers/{routed['id']}", headers=preconditions)

    assert (by_slug.status_code, by_id.status_code) == (200, 200), (by_slug.text, by_id.text)
    postgres = tenant.backend.name == "postgresql"
    assert quick_deletes == (["+16285550111"] if postgres else [])
    assert by_slug.json()["data"] == quick and by_id.json()["data"] == routed
    assert tenant.get("/v1/numbers").json()["data"] == []
    events = {e["resource_ids"][0]: e for e in tenant.events("number.deleted")}
    made_quick, made_routed = events[quick["id"]], events[routed["id"]]
    assert made_quick["resource_ids"] == [quick["id"]] and made_quick["after"] is None
    assert made_quick["before"] == {**made_routed["before"], "e164": "+16285550111"}
    both = sorted([made_quick["id"], made_routed["id"]])
    assert delivered_events(tenant, every, "number.deleted") == both
    assert delivered_events(tenant, deletes, "number.deleted") == both
    assert delivered_events(tenant, imports, "number.deleted") == []


def test_what_quick_delete_hands_on_is_answered_by_the_route(
    tenant: Tenant, other_tenant: Tenant, quick_deletes: list[str]
) -> None:
    """Numbers with agents, unknown, another workspace's, refused references: the route's."""
    agent = tenant.agent("inbound")["id"]
    answered = tenant.number("+16285550113")
    attach = {"number_id": "+16285550113", "agent_id": agent, "assignment_type": "inbound"}
    assert tenant.post("/v1/numbers/assign", attach).status_code == 200
    theirs = other_tenant.number("+16285550114")

    with_agent = tenant.delete(f"/v1/numbers/{answered['id']}")
    assert with_agent.status_code == 200, with_agent.text
    assert with_agent.json()["data"]["inbound_agent_id"] == agent
    (deleted,) = tenant.events("number.deleted")
    assert deleted["resource_ids"] == [answered["id"], agent]
    for ref, status, code in (
        ("+16285550199", 404, "number_not_found"),
        (theirs["id"], 404, "number_not_found"),
        ("+16285550114", 404, "number_not_found"),
        ("+1628", 422, "invalid_phone_number"),
        ("num_nonsense", 404, "number_not_found"),
    ):
        refused = tenant.delete(f"/v1/numbers/{ref}")
        assert (refused.status_code, error_code(refused)) == (status, code), ref
    assert quick_deletes == []
    assert [n["id"] for n in other_tenant.get("/v1/numbers").json()["data"]] == [theirs["id"]]


def test_a_number_changed_after_it_was_read_is_deleted_by_the_route(
    tenant: Tenant, quick_deletes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between QuickDelete's read and its statement the number changes: the statement leaves
    it (and writes no event), and the route deletes it as it is now."""
    if tenant.backend.name != "postgresql":
        pytest.skip("QuickDelete runs on PostgreSQL only")
    number = tenant.number("+16285550115")
    delete_number = hot_path.delete_number

    def rename() -> None:
        with tenant.backend.database.transaction() as session:
            found = session.get(PhoneNumber, ids.parse("number", number["id"]))
            assert found is not None
            found.friendly_name = "Renamed"  # and its version counted up, as by any change

    async def renamed_meanwhile(*args: Any) -> bool:
        await asyncio.to_thread(rename)
        return await delete_number(*args)

    monkeypatch.setattr(hot_path, "delete_number", renamed_meanwhile)
    deleted = tenant.delete(f"/v1/numbers/{number['id']}")

    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["data"]["friendly_name"] == "Renamed"
    assert deleted.json()["data"]["version"] == number["version"] + 1
    (event,) = tenant.events("number.deleted")
    assert event["before"]["friendly_name"] == "Renamed"
    assert tenant.get(f"/v1/numbers/{number['id']}").status_code == 404


@pytest.fixture
def quick_assignments(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What QuickAssign and QuickUnassign changed: "assign <e164>", "unassign <e164>"."""
    changed: list[str] = []
    for name in ("assign", "unassign"):
        original = getattr(assignments_hot_path, name)

        async def spy(*args: Any, _original: Any = original, _name: str = name) -> Any:
            view = await _original(*args)
            if view is not None:
                changed.append(f"{_name} {view.number.e164}")
            return view

        monkeypatch.setattr(assignments_hot_path, name, spy)
    return changed


def assign(tenant: Tenant, number: str, agent: str, direction: str, **more: Any) -> Any:
    body = {"number_id": number, "agent_id": agent, "assignment_type": direction}
    return tenant.post("/v1/numbers/assign", {**body, **more})


def test_both_assignment_paths_answer_audit_and_notify_the_same(
    tenant: Tenant, quick_assignments: list[str]
) -> None:
    every = webhook(tenant, "every", ["*"])
    inbound, outbound = tenant.agent("inbound")["id"], tenant.agent("outbound")["id"]
    quick, routed = tenant.number("+16285550121"), tenant.number("+16285550122")
    keyed = {**tenant.auth, "Idempotency-Key": str(uuid.uuid4())}

    answers = []
    for direction, agent in (("inbound", inbound), ("outbound", outbound)):
        body = {"agent_id": agent, "assignment_type": direction}
        answers.append(assign(tenant, "+16285550121", agent, direction))
        keyed["Idempotency-Key"] = str(uuid.uuid4())
        answers.append(
            tenant.client.post(
                "/v1/numbers/assign", json={**body, "number_id": routed["id"]}, headers=keyed
            )
        )
    for direction in ("inbound", "outbound"):
        body = {"assignment_type": direction}
        answers.append(tenant.post("/v1/numbers/unassign", {**body, "number_id": quick["id"]}))
        keyed["Idempotency-Key"] = str(uuid.uuid4())
        answers.append(
            tenant.client.post(
                "/v1/numbers/unassign", json={**body, "number_id": "16285550122"}, headers=keyed
            )
        )

    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    postgres = tenant.backend.name == "postgresql"
    expected = ["assign", "assign", "unassign", "unassign"]
    assert quick_assignments == ([f"{e} +16285550121" for e in expected] if postgres else [])
    for mine, theirs in zip(answers[::2], answers[1::2], strict=True):
        a, b = mine.json()["data"], theirs.json()["data"]
        assert {k: v for k, v in a.items() if k not in _OWN} == {
            k: v for k, v in b.items() if k not in _OWN
        }
    assert answers[0].json()["data"]["inbound_agent_id"] == inbound
    assert answers[2].json()["data"]["outbound_agent_ids"] == [outbound]
    final = tenant.get(f"/v1/numbers/{quick['id']}").json()["data"]
    assert final == {**answers[6].json()["data"], "etag": final["etag"]}
    assert final["version"] == quick["version"] + 4

    for type_ in ("number.assigned", "number.unassigned"):
        made = [e for e in reversed(tenant.events(type_))]
        pictures = [e["after"] or e["before"] for e in made]
        resources = [e["resource_ids"] for e in made]
        assert pictures[0::2] == [json_swap(p, routed, quick) for p in pictures[1::2]], pictures
        assert [r[1:] for r in resources[0::2]] == [r[1:] for r in resources[1::2]]
        assert sorted(delivered_events(tenant, every, type_)) == sorted(e["id"] for e in made)


def json_swap(picture: dict[str, Any], old: dict[str, Any], new: dict[str, Any]) -> Any:
    """``picture`` with ``old``'s id and E.164 replaced by ``new``'s."""
    text = json.dumps(picture).replace(old["id"], new["id"]).replace(old["e164"], new["e164"])
    return json.loads(text)


def test_what_quick_assignments_hand_on_is_answered_by_the_route(
    tenant: Tenant, other_tenant: Tenant, quick_assignments: list[str]
) -> None:
    front, back = tenant.agent("inbound")["id"], tenant.agent("inbound", name="Back")["id"]
    dialer = tenant.agent("outbound")["id"]
    archived = tenant.agent("inbound", name="Gone")["id"]
    assert tenant.delete(f"/v1/agents/{archived}").status_code == 200
    tenant.number("+16285550123")
    theirs = other_tenant.agent("inbound")["id"]
    assert assign(tenant, "+16285550123", front, "inbound").status_code == 200

    for agent, direction, status, code in (
        (back, "inbound", 409, "number_already_assigned"),
        (dialer, "inbound", 409, "agent_type_mismatch"),
        (archived, "inbound", 409, "agent_archived"),
        (theirs, "inbound", 404, "agent_not_found"),
    ):
        refused = assign(tenant, "+16285550123", agent, direction)
        assert (refused.status_code, error_code(refused)) == (status, code), agent
    again = assign(tenant, "+16285550123", front, "inbound")
    assert again.status_code == 200 and again.json()["data"]["inbound_agent_id"] == front
    moved = assign(tenant, "+16285550123", back, "inbound", replace=True)
    assert moved.status_code == 200 and moved.json()["data"]["inbound_agent_id"] == back
    unknown = assign(tenant, "+16285550199", back, "inbound")
    assert (unknown.status_code, error_code(unknown)) == (404, "number_not_found")

    none_out = tenant.post(
        "/v1/numbers/unassign", {"number_id": "+16285550123", "assignment_type": "outbound"}
    )
    assert (none_out.status_code, error_code(none_out)) == (404, "number_not_assigned")
    named = tenant.post(
        "/v1/numbers/unassign",
        {"number_id": "+16285550123", "assignment_type": "inbound", "agent_id": back},
    )
    assert named.status_code == 200 and named.json()["data"]["inbound_agent_id"] is None
    first = ["assign +16285550123"] if tenant.backend.name == "postgresql" else []
    assert quick_assignments == first


def test_unassigning_an_agents_primary_number_counts_the_agent_up(
    tenant: Tenant, quick_assignments: list[str]
) -> None:
    dialer = tenant.agent("outbound")
    number = tenant.number("+16285550124")
    assert assign(tenant, "+16285550124", dialer["id"], "outbound").status_code == 200
    primary = tenant.patch(f"/v1/agents/{dialer['id']}", {"primary_number_id": number["id"]})
    assert primary.status_code == 200, primary.text
    before = primary.json()["data"]["version"]
    removed = tenant.post(
        "/v1/numbers/unassign", {"number_id": "+16285550124", "assignment_type": "outbound"}
    )
    assert removed.status_code == 200, removed.text
    agent = tenant.get(f"/v1/agents/{dialer['id']}").json()["data"]
    assert agent["primary_number_id"] is None and agent["version"] == before + 1
    assert "unassign +16285550124" not in quick_assignments


def test_a_number_assigned_after_it_was_read_is_decided_by_the_route(
    tenant: Tenant, quick_assignments: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another agent takes the number between QuickAssign's read and its statement: the
    statement changes nothing (no event), and the route refuses as it would have."""
    if tenant.backend.name != "postgresql":
        pytest.skip("QuickAssign runs on PostgreSQL only")
    front, back = tenant.agent("inbound")["id"], tenant.agent("inbound", name="Back")["id"]
    number = tenant.number("+16285550125")
    quick_assign = assignments_hot_path.assign

    def taken() -> None:
        with tenant.backend.database.transaction() as session:
            assignments_service.assign(
                session,
                Actor(ids.parse("workspace", tenant.workspace_id), None, None),
                number["id"],
                back,
                "inbound",
            )  # type: ignore[arg-type]

    async def taken_meanwhile(*args: Any) -> Any:
        await asyncio.to_thread(taken)
        return await quick_assign(*args)

    monkeypatch.setattr(assignments_hot_path, "assign", taken_meanwhile)
    refused = assign(tenant, "+16285550125", front, "inbound")

    assert (refused.status_code, error_code(refused)) == (409, "number_already_assigned")
    assert [e["after"]["agent_id"] for e in tenant.events("number.assigned")] == [back]
    assert tenant.get("/v1/numbers/+16285550125").json()["data"]["inbound_agent_id"] == back
