from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from callplane.core import ids
from callplane.core.conditional import entity_tag
from callplane.core.schemas import (
    ETAG_DOC,
    VERSION_DOC,
    CountryList,
    ForwardTarget,
    Input,
    Name,
    iso,
)
from callplane.numbers.service import NumberInput, NumberView
from callplane.numbers.summary import Summary

MAX_CALLS_PER_HOUR = 1_000_000
MAX_CALLS_PER_DAY = 24 * MAX_CALLS_PER_HOUR
Reference = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class NumberCreate(Input):
    e164: str = Field(description="E.164, e.g. +16286666348")
    friendly_name: Name | None = None
    monthly_cost_cents: int = Field(default=0, ge=0, le=10_000_000)
    provider: Annotated[str, StringConstraints(max_length=64)] | None = None

    def to_input(self) -> NumberInput:
        return NumberInput(self.e164, self.friendly_name, self.monthly_cost_cents, self.provider)


class NumberBatch(Input):
    numbers: list[NumberCreate]


class NumberUpdate(Input):
    friendly_name: Name | None = None
    status: Literal["active", "suspended"] | None = None
    monthly_cost_cents: int | None = Field(default=None, ge=0, le=10_000_000)
    fallback_action: Literal["reject", "forward"] | None = None
    fallback_destination: ForwardTarget | None = Field(
        default=None, description="E.164 or SIP URI to forward to when no agent answers"
    )
    allowed_inbound_countries: CountryList | None = None
    # The same range on every database (PostgreSQL's integer stops at 2^31-1, SQLite does not).
    max_calls_per_hour: int | None = Field(default=None, ge=1, le=MAX_CALLS_PER_HOUR)
    max_calls_per_day: int | None = Field(default=None, ge=1, le=MAX_CALLS_PER_DAY)

    @model_validator(mode="after")
    def _required_stay_set(self) -> NumberUpdate:
        for name in ("status", "monthly_cost_cents", "fallback_action"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, object]:
        return self.model_dump(include=self.model_fields_set)


class NumberOut(BaseModel):
    id: str
    workspace_id: str
    e164: str
    slug: str
    friendly_name: str | None
    country_code: str | None
    number_type: str
    valid: bool
    status: str
    source: str
    provider: str | None
    monthly_cost_cents: int
    purchased_at: str | None
    verified_by: Literal["provider", "operator"] | None = Field(
        description="Who proved this workspace owns the number; unverified numbers are not "
        "used as caller ID and give way to a workspace that proves ownership."
    )
    inbound_agent_id: str | None
    outbound_agent_ids: list[str]
    fallback_action: str
    fallback_destination: str | None
    allowed_inbound_countries: list[str] | None
    max_calls_per_hour: int | None
    max_calls_per_day: int | None
    created_at: str
    updated_at: str
    version: int = Field(description=VERSION_DOC)
    etag: str = Field(description=ETAG_DOC)

    @classmethod
    def of(cls, v: NumberView) -> NumberOut:
        n = v.number
        return cls(
            id=ids.render("number", n.id),
            workspace_id=ids.render("workspace", n.workspace_id),
            e164=n.e164,
            slug=n.e164[1:],
            friendly_name=n.friendly_name,
            country_code=n.country_code,
            number_type=n.number_type,
            valid=n.valid,
            status=n.status,
            source=n.source,
            provider=n.provider,
            monthly_cost_cents=n.monthly_cost_cents,
            purchased_at=iso(n.purchased_at),
            verified_by=n.verified_by,
            inbound_agent_id=ids.render("agent", v.inbound_agent_id)
            if v.inbound_agent_id
            else None,
            outbound_agent_ids=[ids.render("agent", a) for a in v.outbound_agent_ids],
            fallback_action=n.fallback_action,
            fallback_destination=n.fallback_destination,
            allowed_inbound_countries=n.allowed_inbound_countries,
            max_calls_per_hour=n.max_calls_per_hour,
            max_calls_per_day=n.max_calls_per_day,
            created_at=iso(n.created_at) or "",
            updated_at=iso(n.updated_at) or "",
            version=n.version,
            etag=entity_tag(n.id, n.version),
        )


class SummaryOut(BaseModel):
    total: int
    monthly_cost_cents: int
    by_status: dict[str, int]
    by_country: dict[str, int]
    by_type: dict[str, int]
    by_provider: dict[str, int]
    by_assignment: dict[str, int]

    @classmethod
    def of(cls, s: Summary) -> SummaryOut:
        return cls(
            total=s.total,
            monthly_cost_cents=s.monthly_cost_cents,
            by_status=s.by_status,
            by_country=s.by_country,
            by_type=s.by_type,
            by_provider=s.by_provider,
            by_assignment=s.by_assignment,
        )
