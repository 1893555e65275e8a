"""Routing endpoints: hot, cached resolution for the media plane, and caller-ID selection."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from callplane.core import ids
from callplane.core.auth_guard import client_address
from callplane.core.context import Actor
from callplane.core.db import Database
from callplane.core.envelope import Meta, meta, timestamp
from callplane.core.errors import Conflict, Forbidden, InvalidInput, not_found
from callplane.core.http import bearer_token
from callplane.core.phone import parse_e164
from callplane.core.schemas import Input
from callplane.numbers.schemas import NumberOut
from callplane.reputation import service as reputation
from callplane.routing import service
from callplane.routing.call_legs import CallLegs
from callplane.routing.lookups import RouteLookups
from callplane.routing.selection import CallerIdSelector, outbound_agent
from callplane.routing.service import InboundRoute, Resolution
from callplane.routing.twilio import outcome_of, signature_is_valid, twiml
from callplane.settings import Settings
from callplane.workspaces.key_usage import KeyUsage
from callplane.workspaces.service import require_token

router = APIRouter(tags=["routing"])
_CANONICAL_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
log = logging.getLogger("callplane.routing")


class OutboundRequest(Input):
    agent_id: str
    to: str
    dry_run: bool = False


class SelectionOut(BaseModel):
    selection_id: str
    number: NumberOut
    strategy: str
    reason: str
    health_state: str
    calls_last_hour: int
    calls_last_day: int
    # Give it to Twilio as the call's StatusCallback: the outcome then reports itself.
    status_callback_url: str


class SelectionResponse(BaseModel):
    data: SelectionOut
    meta: Meta


def _lookups(request: Request) -> RouteLookups:
    lookups: RouteLookups = request.app.state.lookups
    return lookups


def resolution_body(resolution: Resolution) -> dict[str, Any]:
    route, agent = resolution.route, resolution.agent
    return {
        "action": resolution.action,
        "reason": resolution.reason,
        "number": {
            "id": ids.render("number", route.number_id),
            "e164": route.e164,
            "status": route.status,
        },
        "agent": None
        if agent is None
        else {
            "id": ids.render("agent", agent.id),
            "name": agent.name,
            "type": agent.type,
            "persona": agent.persona,
            "instructions": agent.instructions,
            "voice": agent.voice,
            "language": agent.language,
            "webhook_url": agent.webhook_url,
            "voicemail_action": agent.voicemail_action,
        },
        "stream_url": resolution.stream_url,
        "stream_url_configured": resolution.stream_url is not None,
        "destination": resolution.destination,
    }


class _ResolutionJson:
    """The ``data`` of a resolution, serialised once per route and caller country.

    Keyed by the route's value, read from the database on every call: a change makes a new
    route, so nothing is ever stale and nothing has to be retired; routes no longer asked for
    age out. Bounded by bytes, not entries: an agent's instructions may be long, and a route and
    its text each carry them (``limit``: about twice the text's length per entry, measured
    1,475 bytes for a route of 800 characters).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._entries: OrderedDict[tuple[InboundRoute, str | None], str] = OrderedDict()

    def __call__(self, route: InboundRoute, caller_region: str | None) -> str:
        key = (route, caller_region)
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            return found
        data = json.dumps(
            resolution_body(service.decide(route, caller_region)), separators=(",", ":")
        )
        self._entries[key] = data
        self.size += 2 * len(data)
        while self.size > self.limit:
            _, dropped = self._entries.popitem(last=False)
            self.size -= 2 * len(dropped)
        return data


_resolution_json = _ResolutionJson(limit=32 << 20)


async def resolve_inbound(request: Request) -> Response:
    """Which agent answers a call to ``to``: the agent and its stream, or the number's fallback.

    The media plane asks this on every call, so it is the one hand-tuned endpoint: a plain
    Starlette route matched first, the key and the route read in one prepared statement
    (``lookups.py``: always current on every server), and an answer whose ``data`` is
    serialised once per route and caller country.
    """
    request_id: str = request.state.request_id
    query = request.query_params
    to = query.get("to")
    # Every number in the inventory is stored canonical, so a canonical ``to`` is looked up as
    # given; phonenumbers is asked only when that finds nothing (a 422, a 404, or another
    # spelling of a stored number), and a bad key is still told before a bad number.
    given = to if to is not None and _CANONICAL_E164.fullmatch(to) else None
    lookups = _lookups(request)
    with request.app.state.auth_guard.watch(client_address(request)):
        token = require_token(bearer_token(request))
        actor, route = await lookups.resolve(token, given, request_id)
    await request.app.state.rate_limiter.check(actor.key_id)
    if route is None:
        if to is None:
            raise InvalidInput(
                "invalid_request",
                "to: the number called is required, e.g. ?to=%2B16286666348",
                {"errors": [{"field": "to", "message": "Field required", "type": "missing"}]},
            )
        e164 = parse_e164(to, "to").e164
        if e164 != given:
            actor, route = await lookups.resolve(token, e164, request_id)
        if route is None:
            raise not_found("number", to)
    data = _resolution_json(route, service.caller_country(query.get("from")))
    body = f'{{"data":{data},"meta":{{"request_id":"{request_id}","ts":"{timestamp()}"}}}}'
    return Response(body, media_type="application/json", background=_key_used(request, actor))


def _key_used(request: Request, actor: Actor) -> BackgroundTask | None:
    """Record the key's use after the response, at most once a minute per key (KeyUsage)."""
    usage: KeyUsage = request.app.state.key_usage
    key_id = actor.key_id
    return BackgroundTask(usage.record, key_id) if key_id and usage.due(key_id) else None


async def select_outbound(request: Request) -> Response:
    """Which number an agent's call to ``to`` goes out from, by the agent's strategy and caps.

    A dialer asks this before every call: a plain route like the resolution, with the key and
    the agent read in one statement and the selection in one more on PostgreSQL (a short
    transaction when that cannot decide, and on SQLite: ``selection.py``). ``"dry_run": true``
    decides the same and counts nothing.
    """
    request_id: str = request.state.request_id
    try:
        body = OutboundRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from None
    with request.app.state.auth_guard.watch(client_address(request)):
        token = require_token(bearer_token(request))
        actor, agent = await _lookups(request).agent(
            token, ids.parse("agent", body.agent_id), request_id
        )
    await request.app.state.rate_limiter.check(actor.key_id)
    if agent is None:
        raise not_found("agent", body.agent_id)
    service.check_caller(agent, body.agent_id)
    destination = service.check_destination(agent, body.to)
    selector: CallerIdSelector = request.app.state.caller_ids
    selection = await selector.select(
        outbound_agent(actor.workspace_id, agent),
        destination.e164,
        destination.country_code,
        dry_run=body.dry_run,
    )
    selection_ref = ids.render("selection", selection.id)
    status_path = (
        f"/v1/telephony/twilio/{ids.render('workspace', actor.workspace_id)}/status"
        f"?selection_id={selection_ref}"
    )
    data = SelectionOut(
        selection_id=selection_ref,
        number=NumberOut.of(selection.number),
        strategy=selection.strategy,
        reason=selection.reason,
        health_state=selection.health_state,
        calls_last_hour=selection.calls_last_hour,
        calls_last_day=selection.calls_last_day,
        status_callback_url=_public_base(request) + status_path,
    )
    return Response(
        SelectionResponse(data=data, meta=meta(request_id)).model_dump_json(),
        media_type="application/json",
        background=_key_used(request, actor),
    )


HOT_PATHS = ("/v1/routing/inbound", "/v1/routing/outbound")
HOT_ROUTES = [
    Route(HOT_PATHS[0], resolve_inbound, methods=["GET"]),
    Route(HOT_PATHS[1], select_outbound, methods=["POST"]),
]
OPENAPI_MODELS: tuple[type[BaseModel], ...] = (OutboundRequest, SelectionResponse)
OPENAPI_PATHS: dict[str, Any] = {
    "/v1/routing/inbound": {
        "get": {
            "tags": ["routing"],
            "summary": "Resolve Inbound",
            "description": "Which agent answers a call to `to`: its stream, or the number's "
            "fallback (`action` connect, forward or reject), and the `reason`.",
            "operationId": "resolve_inbound",
            "parameters": [
                {
                    "name": "to",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "The dialed number, E.164",
                },
                {
                    "name": "from",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "The caller, E.164",
                },
            ],
            "security": [{"bearer": []}],
            "responses": {
                "200": {
                    "description": "The resolution: `{data: {action, reason, number, agent, "
                    "stream_url, destination}, meta}`"
                },
                "401": {"description": "Missing, invalid, revoked or expired API key"},
                "404": {"description": "`number_not_found`"},
                "429": {"description": "Too many requests, or failed authentications"},
                "422": {"description": "`to` missing or not a possible number"},
            },
        }
    },
    "/v1/routing/outbound": {
        "post": {
            "tags": ["routing"],
            "summary": "Select Caller Id",
            "description": "Which number an agent's call to `to` goes out from, by the agent's "
            "strategy, the numbers' caps and health (benched and paused numbers are skipped, "
            "warming ones ramp their day cap, a destination called recently keeps its number: "
            "`reason: sticky`). `dry_run: true` decides the same and counts nothing. Report how "
            "the call went at `/v1/routing/outbound/{selection_id}/outcome`, or let Twilio do it "
            "through `status_callback_url`.",
            "operationId": "select_outbound",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/OutboundRequest"}}
                },
            },
            "security": [{"bearer": []}],
            "responses": {
                "200": {
                    "description": "The chosen number, why, and its use in the last hour and day",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/SelectionResponse"}
                        }
                    },
                },
                "400": {"description": "`malformed_json`"},
                "401": {"description": "Missing, invalid or revoked API key"},
                "404": {"description": "`agent_not_found`"},
                "409": {
                    "description": "`no_caller_id_available` (`details.reason`: `no_numbers`, "
                    "`all_numbers_at_cap` with `retry_after`, `all_numbers_busy`, "
                    "`all_numbers_benched`, `all_numbers_paused`), `agent_type_mismatch`, "
                    "`agent_archived`, `destination_country_not_allowed`"
                },
                "422": {"description": "`invalid_request`, `invalid_phone_number`"},
            },
        }
    },
}


@router.post("/v1/telephony/twilio/{workspace_id}/voice", tags=["telephony"])
async def twilio_voice(workspace_id: str, request: Request) -> Response:
    """Twilio's voice webhook: answers TwiML that streams the call to its agent."""
    params = await _form(request)
    try:
        e164: str | None = parse_e164(params.get("To", ""), "To").e164
    except InvalidInput:
        e164 = None  # a malformed To is answered like an unknown number
    workspace, route = await _signed_twilio_request(request, workspace_id, params, e164)
    await _refuse_replay(request, workspace, params.get("CallSid", ""))
    resolution = None
    if route is not None:
        resolution = service.decide(route, service.caller_country(params.get("From")))
        if resolution.action == "connect" and resolution.stream_url is None:
            log.warning(
                "twilio call to %s: its agent has no stream URL (agent, workspace or "
                "CALLPLANE_DEFAULT_STREAM_URL); answering with the number's fallback",
                route.e164,
            )
            resolution = service.fallback(route, "stream_url_not_configured")
    return Response(twiml(resolution, params), media_type="application/xml")


@router.post("/v1/telephony/twilio/{workspace_id}/status", tags=["telephony"], status_code=204)
async def twilio_status(workspace_id: str, selection_id: str, request: Request) -> Response:
    """Twilio's status callback for an outbound call: its outcome for the selection.

    Set the selection's ``status_callback_url`` as the call's ``StatusCallback``. Signed like
    the voice webhook; a callback for a call still running changes nothing. Replays are
    harmless: an outcome is recorded once per selection.
    """
    params = await _form(request)
    workspace, _ = await _signed_twilio_request(request, workspace_id, params, None)
    found = outcome_of(params)
    if found is not None:
        actor = Actor(workspace, None, request.state.request_id)
        database: Database = request.app.state.database
        await run_in_threadpool(_report, database, actor, selection_id, *found)
    return Response(status_code=204)


def _report(
    database: Database, actor: Actor, selection_id: str, outcome: str, duration: int | None
) -> None:
    with database.transaction() as session:
        reputation.report_outcome(session, actor, selection_id, outcome, duration)


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", "replace")
    return dict(parse_qsl(body, keep_blank_values=True))


async def _signed_twilio_request(
    request: Request, workspace_id: str, params: dict[str, str], e164: str | None
) -> tuple[uuid.UUID, InboundRoute | None]:
    """The workspace and the dialed number's route, once the signature proves Twilio sent it."""
    workspace = ids.parse("workspace", workspace_id)
    found = await _lookups(request).twilio(workspace, e164) if workspace else None
    if workspace is None or found is None:
        raise not_found("workspace", workspace_id)
    settings, route = found
    if not settings.twilio_auth_token or not signature_is_valid(
        settings.twilio_auth_token,
        _public_url(request),
        params,
        request.headers.get("x-twilio-signature"),
    ):
        raise Forbidden(
            "invalid_twilio_signature",
            "X-Twilio-Signature does not match this request and the workspace's Twilio auth token",
        )
    return workspace, route


async def _refuse_replay(request: Request, workspace: uuid.UUID, call_sid: str) -> None:
    """A signed request is valid forever: answer each call leg (CallSid) once."""
    if not call_sid:
        raise InvalidInput("invalid_request", "CallSid: Field required", {"field": "CallSid"})
    call_legs: CallLegs = request.app.state.call_legs
    if not await call_legs.first_request(workspace, call_sid[:64]):
        raise Conflict(
            "twilio_request_replayed",
            "this call leg (CallSid) was already answered; a replayed request is refused",
            {"call_sid": call_sid[:64]},
        )


def _public_url(request: Request) -> str:
    """The URL Twilio signed: the configured public base URL (required in production).

    Only in development, without one, the URL the request arrived at, Host header included.
    """
    settings: Settings = request.app.state.settings
    if settings.public_base_url:
        url = settings.public_base_url.rstrip("/") + request.url.path
        return url + (f"?{request.url.query}" if request.url.query else "")
    return str(request.url)


def _public_base(request: Request) -> str:
    """Where Twilio reaches this server: the public base URL, else (development) this request's."""
    settings: Settings = request.app.state.settings
    return (settings.public_base_url or str(request.base_url)).rstrip("/")
