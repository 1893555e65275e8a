"""The invariants hold in the database itself, even for writes that bypass the services."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from callplane.assignments.models import Assignment
from callplane.core import ids
from callplane.core.db import utcnow
from tests.helpers import Tenant


def _uuid(kind: str, text: str) -> uuid.UUID:
    value = ids.parse(kind, text)
    assert value is not None
    return value


def _insert(tenant: Tenant, **row: object) -> None:
    with tenant.backend.database.transaction() as session:
        session.execute(insert(Assignment).values(is_primary=False, created_at=utcnow(), **row))


def test_constraints_refuse_what_the_rules_refuse(tenant: Tenant, other_tenant: Tenant) -> None:
    workspace = _uuid("workspace", tenant.workspace_id)
    first, second = tenant.agent("inbound", name="1"), tenant.agent("inbound", name="2")
    outbound = tenant.agent("outbound")
    number = _uuid("number", tenant.number("+12025550101")["id"])
    foreign_number = _uuid("number", other_tenant.number("+12025550102")["id"])
    _insert(
        tenant,
        number_id=number,
        agent_id=_uuid("agent", first["id"]),
        workspace_id=workspace,
        direction="inbound",
    )

    refused = [
        # A second inbound agent for one number (rule 3).
        {"number_id": number, "agent_id": _uuid("agent", second["id"]), "direction": "inbound"},
        # A direction that is not the agent's type (rule 5).
        {"number_id": number, "agent_id": _uuid("agent", outbound["id"]), "direction": "inbound"},
        # Another workspace's number (rule 1).
        {
            "number_id": foreign_number,
            "agent_id": _uuid("agent", outbound["id"]),
            "direction": "outbound",
        },
        # A number that does not exist (no dangling assignment).
        {
            "number_id": uuid.uuid4(),
            "agent_id": _uuid("agent", outbound["id"]),
            "direction": "outbound",
        },
    ]
    for row in refused:
        with pytest.raises(IntegrityError):
            _insert(tenant, workspace_id=workspace, **row)

    other = _uuid("number", tenant.number("+12025550103")["id"])
    _insert(
        tenant,
        number_id=other,
        agent_id=_uuid("agent", first["id"]),
        workspace_id=workspace,
        direction="inbound",
    )
    with pytest.raises(IntegrityError), tenant.backend.database.transaction() as session:
        # Two primary numbers for one agent (rule 6).
        session.execute(
            update(Assignment)
            .where(Assignment.agent_id == _uuid("agent", first["id"]))
            .values(is_primary=True)
        )
