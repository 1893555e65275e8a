"""Provider routes under /v1/numbers; included before the numbers router's ``/{number}``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from callplane.core.envelope import Envelope, ListEnvelope
from callplane.core.http import CurrentActor, DbSession, clamp_limit, ok, paged
from callplane.idempotency.http import IDEMPOTENCY_KEY, IdempotentRoute
from callplane.numbers.schemas import NumberOut
from callplane.providers import releases, service
from callplane.providers.base import SearchQuery
from callplane.providers.registry import Providers
from callplane.providers.schemas import (
    CandidateOut,
    ProviderImportOut,
    ProviderImportRequest,
    ProviderName,
    PurchaseRequest,
    ReleaseOut,
)

router = APIRouter(prefix="/v1/numbers", tags=["providers"], route_class=IdempotentRoute)


def _providers(request: Request) -> Providers:
    return request.app.state.providers  # type: ignore[no-any-return]


AppProviders = Annotated[Providers, Depends(_providers)]


@router.get("/available")
def available_numbers(
    actor: CurrentActor,
    session: DbSession,
    providers: AppProviders,
    provider: ProviderName = "sandbox",
    country: Annotated[str, Query(min_length=2, max_length=2)] = "US",
    area_code: Annotated[str | None, Query(max_length=5)] = None,
    contains: Annotated[str | None, Query(max_length=15)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Envelope[list[CandidateOut]]:
    """Numbers the provider offers for sale."""
    query = SearchQuery(country.upper(), area_code, contains, limit)
    found = service.search(session, actor, providers, provider, query)
    return ok([CandidateOut.of(c) for c in found], actor)


@router.post("/purchase", status_code=201, dependencies=[IDEMPOTENCY_KEY])
def purchase_numbers(
    body: PurchaseRequest, actor: CurrentActor, session: DbSession, providers: AppProviders
) -> Envelope[list[NumberOut]]:
    """Buy one or several numbers, optionally giving them to an agent; all or nothing."""
    bought = service.purchase(
        session, actor, providers, body.provider, body.phone_numbers, body.agent_id
    )
    return ok([NumberOut.of(v) for v in bought], actor)


@router.post("/import", dependencies=[IDEMPOTENCY_KEY])
def import_from_provider(
    body: ProviderImportRequest, actor: CurrentActor, session: DbSession, providers: AppProviders
) -> Envelope[ProviderImportOut]:
    """Add the numbers the provider account already holds to the inventory."""
    result = service.import_owned(
        session, actor, providers, body.provider, configure_voice=body.configure_voice
    )
    return ok(ProviderImportOut.of(result), actor)


@router.get("/releases")
def list_releases(
    actor: CurrentActor,
    session: DbSession,
    status: Literal["pending", "released", "failed"] | None = None,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> ListEnvelope[ReleaseOut]:
    """Releases of deleted purchased numbers at their providers, newest first."""
    size = clamp_limit(limit)
    page = releases.list_releases(session, actor, status=status, cursor=cursor, limit=size)
    return paged([ReleaseOut.of(j) for j in page.items], page.next_cursor, size, actor)


@router.post("/releases/{release_id}/retry", dependencies=[IDEMPOTENCY_KEY])
def retry_release(release_id: str, actor: CurrentActor, session: DbSession) -> Envelope[ReleaseOut]:
    """Queue a failed release again (after fixing the provider credentials, say)."""
    return ok(ReleaseOut.of(releases.retry_release(session, actor, release_id)), actor)
