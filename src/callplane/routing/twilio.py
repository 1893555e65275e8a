"""Twilio's voice webhook: check the signature, answer TwiML built with the ``twilio`` package."""

from __future__ import annotations

from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Connect, Dial, VoiceResponse

from callplane.core import ids
from callplane.routing.service import Resolution


def signature_is_valid(
    auth_token: str, url: str, params: dict[str, str], signature: str | None
) -> bool:
    return bool(signature) and RequestValidator(auth_token).validate(url, params, signature)


def twiml(resolution: Resolution | None, params: dict[str, str]) -> str:
    """Stream to the agent, forward to the fallback, or reject; an unknown number is rejected."""
    response = VoiceResponse()
    if resolution is None or resolution.action == "reject":
        response.reject(reason="rejected")
    elif resolution.action == "forward":
        destination = resolution.destination or ""
        dial = Dial()
        if destination.startswith(("sip:", "sips:")):
            dial.sip(destination)
        else:
            dial.number(destination)
        response.append(dial)
    else:
        agent = resolution.agent
        assert agent is not None and resolution.stream_url is not None
        connect = Connect()
        stream = connect.stream(url=resolution.stream_url)
        for name, value in (
            ("agent_id", ids.render("agent", agent.id)),
            ("number_id", ids.render("number", resolution.route.number_id)),
            ("call_sid", params.get("CallSid", "")),
            ("from", params.get("From", "")),
            ("to", params.get("To", "")),
        ):
            stream.parameter(name=name, value=value)
        response.append(connect)
    return str(response)
