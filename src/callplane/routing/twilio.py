"""Twilio's webhooks: check the signature, answer TwiML built with the ``twilio`` package, and
read a status callback as a call outcome."""

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


_FINAL_STATUSES = {
    "busy": "busy",
    "no-answer": "no_answer",
    "failed": "failed",
    "canceled": "failed",  # the dialer hung up before an answer: says nothing of the number
}


def outcome_of(params: dict[str, str]) -> tuple[str, int | None] | None:
    """The outcome of a finished call from Twilio's status callback; None while it runs.

    ``completed`` is answered, or voicemail when answering-machine detection (``AnsweredBy``)
    heard a machine or a fax; a busy or failed call that the callee's side declined with SIP
    603 is ``rejected``.
    """
    status = params.get("CallStatus", "")
    if status == "completed":
        answered_by = params.get("AnsweredBy", "")
        if answered_by.startswith("machine") or answered_by == "fax":
            return "voicemail", _seconds(params.get("CallDuration"))
        return "answered", _seconds(params.get("CallDuration"))
    if status in ("busy", "failed") and params.get("SipResponseCode") == "603":
        return "rejected", None
    outcome = _FINAL_STATUSES.get(status)
    return (outcome, None) if outcome else None


def _seconds(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
