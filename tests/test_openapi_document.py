"""What the API explorer shows: a bearer scheme for "Authorize", and on every operation the
error answers it can give, with the error schema and an example that holds to it."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from callplane.app import create_app
from tests.helpers import SECRET, Backend, settings_for

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture
def document(backend: Backend) -> dict[str, Any]:
    return create_app(settings_for(backend), backend.database).openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method])
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]


def _validator(document: dict[str, Any]) -> Any:
    return jsonschema.validators.Draft202012Validator(
        {"$ref": "#/components/schemas/ErrorEnvelope", "components": document["components"]}
    )


def test_the_document_offers_a_bearer_scheme(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
    }
    assert SECRET not in str(document)


def test_every_keyed_operation_names_its_key_and_its_errors(document: dict[str, Any]) -> None:
    keyed = [
        (path, method, op)
        for path, method, op in _operations(document)
        if not path.startswith(("/healthz", "/readyz", "/v1/telephony/"))
    ]
    assert len(keyed) > 40
    for path, method, operation in keyed:
        assert operation["security"] == [{"bearer": []}], (path, method)
        expected = {"401", "404", "422", "429"} | ({"403", "409"} if method != "get" else set())
        if "requestBody" in operation:
            expected |= {"400", "413"}
        assert expected <= set(operation["responses"]), (path, method)


def test_native_error_examples_hold_to_the_error_schema(document: dict[str, Any]) -> None:
    validator = _validator(document)
    checked = 0
    for path, _method, operation in _operations(document):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")) or path.startswith("/compat/"):
                continue
            content = response["content"]["application/json"]
            if path == "/readyz":
                continue
            assert content["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}, path
            validator.validate(content["example"])
            checked += 1
    assert checked > 150


def test_vendor_surfaces_keep_their_own_error_shape(document: dict[str, Any]) -> None:
    compat = [(p, op) for p, _, op in _operations(document) if p.startswith("/compat/")]
    assert compat
    for path, operation in compat:
        for status, response in operation["responses"].items():
            if status.startswith("4"):
                content = response["content"]["application/json"]
                assert "ErrorEnvelope" not in str(content["schema"]), path
                assert "example" not in content, path
