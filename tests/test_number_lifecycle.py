"""Stories of the number lifecycle with the embedded sandbox provider: search, purchase,
attach, delete, and a release that happens exactly once, through outages and worker deaths."""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import select

from callplane.app import create_app
from callplane.core import ids
from callplane.core.db import utcnow
from callplane.providers.models import SandboxNumber
from callplane.providers.registry import Providers
from callplane.providers.releases import Policy, ReleaseWorker
from callplane.providers.sandbox import SandboxProvider, check_catalogue
from tests.helpers import Tenant, error_code, settings_for

FAST = Policy(backoff_seconds=1, backoff_max_seconds=60, max_attempts=5, lease_seconds=30)


def worker(tenant: Tenant, providers: Providers | None = None) -> ReleaseWorker:
    app_providers: Providers = tenant.client.app.state.providers  # type: ignore[attr-defined]
    return ReleaseWorker(tenant.backend.database, providers or app_providers, FAST)


def sandbox_row(tenant: Tenant, e164: str) -> SandboxNumber:
    with tenant.backend.database.transaction() as session:
        row = session.scalar(select(SandboxNumber).where(SandboxNumber.e164 == e164))
        assert row is not None
        session.expunge(row)
        return row


def releases(tenant: Tenant) -> list[dict[str, object]]:
    response = tenant.get("/v1/numbers/releases")
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def buy(tenant: Tenant, *e164: str, **extra: object) -> list[dict[str, object]]:
    response = tenant.post("/v1/numbers/purchase", {"phone_numbers": list(e164), **extra})
    assert response.status_code == 201, response.text
    return list(response.json()["data"])


def test_the_sandbox_sells_only_fictional_numbers_valid_to_phonenumbers() -> None:
    check_catalogue()


def test_search_purchase_attach_delete_release_exactly_once(tenant: Tenant) -> None:
    found = tenant.get("/v1/numbers/available", params={"area_code": "415", "contains": "55501"})
    assert found.status_code == 200, found.text
    candidates = [c["e164"] for c in found.json()["data"]]
    assert candidates and all(c.startswith("+1415555") for c in candidates)
    agent = tenant.agent("outbound", "Caller")

    bought = buy(tenant, *candidates[:2], provider="sandbox", agent_id=agent["id"])
    assert [n["e164"] for n in bought] == candidates[:2]
    for number in bought:
        assert number["source"] == "purchased" and number["provider"] == "sandbox"
        assert number["monthly_cost_cents"] == 100 and number["purchased_at"]
        assert number["outbound_agent_ids"] == [agent["id"]] and number["valid"] is True
    again = tenant.get("/v1/numbers/available", params={"area_code": "415", "contains": "55501"})
    assert not set(candidates[:2]) & {c["e164"] for c in again.json()["data"]}

    summary = tenant.get("/v1/numbers/summary").json()["data"]
    assert summary["total"] == 2 and summary["monthly_cost_cents"] == 200
    assert summary["by_assignment"] == {"inbound": 0, "outbound": 2, "none": 0}
    assert summary["by_country"] == {"US": 2} and summary["by_provider"] == {"sandbox": 2}

    deleted = tenant.delete(f"/v1/numbers/{candidates[0][1:]}")
    assert deleted.status_code == 200, deleted.text
    [job] = releases(tenant)
    assert job["e164"] == candidates[0] and job["status"] == "pending" and job["attempts"] == 0
    assert sandbox_row(tenant, candidates[0]).status == "owned"

    assert worker(tenant).run_once() == 1
    assert worker(tenant).run_once() == 0  # nothing is done twice
    [job] = releases(tenant)
    assert job["status"] == "released" and job["attempts"] == 1 and job["last_error"] is None
    row = sandbox_row(tenant, candidates[0])
    assert row.status == "released" and row.releases == 1
    assert sandbox_row(tenant, candidates[1]).status == "owned"
    assert tenant.get("/v1/numbers/summary").json()["data"]["monthly_cost_cents"] == 100
    types = [e["type"] for e in tenant.events()]
    for kind in ("number.purchased", "number.release_scheduled", "number.released"):
        assert kind in types


def test_a_failing_provider_delays_the_release_with_backoff_and_never_loses_it(
    tenant: Tenant,
) -> None:
    e164 = buy(tenant, "+12025550142")[0]["e164"]
    assert tenant.delete(f"/v1/numbers/{e164}").status_code == 200
    flaky = Providers(settings_for(tenant.backend).model_copy(update={"sandbox_fail_releases": 3}))
    w = worker(tenant, flaky)
    now = utcnow()
    waits = []
    for attempt in (1, 2, 3):
        assert w.run_once(now) == 1
        [job] = releases(tenant)
        assert job["status"] == "pending" and job["attempts"] == attempt
        assert "provider_unavailable" in str(job["last_error"])
        assert w.run_once(now) == 0  # not due again before its backoff
        due = dt.datetime.fromisoformat(str(job["next_attempt_at"]).replace("Z", "+00:00"))
        waits.append((due - now).total_seconds())
        now = due
    assert waits == [1, 2, 4]  # exponential
    assert w.run_once(now) == 1
    [job] = releases(tenant)
    assert job["status"] == "released" and job["attempts"] == 4
    assert sandbox_row(tenant, e164).releases == 1


def test_a_release_that_keeps_failing_ends_failed_and_can_be_retried(tenant: Tenant) -> None:
    e164 = buy(tenant, "+12025550143")[0]["e164"]
    tenant.delete(f"/v1/numbers/{e164}")
    down = Providers(settings_for(tenant.backend).model_copy(update={"sandbox_fail_releases": 99}))
    w = ReleaseWorker(
        tenant.backend.database, down, Policy(backoff_seconds=1, max_attempts=2, lease_seconds=30)
    )
    later = utcnow() + dt.timedelta(hours=1)
    assert w.run_once() == 1 and w.run_once(later) == 1 and w.run_once(later) == 0
    [job] = releases(tenant)
    assert job["status"] == "failed" and job["attempts"] == 2
    assert tenant.get("/v1/numbers/releases", params={"status": "failed"}).json()["data"]
    retry = f"/v1/numbers/releases/{job['id']}/retry"
    keyed = {**tenant.auth, "Idempotency-Key": "retry-release-1"}
    retried = tenant.client.post(retry, headers=keyed)
    assert retried.status_code == 200 and retried.json()["data"]["status"] == "pending"
    again = tenant.client.post(retry, headers=keyed)  # a retry of the retry: answered, not redone
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.content == retried.content
    assert len(tenant.events("number.release_retried")) == 1
    assert worker(tenant).run_once() == 1
    assert releases(tenant)[0]["status"] == "released"
    assert tenant.post("/v1/numbers/releases/rel_nope/retry").status_code == 404


def test_a_worker_killed_mid_release_loses_nothing_and_releases_nothing_twice(
    tenant: Tenant,
) -> None:
    numbers = [n["e164"] for n in buy(tenant, "+13125550100", "+13125550101", "+13125550102")]
    for e164 in numbers:
        tenant.delete(f"/v1/numbers/{e164}")
    dying, successor = worker(tenant), worker(tenant)
    # The first worker claims a job and dies before releasing it; another claims one and dies
    # after releasing at the provider but before recording it: the two windows a crash has.
    before = dying.claim()
    assert before is not None
    after = dying.claim()
    assert after is not None
    assert dying.release(after) is None
    # A restarted worker does not touch leased jobs, only the one left unclaimed...
    assert successor.run_once() == 1
    assert sorted(str(j["status"]) for j in releases(tenant)) == ["pending", "pending", "released"]
    # ...and takes the abandoned ones once their lease has run out.
    assert successor.run_once(utcnow() + dt.timedelta(seconds=FAST.lease_seconds + 1)) == 2
    assert [j["status"] for j in releases(tenant)] == ["released"] * 3
    # The dead worker's late outcome is ignored: its lease is gone.
    assert dying.record(after, None) == "lease_lost"
    assert successor.run_once(utcnow() + dt.timedelta(days=1)) == 0
    for e164 in numbers:
        assert sandbox_row(tenant, e164).releases == 1


def test_the_worker_in_serve_resumes_pending_releases_after_a_restart(tenant: Tenant) -> None:
    served = settings_for(tenant.backend).model_copy(
        update={"release_worker": True, "release_poll_seconds": 0.05}
    )
    e164 = buy(tenant, "+16175550100")[0]["e164"]
    tenant.delete(f"/v1/numbers/{e164}")  # the app of the fixture runs no worker: "stopped"
    assert releases(tenant)[0]["status"] == "pending"
    with TestClient(create_app(served, tenant.backend.database)):  # "restarted"
        deadline = time.monotonic() + 10
        while releases(tenant)[0]["status"] != "released":
            assert time.monotonic() < deadline, releases(tenant)
            time.sleep(0.05)
    assert sandbox_row(tenant, e164).releases == 1


def test_a_purchase_that_fails_part_way_changes_nothing(tenant: Tenant) -> None:
    response = tenant.post(
        "/v1/numbers/purchase", {"phone_numbers": ["+12025550150", "+12025550151", "+12025550999"]}
    )
    assert response.status_code == 409, response.text
    assert error_code(response) == "number_not_available"
    assert tenant.get("/v1/numbers").json()["data"] == []
    with tenant.backend.database.transaction() as session:
        assert session.scalars(select(SandboxNumber)).all() == []
    assert not tenant.events("number.purchased")


def test_purchase_for_an_inbound_agent_assigns_each_number(tenant: Tenant) -> None:
    agent = tenant.agent("inbound", "Desk")
    bought = buy(tenant, "+442079460100", "+441614960100", agent_id=agent["id"])
    assert [n["inbound_agent_id"] for n in bought] == [agent["id"]] * 2
    assert {n["country_code"] for n in bought} == {"GB"}


def test_purchase_refusals_are_clear_and_change_nothing(tenant: Tenant) -> None:
    tenant.number("+12025550160")
    cases = [
        ({"phone_numbers": ["+12025550160"]}, 409, "number_already_exists"),
        ({"phone_numbers": ["12345"]}, 422, "invalid_phone_number"),
        ({"phone_numbers": []}, 422, "invalid_request"),
        ({"phone_numbers": ["+12025550161"], "provider": "acme"}, 422, "invalid_request"),
        ({"phone_numbers": ["+12025550161"], "agent_id": "agt_nope"}, 404, "agent_not_found"),
        ({"phone_numbers": ["+12025550161"], "provider": "twilio"}, 422, "provider_not_configured"),
    ]
    for body, status, code in cases:
        response = tenant.post("/v1/numbers/purchase", body)
        assert (response.status_code, error_code(response)) == (status, code), response.text
    assert len(tenant.get("/v1/numbers").json()["data"]) == 1
    for params, code in (
        ({"country": "U1"}, "invalid_country"),
        ({"area_code": "4x5"}, "invalid_area_code"),
        ({"contains": "1"}, "invalid_contains"),
        ({"provider": "acme"}, "invalid_request"),
    ):
        response = tenant.get("/v1/numbers/available", params=params)
        assert (response.status_code, error_code(response)) == (422, code), response.text


def test_deleting_a_number_not_bought_through_a_provider_releases_nothing(tenant: Tenant) -> None:
    tenant.number("+12025550170")
    assert tenant.delete("/v1/numbers/12025550170").status_code == 200
    assert releases(tenant) == []


def test_import_brings_in_what_the_provider_account_holds(tenant: Tenant) -> None:
    # A number bought at the sandbox that never reached the inventory (a lost response, say).
    providers: Providers = tenant.client.app.state.providers  # type: ignore[attr-defined]
    workspace_id = ids.parse("workspace", tenant.workspace_id)
    assert workspace_id is not None
    with tenant.backend.database.transaction() as session:
        SandboxProvider(
            session, workspace_id, providers.settings.sandbox_monthly_cost_cents
        ).purchase("+12065550100", None)
    buy(tenant, "+12065550101")
    first = tenant.post("/v1/numbers/import", {"provider": "sandbox"})
    assert first.status_code == 200, first.text
    data = first.json()["data"]
    assert [n["e164"] for n in data["imported"]] == ["+12065550100"]
    assert data["imported"][0]["source"] == "imported"
    assert data["already_in_workspace"] == ["+12065550101"]
    second = tenant.post("/v1/numbers/import", {"provider": "sandbox"}).json()["data"]
    assert second["imported"] == [] and len(second["already_in_workspace"]) == 2


def test_releases_are_private_to_their_workspace(tenant: Tenant, other_tenant: Tenant) -> None:
    e164 = buy(tenant, "+17025550100")[0]["e164"]
    tenant.delete(f"/v1/numbers/{e164}")
    [job] = releases(tenant)
    assert releases(other_tenant) == []
    assert other_tenant.post(f"/v1/numbers/releases/{job['id']}/retry").status_code == 404
    assert other_tenant.get("/v1/numbers/summary").json()["data"]["total"] == 0


def test_several_workers_share_the_queue_and_never_take_a_job_twice(tenant: Tenant) -> None:
    numbers = [n["e164"] for n in buy(tenant, *(f"+1212555{i:04d}" for i in range(100, 130)))]
    for e164 in numbers:
        assert tenant.delete(f"/v1/numbers/{e164}").status_code == 200
    workers = [worker(tenant) for _ in range(4)]
    with ThreadPoolExecutor(len(workers)) as pool:
        counts = list(pool.map(lambda w: w.run_once(), workers))
    assert sum(counts) == 30, counts
    jobs = releases(tenant)
    assert len(jobs) == 30
    assert {(j["status"], j["attempts"]) for j in jobs} == {("released", 1)}
    assert {sandbox_row(tenant, e164).releases for e164 in numbers} == {1}
