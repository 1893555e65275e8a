"""The seed pages' own request examples, run unchanged but for base URL, token and ids, against
a live server; every response is validated against the schema the page documents."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from tests.conformance import seed_pages as seeds
from tests.conformance.vendor_shapes import CALLINGBOX_AGENT
from tests.helpers import Tenant
from tests.live_server import live_server

SYNTHFLOW_HOST = "https://api.synthflow.ai/v2"


@pytest.fixture
def server(tenant: Tenant, tmp_path: Path) -> Iterator[str]:
    with live_server(tenant.backend.url, tmp_path / "server.log") as base_url:
        yield base_url


def run_example(code: str, replacements: dict[str, str]) -> tuple[requests.Response, str]:
    """Execute a seed's Python example as written, with only the given strings replaced."""
    for old, new in replacements.items():
        code = code.replace(old, new)
    namespace: dict[str, Any] = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "<seed example>", "exec"), namespace)  # noqa: S102 - the seed's own code
    return namespace["response"], printed.getvalue()


def test_synthflow_examples_run_unchanged(tenant: Tenant, server: str) -> None:
    agent = tenant.agent("outbound", name="Synthflow agent")
    for e164 in ("+16286666348", "+12131231214", "+33782990580"):
        tenant.number(e164)
    replacements = {
        SYNTHFLOW_HOST: f"{server}/compat/synthflow/v2",
        "<token>": tenant.key,
        "/assistants/model_id/": f"/assistants/{agent['id']}/",
    }

    attach_page = seeds.openapi(seeds.SYNTHFLOW_ATTACH)
    no_body, by_numbers, by_slugs = seeds.python_examples(seeds.SYNTHFLOW_ATTACH)

    response, printed = run_example(no_body.code, replacements)
    assert response.status_code == 400  # the seed's first example sends no body at all
    jsonschema.validate(
        response.json(),
        seeds.schema_of_component(
            attach_page, "Attach-phone-numbers-to-assistantRequestNotFoundError"
        ),
    )
    assert "phone_numbers" in response.json()["detail"]["description"]
    assert "request_id" in printed

    response, _ = run_example(by_numbers.code, replacements)
    assert response.status_code == 200
    seeds.validate(attach_page, 200, response.json())
    assert response.json() == {"status": "ok"}

    response, _ = run_example(by_slugs.code, replacements)  # 1231242151 cannot be a number
    assert response.status_code == 404
    seeds.validate(attach_page, 404, response.json())
    assert "1231242151" in response.json()["detail"]["description"]

    attached = tenant.get(f"/v1/agents/{agent['id']}/numbers").json()["data"]
    assert sorted(n["e164"] for n in attached) == ["+12131231214", "+16286666348"]

    (detach,) = seeds.python_examples(seeds.SYNTHFLOW_DETACH)
    response, _ = run_example(detach.code, replacements)
    assert response.status_code == 200
    seeds.validate(seeds.openapi(seeds.SYNTHFLOW_DETACH), 200, response.json())
    attached = tenant.get(f"/v1/agents/{agent['id']}/numbers").json()["data"]
    assert [n["e164"] for n in attached] == ["+12131231214"]

    (delete,) = seeds.python_examples(seeds.SYNTHFLOW_DELETE)
    response, _ = run_example(delete.code, replacements)
    assert response.status_code == 200
    seeds.validate(seeds.openapi(seeds.SYNTHFLOW_DELETE), 200, response.json())
    assert tenant.get("/v1/numbers/+33782990580").status_code == 404


def test_synthflow_documented_errors(tenant: Tenant, server: str) -> None:
    agent = tenant.agent("outbound")
    tenant.number("+16286666348")
    auth = {"Authorization": f"Bearer {tenant.key}"}
    base = f"{server}/compat/synthflow/v2"
    detach_page = seeds.openapi(seeds.SYNTHFLOW_DETACH)
    delete_page = seeds.openapi(seeds.SYNTHFLOW_DELETE)
    attach_page = seeds.openapi(seeds.SYNTHFLOW_ATTACH)

    cases = [
        (
            requests.delete(
                f"{base}/assistants/{agent['id']}/phone_numbers/not-a-slug",
                headers=auth,
                timeout=10,
            ),
            detach_page,
            400,
        ),
        (
            requests.delete(
                f"{base}/assistants/{agent['id']}/phone_numbers/16286666348",
                headers=auth,
                timeout=10,
            ),
            detach_page,
            404,
        ),  # not attached
        (
            requests.delete(
                f"{base}/assistants/unknown-agent/phone_numbers/16286666348",
                headers=auth,
                timeout=10,
            ),
            detach_page,
            404,
        ),
        (requests.delete(f"{base}/numbers/+1628", headers=auth, timeout=10), delete_page, 400),
        (
            requests.put(
                f"{base}/assistants/{agent['id']}/phone_numbers",
                headers=auth,
                json={"phone_numbers": ["+16286666348", "+12025550100"]},
                timeout=10,
            ),
            attach_page,
            404,
        ),
        (
            requests.put(
                f"{base}/assistants/agt_unknown/phone_numbers",
                headers=auth,
                json={"phone_number_slugs": ["16286666348"]},
                timeout=10,
            ),
            attach_page,
            404,
        ),
    ]
    for response, page, status in cases:
        assert response.status_code == status, response.text
        seeds.validate(page, status, response.json())
        assert response.json()["detail"]["request_id"] == response.headers["x-request-id"]
    # The 404 of a partial attach changed nothing.
    assert tenant.get(f"/v1/agents/{agent['id']}/numbers").json()["data"] == []
    both = requests.put(
        f"{base}/assistants/{agent['id']}/phone_numbers",
        headers=auth,
        timeout=10,
        json={"phone_numbers": ["+16286666348"], "phone_number_slugs": ["16286666348"]},
    )
    assert both.status_code == 400
    jsonschema.validate(
        both.json(),
        seeds.schema_of_component(
            attach_page, "Attach-phone-numbers-to-assistantRequestNotFoundError"
        ),
    )
    unauthorised = requests.delete(f"{base}/numbers/16286666348", timeout=10)
    assert unauthorised.status_code == 401
    assert unauthorised.json()["detail"]["category"] == "unauthorized"


def test_truedy_request_example_and_documented_errors(tenant: Tenant, server: str) -> None:
    document = seeds.openapi(seeds.TRUEDY_UNASSIGN)
    inbound = tenant.agent("inbound")
    number = tenant.number("+18005559876")
    tenant.post(
        "/v1/numbers/assign",
        {"number_id": number["id"], "agent_id": inbound["id"], "assignment_type": "inbound"},
    )
    url = f"{server}/compat/truedy/api/public/v1/telephony/numbers/unassign"
    auth = {"Authorization": f"Bearer {tenant.key}"}
    request_body = seeds.operation(document)["requestBody"]["content"]["application/json"]
    example = dict(request_body["examples"]["unassign"]["value"])
    assert example["number_id"] == "num_11111111-1111-1111-1111-111111111111"

    missing = requests.post(url, json=example, headers=auth, timeout=10)
    assert missing.status_code == 404
    seeds.validate(document, 404, missing.json())

    response = requests.post(
        url, json={**example, "number_id": number["id"]}, headers=auth, timeout=10
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert seeds.same_shape(seeds.documented_example(document, 200), body) == []
    assert body["data"] == {
        "number": "+18005559876",
        "agent_id": None,
        "unassigned_at": body["data"]["unassigned_at"],
    }
    assert body["meta"]["request_id"] == response.headers["x-request-id"]
    assert tenant.get(f"/v1/numbers/{number['id']}").json()["data"]["inbound_agent_id"] is None

    errors = [
        (requests.post(url, json=example, timeout=10), 401),
        (
            requests.post(
                url, json={**example, "number_id": "+1231242151"}, headers=auth, timeout=10
            ),
            400,
        ),
        (requests.post(url, json={"number_id": number["id"]}, headers=auth, timeout=10), 422),
        (
            requests.post(
                url, data=b"{oops", headers={**auth, "Content-Type": "application/json"}, timeout=10
            ),
            422,
        ),
        (
            requests.post(
                url, json={**example, "number_id": number["id"]}, headers=auth, timeout=10
            ),
            404,
        ),  # nothing left to unassign
    ]
    for reply, status in errors:
        assert reply.status_code == status, reply.text
        seeds.validate(document, status, reply.json())


def test_callingbox_curl_example_runs_unchanged(tenant: Tenant, server: str) -> None:
    agent = tenant.agent(
        "outbound",
        name="Appointment reminders",
        voice="alloy",
        returns={"confirmed": "boolean", "reschedule_to": "string"},
    )
    kept, gone = tenant.number("+15551234567"), tenant.number("+12025550177")
    tenant.put(f"/v1/agents/{agent['id']}/numbers", {"number_ids": [kept["id"], gone["id"]]})
    tenant.patch(f"/v1/agents/{agent['id']}", {"primary_number_id": gone["id"]})
    agent_uuid, gone_uuid = agent["id"].removeprefix("agt_"), gone["id"].removeprefix("num_")

    command = [
        part.replace("https://api.callingbox.io/v1", f"{server}/compat/callingbox/v1")
        .replace("{id}", agent_uuid)
        .replace("{number_id}", gone_uuid)
        .replace("<token>", tenant.key)
        for part in seeds.curl_example(seeds.CALLINGBOX_DETACH)
    ]
    output = subprocess.run(
        [*command, "--silent", "--write-out", "\n%{http_code}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    text, status = output.rsplit("\n", 1)
    assert status == "200"
    body = json.loads(text)
    assert seeds.missing_keys(seeds.json_example(seeds.CALLINGBOX_DETACH), body) == []
    jsonschema.validate(body, CALLINGBOX_AGENT)
    assert body["id"] == agent_uuid
    assert body["primary_number_id"] is None
    assert [n["id"] for n in body["numbers"]] == [kept["id"].removeprefix("num_")]
    assert body["numbers"][0]["outbound_agent_ids"] == [agent_uuid]
