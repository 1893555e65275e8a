"""The reference pages are made from the code: every error code the source raises is in the
table (with its status), every route in the API page, every command in the CLI page."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from scripts.docs_hooks import reference_pages
from scripts.docs_reference import SOURCE, error_page, scan_error_codes

from callplane.cli import app as cli
from tests.helpers import Tenant

# An independent reading of the source: a literal code as the first argument of an error.
RAISED = re.compile(
    r"\b(?:DomainError|InvalidInput|NotFound|Conflict|Unauthenticated|Forbidden|RateLimited|"
    r"ProviderFailed|ProviderUnavailable)\(\s*\"([a-z0-9_]+)\"|\bProblem\(\s*\d+,\s*\"([a-z0-9_]+)\""
    r"|\bnot_found\(\s*\"([a-z_]+)\""
)


def _table_codes(page: str) -> dict[str, str]:
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| ([^|]+) \|", page, flags=re.MULTILINE)
    return {code: status.strip() for code, status in rows}


def test_every_construction_of_an_error_has_a_literal_code() -> None:
    """A code the scan cannot read would be missing from the table: write it as a literal."""
    assert scan_error_codes().unreadable == []


def test_every_code_raised_in_the_source_is_in_the_table() -> None:
    table = _table_codes(reference_pages()["reference/errors.md"])
    raised: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        if path.relative_to(SOURCE).parts[0] == "client":
            continue
        for error, problem, resource in RAISED.findall(path.read_text()):
            raised.add(error or problem or f"{resource}_not_found")
    assert len(raised) > 50
    assert sorted(raised - set(table)) == []
    assert table["agent_not_found"] == "404"
    assert table["number_already_assigned"] == "409"
    assert table["malformed_authorization"] == "401"
    assert table["invalid_request"] == "422"


def test_codes_answered_at_run_time_are_in_the_table(tenant: Tenant) -> None:
    table = _table_codes(reference_pages()["reference/errors.md"])
    answers = [
        tenant.client.get("/v1/numbers"),
        tenant.client.get("/v1/numbers", headers={"Authorization": tenant.key}),
        tenant.get("/v1/nowhere"),
        tenant.put("/v1/numbers/assign", {}),
        tenant.post("/v1/numbers", {"e164": "+0123"}),
        tenant.post("/v1/numbers", {}),
        tenant.get("/v1/agents/agt_nobody"),
        tenant.client.post(
            "/v1/numbers", content=b"{", headers={**tenant.auth, "Content-Type": "application/json"}
        ),
        tenant.client.post(
            "/v1/numbers", content=b"e164=1", headers={**tenant.auth, "Content-Type": "text/plain"}
        ),
    ]
    codes = {response.json()["error"]["code"] for response in answers}
    assert len(codes) == len(answers)
    assert sorted(codes - set(table)) == []


def test_a_new_code_reaches_the_table_without_a_hand_edit(tmp_path: Path) -> None:
    package = tmp_path / "callplane" / "feature"
    package.mkdir(parents=True)
    (package / "service.py").write_text(
        "from callplane.core.errors import Conflict\n\n\n"
        "def act(code: str) -> None:\n"
        '    raise Conflict("brand_new_code", f"the {code} is taken", {"holder": code})\n\n\n'
        "def guess(code: str) -> None:\n"
        '    raise Conflict(code, "written so that no table can list it")\n'
    )
    (tmp_path / "callplane" / "core").mkdir()
    (tmp_path / "callplane" / "core" / "errors.py").write_text(
        (SOURCE / "core" / "errors.py").read_text()
    )
    scan = scan_error_codes(tmp_path / "callplane")
    row = next(line for line in error_page(scan).splitlines() if "`brand_new_code`" in line)
    assert "| 409 | the … is taken | `holder` | feature |" in row
    assert scan.unreadable == ["callplane/feature/service.py:9"]


def test_the_api_page_lists_every_route_and_the_cli_page_every_command(tenant: Tenant) -> None:
    pages = reference_pages()
    document = tenant.client.get("/openapi.json").json()
    for path, item in document["paths"].items():
        for method in ("get", "put", "post", "patch", "delete"):
            if method in item:
                assert f"### `{method.upper()} {path}`" in pages["reference/api.md"]

    def commands(command: object, path: list[str]) -> list[str]:
        children = getattr(command, "commands", None)
        if children is None:
            return [" ".join(path)]
        return [c for name in children for c in commands(children[name], [*path, name])]

    listed = commands(typer.main.get_command(cli), ["callplane"])
    assert "callplane key list" in listed
    for command in listed:
        assert f"## `{command}`" in pages["reference/cli.md"]
