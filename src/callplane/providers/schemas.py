from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from callplane.core import ids
from callplane.core.schemas import Input, iso
from callplane.numbers.schemas import NumberOut
from callplane.providers.base import Candidate
from callplane.providers.models import ReleaseJob
from callplane.providers.service import ImportResult

ProviderName = Literal["sandbox", "twilio"]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class CandidateOut(BaseModel):
    e164: str
    country_code: str | None
    locality: str | None
    region: str | None
    monthly_cost_cents: int | None

    @classmethod
    def of(cls, c: Candidate) -> CandidateOut:
        return cls(
            e164=c.e164,
            country_code=c.country_code,
            locality=c.locality,
            region=c.region,
            monthly_cost_cents=c.monthly_cost_cents,
        )


class PurchaseRequest(Input):
    provider: ProviderName = "sandbox"
    phone_numbers: list[str] = Field(min_length=1, max_length=100)
    agent_id: Reference | None = Field(
        default=None, description="Give the numbers to this agent in the same request."
    )


class ProviderImportRequest(Input):
    provider: ProviderName = "sandbox"
    configure_voice: bool = Field(
        default=True, description="Point each imported number's voice webhook at callplane."
    )


class ProviderImportOut(BaseModel):
    imported: list[NumberOut]
    already_in_workspace: list[str]
    in_other_workspace: list[str]
    verified: list[str] = Field(
        description="Numbers already in this workspace, unverified until the provider showed them."
    )

    @classmethod
    def of(cls, r: ImportResult) -> ProviderImportOut:
        return cls(
            imported=[NumberOut.of(v) for v in r.imported],
            already_in_workspace=r.already_in_workspace,
            in_other_workspace=r.in_other_workspace,
            verified=r.verified,
        )


class ReleaseOut(BaseModel):
    id: str
    number_id: str
    e164: str
    provider: str
    status: Literal["pending", "released", "failed"]
    attempts: int
    last_error: str | None
    next_attempt_at: str | None
    released_at: str | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, j: ReleaseJob) -> ReleaseOut:
        return cls(
            id=ids.render("release", j.id),
            number_id=ids.render("number", j.number_id),
            e164=j.e164,
            provider=j.provider,
            status=j.status,
            attempts=j.attempts,
            last_error=j.last_error,
            next_attempt_at=iso(j.next_attempt_at) if j.status == "pending" else None,
            released_at=iso(j.released_at),
            created_at=iso(j.created_at) or "",
            updated_at=iso(j.updated_at) or "",
        )
