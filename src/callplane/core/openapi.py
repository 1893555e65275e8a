"""What the generated OpenAPI document leaves out: the error answers and the API key.

FastAPI documents each operation's success and its own 422 shape. The errors callplane really
answers (one envelope on the native API, each vendor's own shape on its compatible surface) and
the bearer key are added here, from a few rules rather than per route, so that a schema-driven
client or fuzzer (schemathesis, in the test suite) can hold the server to the document.
"""

from __future__ import annotations

from typing import Any

from callplane.core.envelope import ErrorEnvelope
from callplane.core.error_handlers import error_schema_for

# Operations anyone may call: probes, and webhooks that carry their provider's signature.
UNKEYED_PREFIXES = ("/healthz", "/readyz", "/v1/telephony/")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

_DESCRIPTIONS = {
    "400": "Malformed JSON or conditional header, or input the surface refuses (its own error "
    "shape)",
    "401": "Missing, invalid or revoked API key",
    "403": "The request is not signed by the provider",
    "404": "Something the request names does not exist in this workspace",
    "409": "Conflicts with the current state, or with a concurrent request: nothing changed",
    "412": "The resource is not at the version If-Match names (or is at one If-None-Match "
    "names): nothing changed; ETag is the current version",
    "413": "The body is larger than the limit",
    "422": "Invalid input: each error names its field",
    "429": "Too many requests with this API key in this minute",
    "502": "The number provider answered with an error",
    "503": "The number provider cannot be reached: nothing changed, retry later",
}
_KEY_SCOPE = "The API key is read-only: changes need a key with scope 'full'"
_FIELD = [{"field": "e164", "message": "Field required", "type": "missing"}]
# One typical answer per status, in the native envelope, so the explorer shows the real shape.
_EXAMPLES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "400": (
        "malformed_json",
        "the request body is not valid JSON at character 25: send a JSON object with the "
        "header Content-Type: application/json",
        {
            "errors": [
                {
                    "field": "body",
                    "message": "not valid JSON at character 25",
                    "type": "json_invalid",
                }
            ]
        },
    ),
    "401": (
        "missing_api_key",
        "Authorization header with 'Bearer <api key>' is required",
        {},
    ),
    "403": ("insufficient_scope", _KEY_SCOPE, {"scope": "read", "required": "full"}),
    "404": (
        "number_not_found",
        "No number '+16286666348' in this workspace",
        {"resource": "number", "id": "+16286666348"},
    ),
    "409": (
        "concurrent_modification",
        "a concurrent request changed the same resource; nothing was changed, retry",
        {},
    ),
    "412": (
        "precondition_failed",
        "If-Match: the resource changed since that version; nothing was changed. The current "
        'ETag is "0b4c6f3e9a1d4f2a8c7e5d3b1a9f8e7d-3"',
        {"header": "If-Match", "etag": '"0b4c6f3e9a1d4f2a8c7e5d3b1a9f8e7d-3"'},
    ),
    "413": ("payload_too_large", "request body exceeds 1048576 bytes", {"limit": 1048576}),
    "422": ("invalid_request", "e164: Field required", {"errors": _FIELD}),
    "429": (
        "rate_limited",
        "more than 600 requests in a minute with this API key; retry in 12 s",
        {"limit_per_minute": 600, "retry_after": 12},
    ),
    "502": ("provider_error", "Twilio refused the purchase: number not available", {}),
    "503": ("provider_unavailable", "Twilio cannot be reached; nothing changed, retry later", {}),
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}}
_ETAG = {"ETag": {"schema": {"type": "string"}, "description": "The current version"}}
_CONDITIONS = {"If-Match", "If-None-Match"}
_READINESS = {
    "type": "object",
    "required": ["status", "database", "redis"],
    "properties": {
        "status": {"enum": ["ok", "degraded", "unavailable"]},
        "database": {"enum": ["ok", "unreachable"]},
        "redis": {"enum": ["ok", "unreachable", "not_configured"]},
    },
}


def declare_errors(document: dict[str, Any]) -> None:
    """Add the error responses and the bearer scheme to every operation of ``document``."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    envelope = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(envelope.pop("$defs", {}))
    schemas["ErrorEnvelope"] = envelope
    components.setdefault("securitySchemes", {})["bearer"] = {"type": "http", "scheme": "bearer"}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                _declare(path, method, item[method])


def _example(status: str) -> dict[str, Any]:
    code, message, details = _EXAMPLES[status]
    return {
        "error": {"code": code, "message": message, "details": details},
        "meta": {"request_id": "req_0c0a4990e176307f71795346", "ts": "2026-01-05T09:30:00Z"},
    }


def _declare(path: str, method: str, operation: dict[str, Any]) -> None:
    keyed = not path.startswith(UNKEYED_PREFIXES)
    statuses = {"422"}
    if "requestBody" in operation:
        statuses |= {"400", "413"}
    if keyed:
        operation["security"] = [{"bearer": []}]
        statuses |= {"401", "404", "429"}
        if method != "get":
            statuses |= {"403", "409"}
    if path.startswith("/compat/"):
        statuses.add("400")  # vendors answer a refused value with 400
    if "providers" in operation.get("tags", []):
        statuses |= {"502", "503"}
    if path.startswith("/v1/telephony/"):
        statuses |= {"403", "404", "409"}
    headers = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "header"}
    if headers & _CONDITIONS:
        statuses.add("400")
        if method != "get":
            statuses.add("412")
    surface_schema = error_schema_for(path)
    schema = surface_schema or {"$ref": "#/components/schemas/ErrorEnvelope"}
    responses = operation.setdefault("responses", {})
    for status in sorted(statuses):
        description = _KEY_SCOPE if status == "403" and keyed else _DESCRIPTIONS[status]
        response = responses.setdefault(status, {"description": description})
        if status == "422" or "content" not in response:
            content: dict[str, Any] = {"schema": schema}
            if surface_schema is None:
                content["example"] = _example(status)
            response["content"] = {"application/json": content}
        if status == "429":
            response["headers"] = _RETRY_AFTER
        if status == "412":
            response["headers"] = _ETAG
    if path == "/readyz":
        responses["200"]["content"] = {"application/json": {"schema": _READINESS}}
        responses["503"] = {
            "description": "The database does not answer",
            "content": {"application/json": {"schema": _READINESS}},
        }
