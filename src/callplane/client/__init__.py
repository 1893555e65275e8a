"""The Python client of callplane's native API.

    from callplane.client import Client

    with Client() as client:  # CALLPLANE_URL and CALLPLANE_API_KEY from the environment
        for number in client.numbers.list(country="US"):
            print(number.e164, number.inbound_agent_id)

``AsyncClient`` is the same, awaited. Every error is a ``CallplaneError`` (see
``callplane.client._exceptions`` for the tree).
"""

from callplane.client._base_client import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, DEFAULT_URL
from callplane.client._bulk_import import ImportReport, RejectedRow
from callplane.client._client import AsyncClient, Client
from callplane.client._exceptions import (
    APIError,
    AuthenticationError,
    CallplaneError,
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RateLimited,
    RequestTimeout,
    ServerError,
    TransportError,
    ValidationError,
)
from callplane.client._pagination import AsyncPager, Page, Pager
from callplane.client._params import (
    AgentChanges,
    AgentFields,
    CallerIdPolicyChanges,
    NewNumber,
    NumberChanges,
    WebhookEndpointChanges,
    WorkspaceChanges,
)
from callplane.client._types import (
    Agent,
    AttachResult,
    AvailableNumber,
    CallerId,
    CallerIdCaps,
    CallerIdPolicy,
    CallerIdSelection,
    CallOutcome,
    Event,
    EventType,
    InboundResolution,
    IssuedWebhookEndpoint,
    Number,
    NumberHealth,
    NumbersSummary,
    OutcomeFigures,
    ProviderImport,
    Release,
    ResolvedAgent,
    ResolvedNumber,
    WebhookDelivery,
    WebhookEndpoint,
    Workspace,
)

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "DEFAULT_URL",
    "APIError",
    "Agent",
    "AgentChanges",
    "AgentFields",
    "AsyncClient",
    "AsyncPager",
    "AttachResult",
    "AuthenticationError",
    "AvailableNumber",
    "CallOutcome",
    "CallerId",
    "CallerIdCaps",
    "CallerIdPolicy",
    "CallerIdPolicyChanges",
    "CallerIdSelection",
    "CallplaneError",
    "Client",
    "Conflict",
    "Event",
    "EventType",
    "ImportReport",
    "InboundResolution",
    "IssuedWebhookEndpoint",
    "NewNumber",
    "NotFound",
    "Number",
    "NumberChanges",
    "NumberHealth",
    "NumbersSummary",
    "OutcomeFigures",
    "Page",
    "Pager",
    "PermissionDenied",
    "PreconditionFailed",
    "ProviderImport",
    "RateLimited",
    "RejectedRow",
    "Release",
    "RequestTimeout",
    "ResolvedAgent",
    "ResolvedNumber",
    "ServerError",
    "TransportError",
    "ValidationError",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEndpointChanges",
    "Workspace",
    "WorkspaceChanges",
]
