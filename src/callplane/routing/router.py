"""Routing endpoints: hot, cached resolution for the media plane, and caller-ID selection."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.background import BackgroundTask
from starlette.routing import Route

from callplane.core import ids
from callplane.core.auth_guard import client_address
from callplane.core.envelope import Envelope, timestamp
from callplane.core.errors import Forbidden, InvalidInput, not_found
from callplane.core.http import DbSession, RoutingActor, bearer_token, ok
from callplane.core.phone import parse_e164
from callplane.core.schemas import Input
from callplane.numbers.schemas import NumberOut
from callplane.routing import service
from callplane.routing.runtime import RoutingRuntime
from callplane.routing.service import InboundRoute, Resolution
from callplane.routing.twilio import signature_is_valid, twiml
from callplane.settings import Settings
from callplane.workspaces.key_usage import KeyUsage

router = APIRouter(tags=["routing"])


class OutboundRequest(Input):
    agent_id: str
    to: str


class SelectionOut(BaseModel):
    number: NumberOut
    strategy: str
    reason: str
    calls_last_hour: int
    calls_last_day: int


def _runtime(request: Request) -> RoutingRuntime:
    runtime: RoutingRuntime = request.app.state.routing
    return runtime


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
        "destination": resolution.destination,
    }


@lru_cache(maxsize=65_536)
def _resolution_json(route: InboundRoute, caller_region: str | None) -> str:
    """The ``data`` of a resolution, serialised once per route and caller country."""
    return json.dumps(resolution_body(service.decide(route, caller_region)), separators=(",", ":"))


async def resolve_inbound(request: Request) -> Response:
    """Which agent answers a call to ``to``: its stream, or the number's fallback, and why.

    The media plane asks this on every call, so it is the one hand-tuned endpoint: a plain
    Starlette route matched first, cache hits that stay on the event loop, and an answer whose
    ``data`` is serialised once per route and caller country.
    """
    runtime = _runtime(request)
    runtime.sync()
    request_id: str = request.state.request_id
    with request.app.state.auth_guard.watch(client_address(request)):
        actor = await runtime.actor_for(bearer_token(request), request_id)
    request.app.state.rate_limiter.check(actor.key_id)
    query = request.query_params
    to = query.get("to")
    if to is None:
        raise InvalidInput("invalid_request", "to: Field required", {"field": "to"})
    route = await runtime.inbound_route(actor.workspace_id, parse_e164(to, "to").e164)
    if route is None:
        raise not_found("number", to)
    data = _resolution_json(route, service.caller_country(query.get("from")))
    body = f'{{"data":{data},"meta":{{"request_id":"{request_id}","ts":"{timestamp()}"}}}}'
    usage: KeyUsage = request.app.state.key_usage
    key_id = actor.key_id
    later = BackgroundTask(usage.record, key_id) if key_id and usage.due(key_id) else None
    return Response(body, media_type="application/json", background=later)


HOT_PATHS = ("/v1/routing/inbound",)
HOT_ROUTES = [Route(HOT_PATHS[0], resolve_inbound, methods=["GET"])]
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
}


@router.post("/v1/routing/outbound")
def select_outbound(
    body: OutboundRequest, actor: RoutingActor, session: DbSession
) -> Envelope[SelectionOut]:
    """Which number an agent's call to ``to`` goes out from, by the agent's strategy and caps."""
    selection = service.select_caller_id(session, actor, body.agent_id, body.to)
    return ok(
        SelectionOut(
            number=NumberOut.of(selection.number),
            strategy=selection.strategy,
            reason=selection.reason,
            calls_last_hour=selection.calls_last_hour,
            calls_last_day=selection.calls_last_day,
        ),
        actor,
    )


@router.post("/v1/telephony/twilio/{workspace_id}/voice", tags=["telephony"])
async def twilio_voice(workspace_id: str, request: Request) -> Response:
    """Twilio's voice webhook: answers TwiML that streams the call to its agent."""
    runtime = _runtime(request)
    runtime.sync()
    workspace = ids.parse("workspace", workspace_id)
    settings = await runtime.telephony_settings(workspace) if workspace else None
    if workspace is None or settings is None:
        raise not_found("workspace", workspace_id)
    params = dict(
        parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    )
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
    resolution = None
    try:
        e164 = parse_e164(params.get("To", ""), "To").e164
    except Exception:  # noqa: BLE001 - a malformed To is answered like an unknown number
        e164 = None
    route = await runtime.inbound_route(workspace, e164) if e164 else None
    if route is not None:
        resolution = service.decide(route, service.caller_country(params.get("From")))
    return Response(twiml(resolution, params), media_type="application/xml")


def _public_url(request: Request) -> str:
    """The URL Twilio signed: behind a proxy, the configured public base URL."""
    settings: Settings = request.app.state.settings
    if settings.public_base_url:
        url = settings.public_base_url.rstrip("/") + request.url.path
        return url + (f"?{request.url.query}" if request.url.query else "")
    return str(request.url)
