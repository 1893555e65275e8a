"""Refusals in words a person understands: the domain's error codes turned into sentences.

The rules live in the services; this only words what they decided, with names instead of
ids where the page knows them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from callplane.core.errors import DomainError
from callplane.dashboard.formatting import international

LABELS = {
    "name": "Name",
    "type": "Type",
    "e164": "Phone number",
    "to": "Number called",
    "from": "Caller",
    "friendly_name": "Label",
    "status": "Status",
    "monthly_cost_cents": "Monthly cost",
    "fallback_action": "When no agent answers",
    "fallback_destination": "Forward to",
    "allowed_inbound_countries": "Allowed caller countries",
    "allowed_outbound_countries": "Countries this agent may call",
    "max_calls_per_hour": "Calls per hour",
    "max_calls_per_day": "Calls per day",
    "stream_url": "Stream URL",
    "default_stream_url": "Default stream URL",
    "webhook_url": "Webhook URL",
    "language": "Language",
    "voice": "Voice",
    "persona": "Persona",
    "instructions": "Instructions",
    "voicemail_action": "Voicemail",
    "outbound_strategy": "Caller-ID strategy",
    "twilio_account_sid": "Twilio account SID",
    "twilio_auth_token": "Twilio auth token",
}

# What a value should look like, for fields whose rule is a pattern.
FORMATS = {
    "stream_url": "must start with wss:// (or ws://) and contain no spaces",
    "default_stream_url": "must start with wss:// (or ws://)",
    "language": "must be a language tag such as en or en-US",
    "twilio_account_sid": "must be AC followed by 32 hexadecimal characters",
    "twilio_auth_token": "must be printable characters without spaces",
    "allowed_inbound_countries": "must be two-letter country codes such as US, CA",
    "allowed_outbound_countries": "must be two-letter country codes such as US, CA",
}

Names = Callable[[str], str]


def explain(exc: DomainError, agent_name: Names = str, number_name: Names = str) -> str:
    """One sentence for a refused request; ``*_name`` turn rendered ids into names."""
    d: dict[str, Any] = exc.details if isinstance(exc.details, dict) else {}
    agent = agent_name(str(d.get("agent_id", ""))) if d.get("agent_id") else "that agent"
    number = number_name(str(d.get("number_id", ""))) if d.get("number_id") else "this number"
    code = exc.code
    if code == "number_already_assigned":
        return f"{number} is answered by {agent}. Replace?"
    if code == "agent_type_mismatch":
        kind, direction = d.get("agent_type", "other"), d.get("assignment_type", "that way")
        return f"{agent} is an {kind} agent: it cannot take a number {direction}."
    if code == "agent_archived":
        return f"{agent} is archived: it takes no new numbers or changes."
    if code == "number_not_attached":
        return f"{number} is not attached to {agent}."
    if code == "number_not_assigned":
        return f"{number} has no {d.get('assignment_type', '')} agent to remove."
    if code == "number_already_exists":
        found = d.get("e164") or []
        listed = ", ".join(international(e) for e in found) if found else "This number"
        return f"{listed} is already in an inventory (this workspace's or another's)."
    if code == "invalid_phone_number":
        return f"{d.get('value', 'That')!r} is not a phone number (write it as +1 628 666 6348)."
    if code == "fallback_destination_required":
        return "Forwarding needs a phone number or a SIP address to forward to."
    if code == "primary_number_not_attached":
        return "That number is not one of this agent's numbers, so it cannot be its primary."
    if code == "agent_has_numbers":
        return "An agent's type can change only while it holds no numbers: detach them first."
    if code.endswith("_not_found"):
        return exc.message.replace("No ", "There is no ", 1) + "."
    return exc.message[:1].upper() + exc.message[1:]


def explain_validation(errors: Sequence[Any]) -> str:
    """Pydantic's errors as "Label: what is wrong" sentences."""
    parts = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        name = loc[0] if loc else ""
        field = LABELS.get(name, name.replace("_", " ").capitalize()) if name else "A value"
        kind = str(error.get("type", ""))
        if kind == "string_pattern_mismatch" or (kind == "value_error" and name in FORMATS):
            message = FORMATS.get(name, "is not in the expected format")
        elif kind in ("int_type", "int_parsing"):
            message = "must be a whole number"
        else:
            message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        parts.append(f"{field}: {message[:1].lower() + message[1:]}.")
    return " ".join(parts) or "Some values are not valid."
