"""Whatever a client sends to a vendor endpoint, the answer is that vendor's error shape, never
a 500, and nothing changes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.conformance.vendor_shapes import CALLINGBOX_ERROR, SYNTHFLOW_ERROR, check
from tests.helpers import Tenant

# Every object also carries a mistyped field each endpoint knows: endpoints that ignore unknown
# fields (as the vendors' clients need) would rightly accept an object of unknown fields alone.
_MISTYPED = {"name": 5, "friendly_name": 5}
GARBAGE: list[Any] = [
    None,
    [],
    "text",
    7,
    {"name": ["a"], "type": {"x": 1}, "friendly_name": ["b"]},
    {**_MISTYPED, "number_id": {"a": 1}, "agent_id": 10**30, "assignment_type": None},
    {**_MISTYPED, "phone_number": "+1" + "9" * 40, "workspace_id": 1, "number_ids": [None]},
    {**_MISTYPED, "agent": "prompt", "phone_number": 5, "is_recording": "yes", "max_duration": [1]},
    {
        "name": "\u0000",
        "friendly_name": "\ud83d",
        "voice_id": "\ud83d",
        "system_prompt": "x" * 30_000,
    },
    {**_MISTYPED, "page": -1, "page_size": 0, "country_code": "USA", "phone_number_type": "any"},
]
TRUEDY_VALIDATION = {"type": "object", "required": ["detail"]}
TRUEDY_ERROR = {"type": "object", "required": ["error"]}
ENDPOINTS = [
    ("POST", "/compat/synthflow/v2/assistants", SYNTHFLOW_ERROR),
    ("PUT", "/compat/synthflow/v2/assistants/{agent}", SYNTHFLOW_ERROR),
    ("PATCH", "/compat/synthflow/v2/numbers/{slug}", SYNTHFLOW_ERROR),
    ("POST", "/compat/synthflow/v2/custom-numbers", SYNTHFLOW_ERROR),
    ("POST", "/compat/callingbox/v1/agents", CALLINGBOX_ERROR),
    ("PATCH", "/compat/callingbox/v1/agents/{uuid}", CALLINGBOX_ERROR),
    ("POST", "/compat/callingbox/v1/agents/{uuid}/numbers", CALLINGBOX_ERROR),
    ("PUT", "/compat/callingbox/v1/agents/{uuid}/primary-number", CALLINGBOX_ERROR),
    ("POST", "/compat/callingbox/v1/numbers/purchase", CALLINGBOX_ERROR),
    ("POST", "/compat/truedy/api/public/v1/agents", None),
    ("PUT", "/compat/truedy/api/public/v1/agents/{agent}", None),
    ("POST", "/compat/truedy/api/public/v1/telephony/numbers/search", None),
    ("POST", "/compat/truedy/api/public/v1/telephony/numbers/purchase", None),
    ("POST", "/compat/truedy/api/public/v1/telephony/numbers/import", None),
    ("POST", "/compat/truedy/api/public/v1/telephony/numbers/assign", None),
]


@pytest.mark.parametrize(("method", "template", "schema"), ENDPOINTS)
def test_garbage_gets_the_vendor_error_shape(
    tenant: Tenant, method: str, template: str, schema: dict[str, Any] | None
) -> None:
    agent = tenant.agent("outbound", voice="v")
    number = tenant.number("+12025550120")
    path = template.format(agent=agent["id"], uuid=agent["id"][4:], slug=number["e164"][1:])
    before = tenant.get("/v1/events").json()["data"]
    for body in GARBAGE:
        headers = {
            **tenant.auth,
            "Content-Type": "application/json",
            "X-Idempotency-Key": str(uuid.uuid4()),
        }
        # Escaped JSON: unpaired surrogates travel as \\ud83d, as a hostile client sends them.
        response = tenant.client.request(method, path, content=json.dumps(body), headers=headers)
        assert 400 <= response.status_code < 500, (body, response.status_code, response.text)
        if schema is not None:
            check(schema, response.json())
        else:
            check(
                TRUEDY_VALIDATION if response.status_code == 422 else TRUEDY_ERROR, response.json()
            )
    assert tenant.get("/v1/events").json()["data"] == before
