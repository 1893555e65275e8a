"""docs/webhooks.md's receiver example runs, and accepts exactly what the worker signs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from callplane.core.db import utcnow
from callplane.webhooks.delivery import signed_headers
from callplane.webhooks.service import new_secret

PAGE = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def test_the_documented_receiver_verifies_signed_messages(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = re.findall(r"^```python\n(.*?)^```$", PAGE.read_text(), re.MULTILINE | re.DOTALL)
    (example,) = [b for b in blocks if "app = FastAPI()" in b]  # the receiver itself
    secret = new_secret()
    monkeypatch.setenv("CALLPLANE_WEBHOOK_SECRET", secret)
    scope: dict[str, Any] = {"__name__": "receiver"}
    exec(compile(example, str(PAGE), "exec"), scope)  # noqa: S102 - our own documentation
    receiver = TestClient(scope["app"])
    body = json.dumps({"type": "number.assigned", "timestamp": "now", "data": {"resource_ids": []}})
    headers = signed_headers("evt_1", body, [secret], utcnow())

    for _ in range(2):  # the second time is a repeat: accepted, not handled again
        answer = receiver.post("/hooks/callplane", content=body, headers=headers)
        assert answer.status_code == 200 and answer.json() == {"received": True}
    assert capsys.readouterr().out.count("number.assigned") == 1

    forged = signed_headers("evt_2", body, [new_secret()], utcnow())
    assert receiver.post("/hooks/callplane", content=body, headers=forged).status_code == 400
    tampered = body.replace("assigned", "deleted")
    assert receiver.post("/hooks/callplane", content=tampered, headers=headers).status_code == 400
