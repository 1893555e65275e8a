"""The Twilio adapter: the real ``twilio`` SDK against a local server shaped like Twilio's API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from callplane.app import create_app
from callplane.providers.releases import Policy, ReleaseWorker
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, fake_twilio
from tests.helpers import SECRET, Backend, Tenant, error_code, make_tenant, settings_for

PUBLIC = "https://callplane.example.com"
ACCOUNT = f"/2010-04-01/Accounts/{ACCOUNT_SID}"
POLICY = Policy(backoff_seconds=0.01, backoff_max_seconds=0.01, max_attempts=5, lease_seconds=30)


@dataclass
class Setup:
    tenant: Tenant
    twilio: FakeTwilio
    worker: ReleaseWorker

    @property
    def voice_url(self) -> str:
        return f"{PUBLIC}/v1/telephony/twilio/{self.tenant.workspace_id}/voice"


@pytest.fixture
def setup(backend: Backend) -> Iterator[Setup]:
    with fake_twilio() as twilio:
        settings = settings_for(backend).model_copy(
            update={"twilio_api_base_url": twilio.url, "public_base_url": PUBLIC}
        )
        app = create_app(settings, backend.database)
        with TestClient(app, raise_server_exceptions=False) as client:
            tenant = make_tenant(backend, client, "twilio-workspace")
            response = tenant.patch(
                "/v1/workspace",
                {"twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN},
            )
            assert response.status_code == 200, response.text
            worker = ReleaseWorker(backend.database, app.state.providers, POLICY)
            yield Setup(tenant, twilio, worker)


def buy(s: Setup, *e164: str) -> list[dict[str, object]]:
    response = s.tenant.post(
        "/v1/numbers/purchase", {"provider": "twilio", "phone_numbers": list(e164)}
    )
    assert response.status_code == 201, response.text
    return list(response.json()["data"])


def test_search_passes_country_area_code_and_digits(setup: Setup) -> None:
    setup.twilio.for_sale = ["+14155550100", "+14155551234", "+12125551234"]
    response = setup.tenant.get(
        "/v1/numbers/available",
        params={"provider": "twilio", "country": "US", "area_code": "415", "contains": "1234"},
    )
    assert response.status_code == 200, response.text
    [candidate] = response.json()["data"]
    assert candidate["e164"] == "+14155551234" and candidate["locality"] == "San Francisco"
    [request] = setup.twilio.seen("GET", "AvailablePhoneNumbers/US/Local.json")
    assert request.query["AreaCode"] == "415" and request.query["Contains"] == "1234"


def test_purchase_sets_the_voice_url_and_delete_releases_at_twilio_once(setup: Setup) -> None:
    setup.twilio.for_sale = ["+14155550100"]
    [number] = buy(setup, "+14155550100")
    assert number["provider"] == "twilio" and number["source"] == "purchased"
    assert number["monthly_cost_cents"] == 115
    [created] = setup.twilio.seen("POST", r"IncomingPhoneNumbers\.json$")
    assert created.form == {
        "PhoneNumber": "+14155550100",
        "VoiceUrl": setup.voice_url,
        "VoiceMethod": "POST",
    }
    [sid] = setup.twilio.owned
    assert setup.twilio.owned[sid]["voice_url"] == setup.voice_url

    assert setup.tenant.delete("/v1/numbers/+14155550100").status_code == 200
    assert setup.twilio.owned  # not yet: the worker releases it
    assert setup.worker.run_once() == 1 and setup.worker.run_once() == 0
    assert setup.twilio.owned == {}
    assert len(setup.twilio.seen("DELETE", f"IncomingPhoneNumbers/{sid}.json")) == 1
    [job] = setup.tenant.get("/v1/numbers/releases").json()["data"]
    assert job["status"] == "released" and job["provider"] == "twilio"


def test_a_twilio_outage_delays_the_release_and_it_completes(setup: Setup) -> None:
    setup.twilio.for_sale = ["+14155550100"]
    buy(setup, "+14155550100")
    setup.tenant.delete("/v1/numbers/14155550100")
    setup.twilio.fail("DELETE", times=2, status=503, code=20500)
    setup.twilio.fail("DELETE", times=1, status=429, code=20429)
    attempts = 0
    while setup.tenant.get("/v1/numbers/releases").json()["data"][0]["status"] == "pending":
        attempts += setup.worker.run_once()
        assert attempts <= 5
        [job] = setup.tenant.get("/v1/numbers/releases").json()["data"]
        if job["status"] == "pending":
            assert str(job["last_error"]).startswith(
                ("provider_unavailable", "provider_rate_limited")
            )
        time.sleep(0.02)
    assert attempts == 4 and setup.twilio.owned == {}
    assert len(setup.twilio.seen("DELETE", status=204)) == 1


def test_releasing_what_twilio_no_longer_has_is_success(setup: Setup) -> None:
    setup.twilio.for_sale = ["+14155550100"]
    buy(setup, "+14155550100")
    setup.twilio.owned.clear()  # removed in Twilio's console meanwhile
    setup.tenant.delete("/v1/numbers/14155550100")
    assert setup.worker.run_once() == 1
    assert setup.tenant.get("/v1/numbers/releases").json()["data"][0]["status"] == "released"


def test_twilio_errors_become_clear_callplane_errors(setup: Setup) -> None:
    setup.twilio.for_sale = ["+14155550100"]
    taken = setup.tenant.post(
        "/v1/numbers/purchase", {"provider": "twilio", "phone_numbers": ["+14155550199"]}
    )
    assert (taken.status_code, error_code(taken)) == (409, "number_not_available")
    assert "PhoneNumber is not available" in taken.json()["error"]["message"]

    setup.twilio.fail("GET", status=429, code=20429)
    limited = setup.tenant.get("/v1/numbers/available", params={"provider": "twilio"})
    assert (limited.status_code, error_code(limited)) == (503, "provider_rate_limited")
    assert limited.json()["error"]["details"]["twilio_code"] == 20429

    setup.twilio.fail("POST", status=500, code=20500)
    down = setup.tenant.post(
        "/v1/numbers/purchase", {"provider": "twilio", "phone_numbers": ["+14155550100"]}
    )
    assert (down.status_code, error_code(down)) == (503, "provider_unavailable")

    wrong = setup.tenant.patch("/v1/workspace", {"twilio_auth_token": "a-wrong-token"})
    assert wrong.status_code == 200
    refused = setup.tenant.get("/v1/numbers/available", params={"provider": "twilio"})
    assert (refused.status_code, error_code(refused)) == (422, "provider_credentials_rejected")
    assert "a-wrong-token" not in refused.text and AUTH_TOKEN not in refused.text
    assert setup.tenant.get("/v1/numbers").json()["data"] == []


def test_twilio_unreachable_is_a_503(setup: Setup, backend: Backend) -> None:
    settings = settings_for(backend).model_copy(
        update={"twilio_api_base_url": "http://127.0.0.1:9"}
    )
    with TestClient(create_app(settings, backend.database)) as client:
        response = client.get(
            "/v1/numbers/available", params={"provider": "twilio"}, headers=setup.tenant.auth
        )
    assert (response.status_code, error_code(response)) == (503, "provider_unavailable")


def test_a_multi_number_purchase_that_fails_part_way_releases_what_it_bought(
    setup: Setup,
) -> None:
    setup.twilio.for_sale = ["+14155550100"]
    response = setup.tenant.post(
        "/v1/numbers/purchase",
        {"provider": "twilio", "phone_numbers": ["+14155550100", "+14155550101"]},
    )
    assert (response.status_code, error_code(response)) == (409, "number_not_available")
    assert setup.twilio.owned == {}
    assert len(setup.twilio.seen("DELETE", status=204)) == 1
    assert setup.tenant.get("/v1/numbers").json()["data"] == []


def test_import_brings_in_owned_numbers_and_points_them_at_callplane(setup: Setup) -> None:
    first, second = setup.twilio.own("+14155550111", "Support"), setup.twilio.own("+14155550112")
    response = setup.tenant.post("/v1/numbers/import", {"provider": "twilio"})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [n["e164"] for n in data["imported"]] == ["+14155550111", "+14155550112"]
    assert data["imported"][0]["friendly_name"] == "Support"
    assert {n["source"] for n in data["imported"]} == {"imported"}
    for sid in (first, second):
        assert setup.twilio.owned[sid]["voice_url"] == setup.voice_url
    again = setup.tenant.post("/v1/numbers/import", {"provider": "twilio"}).json()["data"]
    assert again["imported"] == [] and len(again["already_in_workspace"]) == 2
    # Imported, not bought through callplane: deleting it does not cancel it at Twilio.
    setup.tenant.delete("/v1/numbers/14155550111")
    assert setup.tenant.get("/v1/numbers/releases").json()["data"] == []
    assert first in setup.twilio.owned


def test_twilio_needs_the_workspace_credentials(setup: Setup, backend: Backend) -> None:
    bare = make_tenant(backend, setup.tenant.client, "no-twilio")
    response = bare.get("/v1/numbers/available", params={"provider": "twilio"})
    assert (response.status_code, error_code(response)) == (422, "provider_not_configured")
    assert response.json()["error"]["details"]["missing"] == "twilio_account_sid"


def test_the_auth_token_never_reaches_a_log_or_the_audit_log(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    setup.twilio.for_sale = ["+14155550100"]
    buy(setup, "+14155550100")
    setup.tenant.delete("/v1/numbers/14155550100")
    setup.worker.run_once()
    assert "Twilio API Request" in caplog.text  # the SDK did log its requests...
    assert AUTH_TOKEN not in caplog.text  # ...without the token
    events = str(setup.tenant.events())
    assert AUTH_TOKEN not in events and "twilio_auth_token" in events


# `callplane worker` as its own process, killed with SIGKILL in the middle of a release.


def start_worker(backend: Backend, twilio_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": backend.url,
        "CALLPLANE_SECRET_KEY": SECRET,
        "CALLPLANE_TWILIO_API_BASE_URL": twilio_url,
        "CALLPLANE_RELEASE_POLL_SECONDS": "0.05",
        "CALLPLANE_RELEASE_LEASE_SECONDS": "1",
        "CALLPLANE_RELEASE_BACKOFF_SECONDS": "0.05",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "callplane", "worker"], env=env, stdout=out, stderr=out
        )


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_killed_worker_process_loses_nothing_and_releases_nothing_twice(
    setup: Setup, tmp_path: Path
) -> None:
    numbers = ["+14155550100", "+14155550101", "+14155550102"]
    setup.twilio.for_sale = list(numbers)
    buy(setup, *numbers)
    sids = set(setup.twilio.owned)
    for e164 in numbers:
        assert setup.tenant.delete(f"/v1/numbers/{e164}").status_code == 200
    setup.twilio.delete_delay = 1.0
    log = tmp_path / "worker.log"

    first = start_worker(setup.tenant.backend, setup.twilio.url, log)
    try:
        # Kill it while its first DELETE is in flight (Twilio will still carry it out).
        wait_for(
            lambda: setup.twilio.deletes_received or first.poll() is not None, 30, log.read_text()
        )
        assert first.poll() is None, log.read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    setup.twilio.delete_delay = 0.0
    jobs = setup.tenant.get("/v1/numbers/releases").json()["data"]
    assert [j["status"] for j in jobs] == ["pending"] * 3  # nothing recorded, nothing lost

    second = start_worker(setup.tenant.backend, setup.twilio.url, log)
    try:

        def all_released() -> bool:
            data = setup.tenant.get("/v1/numbers/releases").json()["data"]
            return all(j["status"] == "released" for j in data)

        wait_for(all_released, 30, log.read_text())
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(10)
    assert setup.twilio.owned == {}
    deleted = setup.twilio.seen("DELETE", status=204)
    assert sorted(r.path.rsplit("/", 1)[1][:-5] for r in deleted) == sorted(sids)  # once each
    assert second.returncode == 0, log.read_text()
    # The DELETE in flight at the kill was carried out by Twilio; the restarted worker's second
    # one found nothing to delete (404), which counts as released.
    assert len(setup.twilio.seen("DELETE", status=404)) == 1
