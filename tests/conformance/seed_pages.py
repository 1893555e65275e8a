"""The seed vendors' contracts: our fixtures of their facts, and their pages' own code examples.

``fixtures/`` holds what the tests check against, written down by this project: each seed
operation's paths, status codes, JSON schemas and documented examples (as OpenAPI documents
without the vendors' prose), and CallingBox's documented answer. The pages themselves are not
in the repository: their request examples are real client code, so the tests run them from
``../shared/seeds`` (or ``CALLPLANE_SEEDS_DIR``) when that folder is there, as it is in CI, and
skip, saying so, when it is not.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = Path(os.environ.get("CALLPLANE_SEEDS_DIR", Path(__file__).parents[3] / "shared" / "seeds"))
SYNTHFLOW_DETACH, SYNTHFLOW_DELETE, SYNTHFLOW_ATTACH = "000", "001", "002"
TRUEDY_UNASSIGN, CALLINGBOX_DETACH = "003", "004"
_FIXTURE = {
    SYNTHFLOW_DETACH: "synthflow_detach",
    SYNTHFLOW_DELETE: "synthflow_delete",
    SYNTHFLOW_ATTACH: "synthflow_attach",
    TRUEDY_UNASSIGN: "truedy_unassign",
    CALLINGBOX_DETACH: "callingbox_detach",
}


@dataclass(frozen=True)
class Example:
    title: str
    code: str


def page(prefix: str) -> str:
    """A vendor's page, for its code examples; skips the test when the pages are not here."""
    found = sorted(PAGES.glob(f"{prefix}_*.txt")) if PAGES.is_dir() else []
    if not found:
        pytest.skip(
            f"the seed pages are not at {PAGES}: put the shared/ folder beside the repository "
            "(or set CALLPLANE_SEEDS_DIR) to run the vendors' own examples"
        )
    return found[0].read_text()


def python_examples(prefix: str) -> list[Example]:
    return [
        Example(t.strip(), c)
        for t, c in re.findall(r"```python ([^\n]*)\n(.*?)```", page(prefix), re.S)
    ]


def openapi(prefix: str) -> dict[str, Any]:
    """The operation's contract (paths, statuses, schemas, examples), from our fixture."""
    return dict(json.loads((FIXTURES / f"{_FIXTURE[prefix]}.openapi.json").read_text()))


def operation(document: dict[str, Any]) -> dict[str, Any]:
    (path_item,) = document["paths"].values()
    (op,) = path_item.values()
    return dict(op)


def response_schema(document: dict[str, Any], status: int) -> dict[str, Any]:
    """The documented schema of a status, with the page's components so ``$ref``s resolve."""
    responses = operation(document)["responses"]
    assert str(status) in responses, f"status {status} is not documented: {sorted(responses)}"
    content = responses[str(status)]["content"]["application/json"]
    return {**content["schema"], "components": document.get("components", {})}


def documented_example(document: dict[str, Any], status: int) -> Any:
    return operation(document)["responses"][str(status)]["content"]["application/json"]["example"]


def validate(document: dict[str, Any], status: int, body: Any) -> None:
    jsonschema.Draft202012Validator(response_schema(document, status)).validate(body)


def schema_of_component(document: dict[str, Any], name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}", "components": document["components"]}


def curl_example(prefix: str) -> list[str]:
    """The page's curl command as an argument list."""
    text = page(prefix)
    start = text.index("curl --request")
    command = text[start : text.index("\n{", start)].replace("\\\n", " ")
    return shlex.split(command)


def json_example(prefix: str) -> dict[str, Any]:
    """The documented answer of an operation whose page gives an example, not a schema."""
    return dict(json.loads((FIXTURES / f"{_FIXTURE[prefix]}.example.json").read_text()))


def same_shape(example: Any, actual: Any, path: str = "$") -> list[str]:
    """Where ``actual`` differs in structure from a documented example (keys and JSON types)."""
    if isinstance(example, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object"]
        problems = [f"{path}.{k}: missing" for k in example if k not in actual]
        for key in example:
            if key in actual:
                problems += same_shape(example[key], actual[key], f"{path}.{key}")
        return problems
    if isinstance(example, list):
        if not isinstance(actual, list):
            return [f"{path}: expected an array"]
        return (
            [p for item in actual for p in same_shape(example[0], item, f"{path}[]")]
            if example and actual
            else []
        )
    if example is None:
        return [] if actual is None else [f"{path}: expected null, got {actual!r}"]
    if isinstance(example, bool) != isinstance(actual, bool):
        return [f"{path}: expected {type(example).__name__}"]
    if isinstance(example, str) and not isinstance(actual, str):
        return [f"{path}: expected a string, got {actual!r}"]
    if isinstance(example, int) and not isinstance(actual, int):
        return [f"{path}: expected a number, got {actual!r}"]
    return []


def missing_keys(example: Any, actual: Any, path: str = "$") -> list[str]:
    """Keys of a documented example absent from ``actual``, at any depth; values are ignored."""
    if isinstance(example, dict) and isinstance(actual, dict):
        problems = [f"{path}.{k}" for k in example if k not in actual]
        return problems + [
            p
            for k in example
            if k in actual
            for p in missing_keys(example[k], actual[k], f"{path}.{k}")
        ]
    if isinstance(example, list) and isinstance(actual, list) and example and actual:
        return [p for item in actual for p in missing_keys(example[0], item, f"{path}[]")]
    return []
