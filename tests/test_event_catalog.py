"""The event-type catalog against the source: every type any ``events.record`` call can write is
catalogued, and every catalogued type is written somewhere.

The type argument is read from the syntax tree: a string, either branch of a conditional, a
module constant, or a parameter of the enclosing function (then read from that function's calls
in the same module). A call whose type cannot be read that way fails the test, so a new call
cannot slip past it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import callplane
from callplane.events.catalog import EVENT_TYPES

SOURCE = Path(callplane.__file__).parent
TYPE_POSITION = 2  # record(session, actor, type_, resource_ids, ...)


@dataclass
class Module:
    path: Path
    tree: ast.Module
    parents: dict[ast.AST, ast.AST]

    @classmethod
    def read(cls, path: Path) -> Module:
        tree = ast.parse(path.read_text(), str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        return cls(path, tree, parents)

    def record_aliases(self) -> set[str]:
        """Names this module calls ``callplane.events.service.record`` through."""
        found = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module == "callplane.events":
                found |= {a.asname or a.name for a in node.names if a.name == "service"}
            if isinstance(node, ast.ImportFrom) and node.module == "callplane.events.service":
                found |= {f"={a.asname or a.name}" for a in node.names if a.name == "record"}
        return found

    def record_calls(self) -> list[ast.Call]:
        aliases = self.record_aliases()
        calls = []
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            through_module = (
                isinstance(func, ast.Attribute)
                and func.attr == "record"
                and isinstance(func.value, ast.Name)
                and func.value.id in aliases
            )
            direct = isinstance(func, ast.Name) and f"={func.id}" in aliases
            if through_module or direct:
                calls.append(node)
        return calls

    def enclosing_function(self, node: ast.AST) -> ast.FunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef):
                return node
        return None

    def constant(self, name: str) -> str | None:
        for node in self.tree.body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                return node.value.value
        return None


def argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def types_of(module: Module, expr: ast.expr | None, where: ast.AST, unread: list[str]) -> set[str]:
    """Every string ``expr`` can be at run time, or a note in ``unread`` saying why not."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):
        return types_of(module, expr.body, where, unread) | types_of(
            module, expr.orelse, where, unread
        )
    if isinstance(expr, ast.Name):
        constant = module.constant(expr.id)
        if constant is not None:
            return {constant}
        function = module.enclosing_function(where)
        parameters = [a.arg for a in function.args.args] if function else []
        if function is not None and expr.id in parameters:
            position = parameters.index(expr.id)
            found: set[str] = set()
            callers = [
                node
                for node in ast.walk(module.tree)
                if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == function.name
            ]
            if not callers:
                unread.append(f"{module.path.name}: no call of {function.name} in its module")
            for caller in callers:
                found |= types_of(module, argument(caller, position, expr.id), caller, unread)
            return found
    line = getattr(expr, "lineno", getattr(where, "lineno", "?"))
    unread.append(f"{module.path}:{line}: cannot read the event type")
    return set()


def recorded_types() -> tuple[dict[str, list[str]], list[str]]:
    """Each type the source can record, with where; and the calls that could not be read."""
    found: dict[str, list[str]] = {}
    unread: list[str] = []
    for path in sorted(SOURCE.rglob("*.py")):
        module = Module.read(path)
        for call in module.record_calls():
            expr = argument(call, TYPE_POSITION, "type_")
            for name in types_of(module, expr, call, unread):
                found.setdefault(name, []).append(f"{path.relative_to(SOURCE)}:{call.lineno}")
    return found, unread


def test_every_recorded_type_is_catalogued() -> None:
    found, unread = recorded_types()
    assert unread == []
    missing = {name: where for name, where in found.items() if name not in EVENT_TYPES}
    assert missing == {}, "add these to callplane/events/catalog.py"
    assert len(found) >= 30  # the reader found the calls (it is not reading nothing)


def test_every_catalogued_type_is_recorded_somewhere() -> None:
    found, _ = recorded_types()
    assert sorted(set(EVENT_TYPES) - set(found)) == []


def test_the_reader_sees_each_way_a_type_is_given(tmp_path: Path) -> None:
    """The reader itself: literal, conditional, constant, forwarded parameter, unreadable."""
    source = tmp_path / "sample.py"
    source.write_text(
        "from callplane.events import service as events\n"
        "KIND = 'a.constant'\n"
        "def f(s, a, ok):\n"
        "    events.record(s, a, 'a.literal', [])\n"
        "    events.record(s, a, 'a.yes' if ok else 'a.no', [])\n"
        "    events.record(s, a, KIND, [])\n"
        "    events.record(s, a, type_=compute(), resource_ids=[])\n"
        "def _remove(s, a, type_):\n"
        "    events.record(s, a, type_, [])\n"
        "def g(s, a):\n"
        "    _remove(s, a, 'a.forwarded')\n"
    )
    module = Module.read(source)
    unread: list[str] = []
    names: set[str] = set()
    for call in module.record_calls():
        names |= types_of(module, argument(call, TYPE_POSITION, "type_"), call, unread)
    assert names == {"a.literal", "a.yes", "a.no", "a.constant", "a.forwarded"}
    assert len(unread) == 1 and "cannot read" in unread[0]
