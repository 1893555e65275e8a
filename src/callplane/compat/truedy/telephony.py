"""Truedy public v1 telephony: list, search, buy, import (BYOC), assign, unassign and release.

Search and purchase go through the workspace's provider (Twilio once configured, the sandbox
before); Truedy's optional ``api_key`` (a Telnyx key) is accepted and not used. An import keeps
the provider's name and, for ``custom_sip``, the SIP user and server; credentials are not stored.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, model_validator

from callplane.assignments import service as assignments
from callplane.compat.truedy.idempotency import TRUEDY_IDEMPOTENCY_KEY
from callplane.compat.truedy.shapes import TruedyNumber
from callplane.core import ids
from callplane.core.db import utcnow
from callplane.core.envelope import Meta, meta
from callplane.core.http import CurrentActor, DbSession
from callplane.core.schemas import Input, Name, iso
from callplane.idempotency.http import IdempotentRoute
from callplane.numbers import service as numbers
from callplane.numbers.service import NumberFilters, NumberInput
from callplane.providers import service as providers_service
from callplane.providers.base import SearchQuery
from callplane.providers.router import AppProviders

router = APIRouter(prefix="/telephony/numbers", route_class=IdempotentRoute)

Text = Annotated[str, Field(max_length=255)]


class ListPagination(BaseModel):
    total: int
    limit: int
    offset: int
    has_more: bool


class NumberList(BaseModel):
    data: list[TruedyNumber]
    pagination: ListPagination
    meta: Meta


class NumberResponse(BaseModel):
    data: TruedyNumber
    meta: Meta


class SearchBody(Input):
    country_code: Annotated[str, Field(min_length=2, max_length=2)] = "US"
    locality: Text | None = None
    area_code: Annotated[str, Field(max_length=5)] | None = None
    administrative_area: Text | None = None
    phone_number_type: Literal["local", "toll_free", "mobile", "national"] | None = None
    api_key: Text | None = None
    page: Annotated[int, Field(ge=1, le=1000)] = 1
    page_size: Annotated[int, Field(ge=1, le=100)] = 20


class RegionInformation(BaseModel):
    region_type: str
    region_name: str


class Feature(BaseModel):
    name: str


class CostInformation(BaseModel):
    monthly_cost: str
    upfront_cost: str
    currency: str


class Offer(BaseModel):
    phone_number: str
    range: str | None
    region_information: list[RegionInformation]
    features: list[Feature]
    cost_information: CostInformation


class SearchPagination(BaseModel):
    page: int
    page_size: int
    total_results: int
    total_pages: int
    has_more: bool


class SearchResponse(BaseModel):
    data: list[Offer]
    pagination: SearchPagination
    meta: Meta


class PurchaseBody(Input):
    phone_number: str
    api_key: Text | None = None


class ImportBody(Input):
    phone_number: str
    provider_type: Literal["telnyx", "twilio", "custom_sip"]
    api_key: Text | None = None
    account_sid: Text | None = None
    auth_token: Text | None = None
    sip_username: Text | None = None
    sip_password: Text | None = None
    sip_server: Text | None = None
    friendly_name: Name | None = None

    @model_validator(mode="after")
    def _provider_fields(self) -> ImportBody:
        if self.provider_type == "custom_sip":
            missing = [
                f for f in ("sip_username", "sip_password", "sip_server") if not getattr(self, f)
            ]
        elif self.provider_type == "twilio":
            missing = [] if self.api_key or (self.account_sid and self.auth_token) else ["api_key"]
        else:
            missing = [] if self.api_key else ["api_key"]
        if missing:
            raise ValueError(f"{self.provider_type} needs {', '.join(missing)}")
        return self


class UnassignRequest(Input):
    number_id: str
    assignment_type: Literal["inbound", "outbound"]


class AssignRequest(Input):
    number_id: str
    agent_id: str
    assignment_type: Literal["inbound", "outbound"]


class Unassigned(BaseModel):
    number: str
    agent_id: None
    unassigned_at: str


class Assigned(BaseModel):
    number: str
    number_id: str
    agent_id: str
    assignment_type: str
    assigned_at: str


class UnassignResponse(BaseModel):
    data: Unassigned
    meta: Meta


class AssignResponse(BaseModel):
    data: Assigned
    meta: Meta


class Released(BaseModel):
    id: str
    phone_number: str
    released: bool
    released_at: str


class ReleaseResponse(BaseModel):
    data: Released
    meta: Meta


@router.get("")
def list_phone_numbers(
    actor: CurrentActor,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> NumberList:
    """Every number of the organisation, bought or brought, oldest first."""
    page = numbers.list_numbers_by_offset(
        session, actor, NumberFilters(), offset=offset, limit=limit
    )
    return NumberList(
        data=[TruedyNumber.of(v) for v in page.items],
        pagination=ListPagination(
            total=page.total, limit=limit, offset=offset, has_more=offset + limit < page.total
        ),
        meta=meta(actor.request_id or ""),
    )


@router.post("/search")
def search_numbers(
    body: SearchBody, actor: CurrentActor, session: DbSession, providers: AppProviders
) -> SearchResponse:
    """Numbers for sale, paged by ``page``/``page_size`` over what the provider offers."""
    name = providers.default_name(session, actor.workspace_id)
    wanted = body.page * body.page_size + 1  # one more than this page: is there another?
    query = SearchQuery(body.country_code.upper(), body.area_code, None, wanted)
    found = providers_service.search(session, actor, providers, name, query, body.phone_number_type)
    found = [
        c
        for c in found
        if _matches(body.locality, c.locality) and _matches(body.administrative_area, c.region)
    ]
    start = (body.page - 1) * body.page_size
    shown = found[start : start + body.page_size]
    cost = providers.monthly_cost_cents(name)
    offers = [
        Offer(
            phone_number=c.e164,
            range=None,
            region_information=[
                RegionInformation(region_type=kind, region_name=value)
                for kind, value in (
                    ("country_code", c.country_code),
                    ("locality", c.locality),
                    ("state", c.region),
                )
                if value
            ],
            features=[Feature(name="voice")],
            cost_information=CostInformation(
                monthly_cost=f"{(c.monthly_cost_cents or cost) / 100:.2f}",
                upfront_cost="0.00",
                currency="USD",
            ),
        )
        for c in shown
    ]
    return SearchResponse(
        data=offers,
        pagination=SearchPagination(
            page=body.page,
            page_size=body.page_size,
            total_results=len(found),
            total_pages=math.ceil(len(found) / body.page_size),
            has_more=len(found) > start + body.page_size,
        ),
        meta=meta(actor.request_id or ""),
    )


@router.post("/purchase", status_code=201, dependencies=[TRUEDY_IDEMPOTENCY_KEY])
def purchase_number(
    body: PurchaseBody, actor: CurrentActor, session: DbSession, providers: AppProviders
) -> NumberResponse:
    """Buy a number from the workspace's provider; it joins the inventory unassigned."""
    name = providers.default_name(session, actor.workspace_id)
    (bought,) = providers_service.purchase(session, actor, providers, name, [body.phone_number])
    return NumberResponse(data=TruedyNumber.of(bought), meta=meta(actor.request_id or ""))


@router.post("/import", status_code=201, dependencies=[TRUEDY_IDEMPOTENCY_KEY])
def import_number(body: ImportBody, actor: CurrentActor, session: DbSession) -> NumberResponse:
    """Bring a number held at Twilio, Telnyx or a SIP trunk; deleting it later releases nothing."""
    sip = (
        {"sip_auth_username": body.sip_username, "sip_term_uri": body.sip_server}
        if body.provider_type == "custom_sip"
        else None
    )
    created = numbers.import_number(
        session,
        actor,
        NumberInput(
            body.phone_number,
            friendly_name=body.friendly_name,
            provider=body.provider_type,
            sip_settings=sip,
        ),
    )
    return NumberResponse(data=TruedyNumber.of(created), meta=meta(actor.request_id or ""))


@router.post("/assign", dependencies=[TRUEDY_IDEMPOTENCY_KEY])
def assign_phone_number(
    body: AssignRequest, actor: CurrentActor, session: DbSession
) -> AssignResponse:
    """Give a number to an agent in one direction (a held inbound number is a 409)."""
    result = assignments.assign(session, actor, body.number_id, body.agent_id, body.assignment_type)
    agent_id = ids.parse("agent", body.agent_id)
    return AssignResponse(
        data=Assigned(
            number=result.number.e164,
            number_id=ids.render("number", result.number.id),
            agent_id=ids.render("agent", agent_id) if agent_id else body.agent_id,
            assignment_type=body.assignment_type,
            assigned_at=iso(result.number.updated_at) or "",
        ),
        meta=meta(actor.request_id or ""),
    )


@router.post("/unassign", dependencies=[TRUEDY_IDEMPOTENCY_KEY])
def unassign_phone_number(
    body: UnassignRequest, actor: CurrentActor, session: DbSession
) -> UnassignResponse:
    """Remove a number's assignment in one direction."""
    result = assignments.unassign(session, actor, body.number_id, body.assignment_type)
    return UnassignResponse(
        data=Unassigned(
            number=result.number.number.e164, agent_id=None, unassigned_at=iso(result.at) or ""
        ),
        meta=meta(actor.request_id or ""),
    )


@router.delete("/{number_id}")
def release_number(number_id: str, actor: CurrentActor, session: DbSession) -> ReleaseResponse:
    """Remove the number from every agent and the inventory; a bought one is released at its
    provider (reliably, by the release worker), a brought one only leaves the organisation."""
    removed = numbers.delete_number(session, actor, number_id)
    return ReleaseResponse(
        data=Released(
            id=ids.render("number", removed.number.id),
            phone_number=removed.number.e164,
            released=removed.number.source == "purchased",
            released_at=iso(utcnow()) or "",
        ),
        meta=meta(actor.request_id or ""),
    )


def _matches(wanted: str | None, value: str | None) -> bool:
    return wanted is None or (value or "").casefold() == wanted.casefold()
