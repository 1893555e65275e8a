"""The bodies of the assignment endpoints: attach, assign and their answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, model_validator

from callplane.agents.schemas import AgentOut
from callplane.assignments.service import AttachResult
from callplane.core.schemas import Input
from callplane.numbers.references import NumberRef, parse_refs
from callplane.numbers.schemas import NumberOut, Reference

Direction = Literal["inbound", "outbound"]


REFERENCE_LISTS = ("phone_numbers", "phone_number_slugs", "number_ids")


class AttachRequest(Input):
    """Numbers to attach outbound, by any mix of E.164, slug and id; at least one list."""

    phone_numbers: list[str] | None = None
    phone_number_slugs: list[str] | None = None
    number_ids: list[str] | None = None

    @model_validator(mode="after")
    def _some_list(self) -> AttachRequest:
        if not self.model_fields_set & set(REFERENCE_LISTS):
            raise ValueError("send one of " + ", ".join(REFERENCE_LISTS))
        return self

    def references(self) -> list[NumberRef]:
        return parse_refs(
            [(name, getattr(self, name)) for name in REFERENCE_LISTS if getattr(self, name)]
        )


class AttachOut(BaseModel):
    agent: AgentOut
    numbers: list[NumberOut]
    newly_attached: int

    @classmethod
    def of(cls, r: AttachResult) -> AttachOut:
        return cls(
            agent=AgentOut.of(r.agent),
            numbers=[NumberOut.of(v) for v in r.numbers],
            newly_attached=r.newly_attached,
        )


class AssignRequest(Input):
    number_id: Reference
    agent_id: Reference
    assignment_type: Direction
    replace: bool = False


class UnassignRequest(Input):
    number_id: Reference
    assignment_type: Direction
    agent_id: Reference | None = None
