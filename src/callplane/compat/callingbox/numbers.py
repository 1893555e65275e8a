"""CallingBox v1 numbers: the inventory as a bare array, numbers for sale, and buying one.

Searching and buying go through the workspace's provider: Twilio once its credentials are set
(``PATCH /v1/workspace``), the embedded sandbox before.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from callplane.compat.callingbox.shapes import CallingBoxNumber
from callplane.core.http import CurrentActor, DbSession
from callplane.core.pagination import MAX_LIMIT
from callplane.core.phone import parse_e164
from callplane.core.schemas import Input
from callplane.numbers import service as numbers
from callplane.numbers.service import NumberFilters
from callplane.providers import service as providers_service
from callplane.providers.base import SearchQuery
from callplane.providers.router import AppProviders

router = APIRouter()


class AvailableNumber(BaseModel):
    phone_number: str
    country_code: str | None
    number_type: str
    state: str | None
    locality: str | None
    monthly_cost_cents: int
    upfront_cost_cents: int
    currency: str


class PurchaseBody(Input):
    phone_number: str


@router.get("/numbers")
def list_numbers(actor: CurrentActor, session: DbSession) -> list[CallingBoxNumber]:
    """Every number of the workspace: CallingBox pages none of its lists (read here in keyset
    pages, so a large inventory costs no deep offsets)."""
    listed: list[CallingBoxNumber] = []
    cursor: str | None = None
    while True:
        page = numbers.list_numbers(session, actor, NumberFilters(), cursor=cursor, limit=MAX_LIMIT)
        listed += [CallingBoxNumber.of(v) for v in page.items]
        if page.next_cursor is None:
            return listed
        cursor = page.next_cursor


@router.get("/numbers/available")
def available_numbers(
    actor: CurrentActor,
    session: DbSession,
    providers: AppProviders,
    country_code: Annotated[str, Query(min_length=2, max_length=2)] = "US",
    area_code: Annotated[str | None, Query(max_length=5)] = None,
    number_type: Literal["local", "toll_free"] | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[AvailableNumber]:
    """Numbers the workspace's provider offers, as a bare array."""
    name = providers.default_name(session, actor.workspace_id)
    query = SearchQuery(country_code.upper(), area_code, None, limit)
    found = providers_service.search(session, actor, providers, name, query, number_type)
    return [
        AvailableNumber(
            phone_number=c.e164,
            country_code=c.country_code,
            number_type=parse_e164(c.e164, "phone_number").number_type,
            state=c.region,
            locality=c.locality,
            monthly_cost_cents=c.monthly_cost_cents or providers.monthly_cost_cents(name),
            upfront_cost_cents=0,
            currency="USD",
        )
        for c in found
    ]


@router.post("/numbers/purchase", status_code=201)
def purchase_number(
    body: PurchaseBody, actor: CurrentActor, session: DbSession, providers: AppProviders
) -> CallingBoxNumber:
    """Buy one number from the workspace's provider; it joins the inventory unattached."""
    name = providers.default_name(session, actor.workspace_id)
    (bought,) = providers_service.purchase(session, actor, providers, name, [body.phone_number])
    return CallingBoxNumber.of(bought)
