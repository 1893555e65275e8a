"""The reference pages of the documentation, made from the code at build time (docs_hooks.py).

- the API reference from the app's OpenAPI document,
- the CLI reference from the typer app,
- the error codes from the source: every construction of a DomainError (or of a ``Problem``,
  the error handlers' own) read with ``ast``, so a new code is in the table without a hand edit.

Nothing here is committed output: ``mkdocs build`` writes the pages into the site only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "callplane"
METHODS = ("get", "put", "post", "patch", "delete")
BASE_ERROR = "DomainError"
# ``not_found("agent", ref)`` is ``NotFound("agent_not_found", …)``: written once in core.
NOT_FOUND_HELPER = "not_found"
# The Python client has exception classes of the same names: it raises none of the server's.
NOT_THE_SERVER = ("client",)


# --- error codes -------------------------------------------------------------------------


@dataclass
class ErrorCode:
    """One code as the source raises it: its statuses, messages and details keys, and where."""

    code: str
    statuses: set[int | None] = field(default_factory=set)
    messages: list[str] = field(default_factory=list)
    details: set[str] = field(default_factory=set)
    places: set[str] = field(default_factory=set)


@dataclass
class Scan:
    codes: dict[str, ErrorCode]
    unreadable: list[str]  # constructions whose code is not a literal: the table would miss them


def scan_error_codes(source: Path = SOURCE) -> Scan:
    trees = {
        path: ast.parse(path.read_text(), str(path))
        for path in sorted(source.rglob("*.py"))
        if path.relative_to(source).parts[0] not in NOT_THE_SERVER
    }
    statuses = _error_classes(trees.values())
    codes: dict[str, ErrorCode] = {}
    unreadable: list[str] = []
    for path, tree in trees.items():
        place = path.relative_to(source).parts[0].removesuffix(".py")
        for call, function in _calls(tree):
            name = _called(call)
            if name is None or not call.args:
                continue
            if name == "Problem" and len(call.args) >= 2:
                status_node, code_node, rest = call.args[0], call.args[1], call.args[2:]
                status = status_node.value if isinstance(status_node, ast.Constant) else None
            elif name in statuses:
                code_node, rest, status = call.args[0], call.args[1:], statuses[name]
            elif name == NOT_FOUND_HELPER and function != NOT_FOUND_HELPER:
                code_node, rest, status = call.args[0], [], 404
                if isinstance(code_node, ast.Constant) and isinstance(code_node.value, str):
                    resource = code_node.value
                    entry = codes.setdefault(
                        f"{resource}_not_found", ErrorCode(f"{resource}_not_found")
                    )
                    entry.statuses.add(404)
                    message = f"No {resource.replace('_', ' ')} '…' in this workspace"
                    if message not in entry.messages:
                        entry.messages.append(message)
                    entry.details |= {"resource", "id"}
                    entry.places.add(place)
                    continue
            else:
                continue
            if function == NOT_FOUND_HELPER or (name == "Problem" and _passes_through(code_node)):
                continue  # the helper itself, or a Problem made of a DomainError's own fields
            if not (isinstance(code_node, ast.Constant) and isinstance(code_node.value, str)):
                unreadable.append(f"{path.relative_to(source.parent)}:{call.lineno}")
                continue
            entry = codes.setdefault(code_node.value, ErrorCode(code_node.value))
            entry.statuses.add(status)
            if rest:
                message = _template(rest[0])
                if message and message not in entry.messages:
                    entry.messages.append(message)
            if len(rest) > 1 and isinstance(rest[1], ast.Dict):
                entry.details |= {
                    k.value
                    for k in rest[1].keys
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)
                }
            entry.places.add(place)
    return Scan(dict(sorted(codes.items())), unreadable)


def _error_classes(trees: Any) -> dict[str, int | None]:
    """Every DomainError subclass in the source, with the native status it declares or inherits."""
    found: dict[str, tuple[list[str], int | None]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [b.id for b in node.bases if isinstance(b, ast.Name)]
                status = next(
                    (
                        s.value.value
                        for s in node.body
                        if isinstance(s, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "status" for t in s.targets)
                        and isinstance(s.value, ast.Constant)
                    ),
                    None,
                )
                found[node.name] = (bases, status)
    statuses: dict[str, int | None] = {}

    def status_of(name: str, seen: frozenset[str] = frozenset()) -> int | None:
        bases, status = found[name]
        if status is not None:
            return status
        parents = [b for b in bases if b in found and b not in seen]
        return status_of(parents[0], seen | {name}) if parents else None

    def is_error(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name == BASE_ERROR:
            return True
        bases = found.get(name, ([], None))[0]
        return any(b not in seen and is_error(b, seen | {name}) for b in bases)

    for name in found:
        if is_error(name):
            statuses[name] = status_of(name)
    return statuses


def _calls(tree: ast.AST) -> Iterator[tuple[ast.Call, str | None]]:
    """Every call, with the name of the function it is written in."""

    def visit(node: ast.AST, function: str | None) -> Iterator[tuple[ast.Call, str | None]]:
        for child in ast.iter_child_nodes(node):
            inner = (
                child.name
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                else function
            )
            if isinstance(child, ast.Call):
                yield child, function
            yield from visit(child, inner)

    yield from visit(tree, None)


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _passes_through(node: ast.expr) -> bool:
    """``Problem(exc.status, exc.code, …)``: a DomainError's code, already in the table."""
    return isinstance(node, ast.Attribute) and node.attr == "code"


def _template(node: ast.expr) -> str:
    """A message as written, each interpolated value shown as '…'."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "…" for part in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _template(node.left) + _template(node.right)
    return ""


def _details_shape(entry: ErrorCode) -> str:
    keys = set(entry.details)
    if "field" in keys or "errors" in keys:
        extra = sorted(keys - {"field", "errors", "message", "code", "type"})
        item = "field, message, type" + "".join(f", {k}" for k in extra)
        return f"`errors`: [{{{item}}}]"
    return ", ".join(f"`{k}`" for k in sorted(keys)) or "—"


def error_page(scan: Scan) -> str:
    lines = [
        "# Error codes",
        "",
        "Every code the native API can answer, read from the source when this site was built.",
        'The body is always `{"error": {"code", "message", "details"}, "meta": {…}}`;',
        "`details` is always an object. A refusal about input lists the fields in",
        "`details.errors` as `[{field, message, type, …}]`; other codes carry the keys listed",
        "here. *When* shows the message as written in the code, `…` standing for the values it",
        "names; *Raised in* is the package (what only the dashboard raises it shows as a page,",
        "in words for people). The vendor-compatible APIs answer the same refusals in each",
        "vendor's own shape.",
        "",
        "| Code | Status | When | Details | Raised in |",
        "| --- | --- | --- | --- | --- |",
    ]
    for entry in scan.codes.values():
        statuses = ", ".join(sorted(str(s) for s in entry.statuses if s is not None)) or "varies"
        when = "<br>".join(_cell(m) for m in entry.messages[:3]) or "—"
        places = ", ".join(sorted(entry.places))
        lines.append(
            f"| `{entry.code}` | {statuses} | {when} | {_details_shape(entry)} | {places} |"
        )
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


# --- CLI -----------------------------------------------------------------------------------


def cli_page(command: Any) -> str:
    """``command``: the click command tree of the typer app (typer ships its own click)."""
    lines = [
        "# CLI reference",
        "",
        "Every command of `callplane`, read from the CLI itself when this site was built. The",
        "[CLI guide](../cli.md) shows them at work.",
        "",
    ]
    for path, cmd in _commands(command, ["callplane"]):
        if hasattr(cmd, "commands"):
            continue
        lines += [f"## `{' '.join(path)}`", "", _cell((cmd.help or "").strip()) or "", ""]
        arguments = [p for p in cmd.params if p.param_type_name == "argument"]
        options = [p for p in cmd.params if p.param_type_name == "option" and p.name != "help"]
        usage = " ".join([*path, *(str(a.name).upper() for a in arguments)])
        lines += ["```text", usage + (" [OPTIONS]" if options else ""), "```", ""]
        if options:
            lines += ["| Option | Meaning |", "| --- | --- |"]
            for option in options:
                names = ", ".join(f"`{n}`" for n in [*option.opts, *option.secondary_opts])
                lines.append(f"| {names} | {_cell(option.help or '')} |")
            lines.append("")
    return "\n".join(lines)


def _commands(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    yield path, command
    if hasattr(command, "commands"):
        for name in sorted(command.commands):
            yield from _commands(command.commands[name], [*path, name])


# --- API -----------------------------------------------------------------------------------


def api_page(document: dict[str, Any]) -> str:
    lines = [
        "# API reference",
        "",
        f"{document['info'].get('description', '')}",
        "",
        "Made from the OpenAPI document (`/openapi.json`) when this site was built. A running",
        "server shows the same document interactively at `/docs` (Swagger UI, with *Authorize*",
        "and *Try it out*) and `/redoc`. Every keyed operation takes `Authorization: Bearer",
        "<api key>`; the error answers are described in [Error codes](errors.md).",
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                tag = (operation.get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append((path, method, operation))
    for tag in sorted(by_tag):
        lines += [f"## {tag}", ""]
        for path, method, operation in by_tag[tag]:
            lines += _operation(path, method, operation)
    return "\n".join(lines)


def _operation(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    title = operation.get("summary") or operation.get("operationId", "")
    lines = [f"### `{method.upper()} {path}`", "", f"**{_cell(title)}**", ""]
    if operation.get("description"):
        lines += [operation["description"].strip(), ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| Parameter | In | Required | Type |", "| --- | --- | --- | --- |"]
        for p in parameters:
            kind = _type(p.get("schema", {}))
            lines.append(
                f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} | {kind} |"
            )
        lines.append("")
    body = operation.get("requestBody", {}).get("content", {})
    for media, content in body.items():
        lines += [f"Body ({media}): {_type(content.get('schema', {}))}", ""]
    responses = operation.get("responses", {})
    answers = ", ".join(f"`{status}`" for status in sorted(responses))
    lines += [f"Answers: {answers}", ""]
    if operation.get("security"):
        lines += ["Needs an API key.", ""]
    return lines


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[-1]}`"
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    return f"`{schema.get('type', 'object')}`"
