"""Synthflow v2 phone numbers: list, inspect, update, import ("custom numbers") and delete.

Synthflow has no API to buy a number (its dashboard does that); numbers arrive by import. The
SIP trunk fields are kept on the number (``sip_settings``) except the trunk password, which
callplane has no use for and does not store.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from callplane.compat.synthflow.errors import check_workspace, slug
from callplane.compat.synthflow.model_ids import model_id
from callplane.core import ids
from callplane.core.http import CurrentActor, DbSession
from callplane.core.schemas import Input, Name, iso
from callplane.numbers import service
from callplane.numbers.service import NumberFilters, NumberInput, NumberView

router = APIRouter()

ProviderName = Literal[
    "twilio", "telnyx", "vonage", "ring_central", "ringcx", "custom", "zoom", "five9"
]
# Providers whose import needs a SIP termination URI, as Synthflow documents.
NEEDS_TERMINATION = ("custom", "twilio", "telnyx", "vonage", "ring_central")
# What the number keeps of the SIP fields (``sip_term_uri`` besides; never ``trunk_pwd``).
SIP_KEYS = (
    "provider_name",
    "trunk_username",
    "sip_outbound_proxy",
    "sip_auth_username",
    "uac_enabled",
    "uac_register_expires",
)
SipText = Annotated[str, Field(max_length=255)]


class StatusOk(BaseModel):
    status: str = "ok"


class SipFields(Input):
    """The SIP trunk fields shared by import and update; ``trunk_pwd`` is accepted, not kept."""

    # Synthflow documents more provider-specific fields than these; a client's extra ones are
    # ignored rather than refused, so its requests keep working unchanged.
    model_config = ConfigDict(extra="ignore", strict=True)

    friendly_name: Name | None = None
    provider_name: ProviderName | None = None
    trunk_username: SipText | None = None
    trunk_pwd: SipText | None = None
    sip_outbound_proxy: SipText | None = None
    sip_auth_username: SipText | None = None
    uac_enabled: bool | None = None
    uac_register_expires: int | None = Field(default=None, ge=60, le=3600)
    sip_term_uri: SipText | None = None
    termination_uri: SipText | None = None  # the import's name for ``sip_term_uri``

    def sip_settings(self) -> dict[str, Any]:
        """The fields sent, as stored on the number (``null`` clears one)."""
        sent = self.model_fields_set
        kept: dict[str, Any] = {k: getattr(self, k) for k in SIP_KEYS if k in sent}
        if sent & {"sip_term_uri", "termination_uri"}:
            kept["sip_term_uri"] = self.sip_term_uri or self.termination_uri
        return kept


class CustomNumber(SipFields):
    workspace_id: str
    phone_number: str

    @model_validator(mode="after")
    def _termination_when_needed(self) -> CustomNumber:
        provider = self.provider_name or "custom"
        if provider in NEEDS_TERMINATION and not (self.termination_uri or self.sip_term_uri):
            raise ValueError(f"termination_uri is required for provider_name '{provider}'")
        return self


class ListedNumber(BaseModel):
    number: str
    sid: str | None
    is_available: bool


class NumbersPagination(BaseModel):
    total_records: int
    limit: int
    offset: int


class NumbersPage(BaseModel):
    pagination: NumbersPagination
    phone_numbers: list[ListedNumber]


class NumbersList(BaseModel):
    status: str = "ok"
    response: NumbersPage


class Imported(BaseModel):
    key: str
    phone_number: str


class ImportedResponse(BaseModel):
    status: str = "ok"
    response: Imported


class NumberDetail(BaseModel):
    slug: str
    address_requirement: str
    phone_number: str
    friendly_name: str | None
    is_sms_capable: bool
    is_voice_capable: bool
    iso_country: str | None
    locality: str | None
    sip_auth_username: str | None
    sip_outbound_proxy: str | None
    sip_term_uri: str | None
    sid: str | None
    provider_name: str | None
    region: str | None
    is_available: bool
    agency_workspace_id: str | None
    workspace_id: str
    created_at: str
    updated_at: str | None
    assistants: list[str]
    uac_enabled: bool
    uac_register_expires: int | None

    @classmethod
    def of(cls, v: NumberView) -> NumberDetail:
        n = v.number
        sip = n.sip_settings or {}
        agents = ([v.inbound_agent_id] if v.inbound_agent_id else []) + v.outbound_agent_ids
        return cls(
            slug=n.e164[1:],
            address_requirement="none",
            phone_number=n.e164,
            friendly_name=n.friendly_name,
            is_sms_capable=False,
            is_voice_capable=True,
            iso_country=n.country_code,
            locality=None,
            sip_auth_username=sip.get("sip_auth_username"),
            sip_outbound_proxy=sip.get("sip_outbound_proxy"),
            sip_term_uri=sip.get("sip_term_uri"),
            sid=n.provider_ref,
            provider_name=sip.get("provider_name") or n.provider,
            region=None,
            is_available=v.inbound_agent_id is None,
            agency_workspace_id=None,
            workspace_id=ids.render("workspace", n.workspace_id),
            created_at=iso(n.created_at) or "",
            updated_at=iso(n.updated_at),
            assistants=[model_id(a) for a in dict.fromkeys(agents)],
            uac_enabled=bool(sip.get("uac_enabled", False)),
            uac_register_expires=sip.get("uac_register_expires"),
        )


@router.get("/numbers")
def list_phone_numbers(
    actor: CurrentActor,
    session: DbSession,
    workspace: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
    is_available: bool | None = None,
) -> NumbersList:
    """The workspace's numbers; ``is_available`` is whether no inbound agent holds one."""
    check_workspace(actor, workspace)
    held = None if is_available is None else not is_available
    page = service.list_numbers_by_offset(
        session, actor, NumberFilters(has_inbound_agent=held), offset=offset, limit=limit
    )
    listed = [
        ListedNumber(
            number=v.number.e164, sid=v.number.provider_ref, is_available=not v.inbound_agent_id
        )
        for v in page.items
    ]
    return NumbersList(
        response=NumbersPage(
            pagination=NumbersPagination(total_records=page.total, limit=limit, offset=offset),
            phone_numbers=listed,
        )
    )


@router.get("/numbers/{phone_number_slug}")
def get_phone_number(
    phone_number_slug: str, workspace: str, actor: CurrentActor, session: DbSession
) -> NumberDetail:
    """One number, bare (no envelope), with the model ids of every agent holding it."""
    check_workspace(actor, workspace)
    return NumberDetail.of(service.get_number_view(session, actor, slug(phone_number_slug)))


@router.patch("/numbers/{phone_number_slug}")
def update_phone_number(
    phone_number_slug: str, body: SipFields, actor: CurrentActor, session: DbSession
) -> StatusOk:
    """Rename the number or change its SIP trunk fields; agents are bound from the agent side."""
    ref = slug(phone_number_slug)
    changes: dict[str, Any] = {}
    if "friendly_name" in body.model_fields_set:
        changes["friendly_name"] = body.friendly_name
    if sip := body.sip_settings():
        changes["sip_settings"] = sip
    service.update_number(session, actor, ref, changes)
    return StatusOk()


@router.post("/custom-numbers")
def import_custom_number(
    body: CustomNumber, actor: CurrentActor, session: DbSession
) -> ImportedResponse:
    """Bring your own number; ``key`` is its id (a UUID, as Synthflow's keys are)."""
    check_workspace(actor, body.workspace_id, "workspace_id")
    created = service.import_number(
        session,
        actor,
        NumberInput(
            body.phone_number,
            friendly_name=body.friendly_name,
            provider=body.provider_name or "custom",
            sip_settings=body.sip_settings() or None,
        ),
    )
    return ImportedResponse(
        response=Imported(key=str(created.number.id), phone_number=created.number.e164)
    )


@router.delete("/numbers/{phone_number_slug}")
def delete_phone_number(
    phone_number_slug: str, actor: CurrentActor, session: DbSession
) -> StatusOk:
    """Delete the number: detached from every agent, removed from the workspace."""
    service.delete_number(session, actor, slug(phone_number_slug))
    return StatusOk()
