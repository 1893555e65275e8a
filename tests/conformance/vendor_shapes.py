"""The documented response shapes of the vendors' other endpoints, as JSON Schema.

Written from what each vendor documents (``shared/vendor-apis.md``): Synthflow's OpenAPI
fields, CallingBox's field reference, Truedy's envelope and list pages. Where a vendor shows no
shape (Truedy's number object), the schema holds what callplane promises instead, and the
README marks it [I].
"""

from __future__ import annotations

from typing import Any

import jsonschema


def check(schema: dict[str, Any], body: Any) -> Any:
    """Validate ``body`` and hand it back, so a test reads ``data = check(SCHEMA, r.json())``."""
    jsonschema.Draft202012Validator(schema).validate(body)
    return body


def _obj(required: dict[str, Any], **optional: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **optional},
    }


_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_OK = {"const": "ok"}

# CallingBox: its pages give a field reference rather than OpenAPI; this is that reference.
_UUID = {
    "type": "string",
    "format": "uuid",
    "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
}
_NULLABLE_UUID = {"anyOf": [_UUID, {"type": "null"}]}
_DATETIME = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"}
CALLINGBOX_NUMBER = {
    "type": "object",
    "required": [
        "id",
        "e164",
        "friendly_name",
        "country_code",
        "number_type",
        "status",
        "monthly_cost_cents",
        "purchased_at",
        "inbound_agent_id",
        "outbound_agent_ids",
    ],
    "properties": {
        "id": _UUID,
        "e164": {"type": "string", "pattern": r"^\+\d{2,15}$"},
        "friendly_name": {"type": ["string", "null"]},
        "country_code": {"type": ["string", "null"]},
        "number_type": {"type": "string"},
        "status": {"type": "string"},
        "monthly_cost_cents": {"type": "integer"},
        "purchased_at": {"anyOf": [_DATETIME, {"type": "null"}]},
        "inbound_agent_id": _NULLABLE_UUID,
        "outbound_agent_ids": {"type": "array", "items": _UUID},
    },
}
CALLINGBOX_AGENT = {
    "type": "object",
    "required": [
        "id",
        "org_id",
        "user_id",
        "name",
        "type",
        "persona",
        "instructions",
        "voice",
        "language",
        "returns",
        "tools",
        "webhook_url",
        "voicemail_action",
        "primary_number_id",
        "archived_at",
        "created_at",
        "updated_at",
        "numbers",
    ],
    "properties": {
        "id": _UUID,
        "org_id": _UUID,
        "user_id": {"type": "string"},
        "name": {"type": "string"},
        "type": {"enum": ["inbound", "outbound"]},
        "persona": {"type": ["string", "null"]},
        "instructions": {"type": ["string", "null"]},
        "voice": {"type": "string"},
        "language": {"type": ["string", "null"]},
        "returns": {"type": "object"},
        "tools": {"type": ["array", "null"], "items": {"type": "object"}},
        "webhook_url": {"type": ["string", "null"]},
        "voicemail_action": {"enum": ["hangup", "leave_message"]},
        "primary_number_id": _NULLABLE_UUID,
        "archived_at": {"anyOf": [_DATETIME, {"type": "null"}]},
        "created_at": _DATETIME,
        "updated_at": _DATETIME,
        "numbers": {"type": "array", "items": CALLINGBOX_NUMBER},
    },
}
CALLINGBOX_AGENT_IN_LIST = {
    **CALLINGBOX_AGENT,
    "required": [f for f in CALLINGBOX_AGENT["required"] if f != "numbers"],
}
CALLINGBOX_AGENTS = _obj({"data": {"type": "array", "items": CALLINGBOX_AGENT_IN_LIST}})
CALLINGBOX_NUMBERS = {"type": "array", "items": CALLINGBOX_NUMBER}
CALLINGBOX_AVAILABLE = {
    "type": "array",
    "items": _obj(
        {
            "phone_number": {"type": "string", "pattern": r"^\+\d{2,15}$"},
            "country_code": _STR,
            "number_type": {"enum": ["local", "toll_free"]},
            "state": _NSTR,
            "locality": _NSTR,
            "monthly_cost_cents": _INT,
            "upfront_cost_cents": _INT,
            "currency": _STR,
        }
    ),
}
CALLINGBOX_ERROR = _obj(
    {"error": _obj({"code": _STR, "message": _STR}, details={"type": ["object", "null"]})}
)

# Synthflow v2.
SYNTHFLOW_ERROR = _obj(
    {"detail": _obj({"status": _STR, "description": _STR, "request_id": _STR, "category": _STR})}
)
SYNTHFLOW_STATUS_OK = {**_obj({"status": _OK}), "additionalProperties": False}
_SYNTHFLOW_PAGINATION = _obj({"total_records": _INT, "limit": _INT, "offset": _INT})
SYNTHFLOW_NUMBERS = _obj(
    {
        "status": _OK,
        "response": _obj(
            {
                "pagination": _SYNTHFLOW_PAGINATION,
                "phone_numbers": {
                    "type": "array",
                    "items": _obj({"number": _STR, "sid": _NSTR, "is_available": _BOOL}),
                },
            }
        ),
    }
)
SYNTHFLOW_NUMBER = _obj(
    {
        "slug": {"type": "string", "pattern": r"^\d+$"},
        "address_requirement": _STR,
        "phone_number": _STR,
        "friendly_name": _NSTR,
        "is_sms_capable": _BOOL,
        "is_voice_capable": _BOOL,
        "iso_country": _NSTR,
        "locality": _NSTR,
        "sip_auth_username": _NSTR,
        "sip_outbound_proxy": _NSTR,
        "sip_term_uri": _NSTR,
        "sid": _NSTR,
        "provider_name": _NSTR,
        "region": _NSTR,
        "is_available": _BOOL,
        "agency_workspace_id": _NSTR,
        "workspace_id": _STR,
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
        "assistants": {"type": "array", "items": _STR},
        "uac_enabled": _BOOL,
        "uac_register_expires": {"type": ["integer", "null"]},
    }
)
SYNTHFLOW_IMPORTED = _obj(
    {
        "status": _OK,
        "response": _obj(
            {
                "key": {"type": "string", "format": "uuid", "pattern": "^[0-9a-f-]{36}$"},
                "phone_number": _STR,
            }
        ),
    }
)
SYNTHFLOW_SAVED = _obj(
    {
        "status": _OK,
        "response": _obj({"model_id": {"type": "string", "pattern": r"^\d+x\d+$"}}),
        "details": _obj({"phone": _STR, "voice": _STR}),
    }
)
SYNTHFLOW_DELETED = _obj({"status": _OK, "response": _obj({"answer": _STR})})
SYNTHFLOW_ASSISTANT = _obj(
    {
        "type": {"enum": ["inbound", "outbound"]},
        "name": _STR,
        "model_id": {"type": "string", "pattern": r"^\d+x\d+$"},
        "attached_phone_numbers": {
            "type": "array",
            "items": _obj({"number": _STR, "sid": _NSTR, "slug": _STR}),
        },
        "actions": {"type": "array"},
        "input_variables": {"type": "array"},
    }
)
SYNTHFLOW_ASSISTANTS = _obj(
    {
        "status": _OK,
        "response": _obj(
            {
                "pagination": _SYNTHFLOW_PAGINATION,
                "assistants": {"type": "array", "items": SYNTHFLOW_ASSISTANT},
            }
        ),
    }
)

# Truedy public v1.
_META = _obj({"request_id": _STR, "ts": _STR})
_TRUEDY_ID = {"type": "string", "pattern": "^(num|agt)_[0-9a-f-]{36}$"}
TRUEDY_NUMBER = _obj(
    {
        "id": {"type": "string", "pattern": "^num_[0-9a-f-]{36}$"},
        "phone_number": {"type": "string", "pattern": r"^\+\d{2,15}$"},
        "inbound_agent_id": {"type": ["string", "null"]},
        "outbound_agent_ids": {"type": "array", "items": _TRUEDY_ID},
    }
)
_LIST_PAGINATION = _obj({"total": _INT, "limit": _INT, "offset": _INT, "has_more": _BOOL})
TRUEDY_NUMBERS = _obj(
    {
        "data": {"type": "array", "items": TRUEDY_NUMBER},
        "pagination": _LIST_PAGINATION,
        "meta": _META,
    }
)
TRUEDY_NUMBER_RESPONSE = _obj({"data": TRUEDY_NUMBER, "meta": _META})
TRUEDY_SEARCH = _obj(
    {
        "data": {
            "type": "array",
            "items": _obj(
                {
                    "phone_number": _STR,
                    "region_information": {"type": "array"},
                    "features": {"type": "array"},
                    "cost_information": {"type": "object"},
                }
            ),
        },
        "pagination": _obj(
            {
                "page": _INT,
                "page_size": _INT,
                "total_results": _INT,
                "total_pages": _INT,
                "has_more": _BOOL,
            }
        ),
        "meta": _META,
    }
)
_AGENT_NUMBERS = {
    "type": "array",
    "items": _obj({"id": _TRUEDY_ID, "phone_number": _STR}),
}
TRUEDY_AGENT = _obj(
    {
        "id": {"type": "string", "pattern": "^agt_[0-9a-f-]{36}$"},
        "name": _STR,
        "description": _NSTR,
        "voice_id": _NSTR,
        "system_prompt": _NSTR,
        "model": _STR,
        "status": _STR,
        "inbound_phone_numbers": _AGENT_NUMBERS,
        "outbound_phone_numbers": _AGENT_NUMBERS,
        "created_at": _STR,
        "updated_at": _STR,
    }
)
TRUEDY_AGENT_RESPONSE = _obj({"data": TRUEDY_AGENT, "meta": _META})
TRUEDY_AGENTS = _obj(
    {
        "data": {"type": "array", "items": TRUEDY_AGENT},
        "pagination": _LIST_PAGINATION,
        "meta": _META,
    }
)
TRUEDY_RELEASED = _obj({"data": _obj({"id": _STR, "phone_number": _STR}), "meta": _META})
