"""Every event type the audit log records, with what it means.

Webhook endpoints subscribe by these names, so the list is part of the API: a subscription to a
name not listed here is refused. ``tests/test_event_catalog.py`` reads every ``events.record``
call in the source and fails if one records a type missing here, so the two cannot drift.
"""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    "workspace.created": "A workspace was created, with its first API key.",
    "workspace.updated": "A workspace's settings changed (name, telephony, default stream URL).",
    "api_key.created": "An API key was issued.",
    "api_key.revoked": "An API key was revoked; requests with it are refused from now on.",
    "agent.created": "An agent was created.",
    "agent.updated": "An agent's fields or primary number changed.",
    "agent.archived": "An agent was archived and let go of every number it held.",
    "number.imported": "A number was added to the inventory by hand.",
    "number.batch_imported": "Numbers were added to the inventory in one batch.",
    "number.purchased": "Numbers were bought from a provider and added to the inventory.",
    "number.purchase_recovered": "A purchase interrupted by a crash was found and completed.",
    "number.provider_imported": "Numbers held at a provider were imported into the inventory.",
    "number.updated": "A number's fields changed (name, fallback, limits).",
    "number.deleted": "A number was removed from the inventory.",
    "number.unavailable": "A number was refused because another workspace holds it.",
    "number.displaced": "An unverified number was removed because its owner proved ownership.",
    "number.verified": "A number's ownership was verified (by its provider or the operator).",
    "number.assigned": "A number was assigned to an inbound agent.",
    "number.unassigned": "A number's inbound agent was removed.",
    "number.attached": "Numbers were attached to an outbound agent as caller IDs.",
    "number.detached": "A number was detached from an outbound agent.",
    "number.release_scheduled": "A deleted purchased number was queued for release.",
    "number.release_retried": "A failed release was queued again.",
    "number.released": "A number was released at its provider.",
    "number.release_failed": "Releasing a number at its provider failed for good.",
    "number.health_changed": (
        "A number's caller-ID health changed (healthy, watch, benched, paused, warming), and why."
    ),
    "workspace.caller_id_policy_updated": "A workspace's caller-ID health policy changed.",
    "import.started": "A CSV import was started from the dashboard.",
    "import.finished": "A CSV import from the dashboard finished, with its counts.",
    "webhook_endpoint.created": "A webhook endpoint was created.",
    "webhook_endpoint.updated": (
        "A webhook endpoint's URL, event types, state or description changed."
    ),
    "webhook_endpoint.deleted": "A webhook endpoint was deleted with its delivery log.",
    "webhook_endpoint.secret_rotated": "A webhook endpoint's signing secret was replaced.",
    "webhook_endpoint.disabled": "A webhook endpoint was disabled after failing for too long.",
    "webhook_endpoint.redelivery_requested": "Deliveries to an endpoint were queued again.",
}

ALL = "*"  # a subscription to every type, present and future


def unknown(types: list[str]) -> list[str]:
    """The names in ``types`` that are neither a catalogued type nor ``*``, in order."""
    return [t for t in types if t != ALL and t not in EVENT_TYPES]
