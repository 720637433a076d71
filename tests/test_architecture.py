"""Imports run one way (ARCHITECTURE.md): read from vcall/'s source with ``ast``, every import
counted, at module level and inside functions alike."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vcall"
#: Who may import these (besides themselves): the services at the top, under the command line.
ONLY_FROM = {
    "vcall.provision": ("vcall.cli", "vcall.demo", "vcall.status", "vcall.expose"),
    "vcall.demo": ("vcall.cli",),
    "vcall.status": ("vcall.cli",),
    "vcall.expose": ("vcall.cli",),
    "vcall.cli": ("vcall.__main__",),
}
#: The Vonage SDK's packages, and the modules that may speak it.
SDK = ("vonage", "vonage_")
SDK_USERS = ("vcall.gateway", "vcall.ncco")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path) -> Iterable[str]:
    """Every module ``name`` imports, absolute, as written (vcall's and others')."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}".rstrip(".")
            for alias in node.names:
                # ``from vcall import state`` names a module; ``from vcall.x import f`` does not.
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def module_graph() -> dict[str, set[str]]:
    """vcall module → the vcall modules it imports."""
    return {
        name: {other for other in imported(name, path) if other in MODULES and other != name}
        for name, path in MODULES.items()
    }


def unit(name: str) -> str:
    """The package a module belongs to; a module directly in vcall/ is a unit of its own."""
    if name == "vcall" or MODULES[name].name == "__init__.py" or name.count(".") == 1:
        return name
    return name.rpartition(".")[0]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of ``graph`` with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            part = []
            while True:
                member = stack.pop()
                part.append(member)
                if member == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_walk_sees_the_imports() -> None:
    graph = module_graph()
    assert len(graph) > 50
    assert "vcall.sandbox.account" in graph["vcall.sandbox.voice.routes"]  # module level
    assert "vcall.store.sqlite" in graph["vcall.store"]  # inside a function
    assert "vcall.state" in graph["vcall.config"]  # ``from vcall import state``


def test_no_import_loop_between_modules() -> None:
    assert cycles(module_graph()) == []


def test_no_import_loop_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for name, others in module_graph().items():
        graph.setdefault(unit(name), set()).update(unit(o) for o in others if unit(o) != unit(name))
    assert cycles(graph) == []


def test_the_sandbox_imports_nothing_from_web() -> None:
    wrong = [
        f"{name} imports {other}"
        for name, others in module_graph().items()
        if within(name, "vcall.sandbox")
        for other in others
        if within(other, "vcall.web")
    ]
    assert wrong == []


def test_nothing_imports_upward_into_the_commands_and_services() -> None:
    wrong = [
        f"{name} imports {other}"
        for name, others in module_graph().items()
        for other in others
        for top, allowed in ONLY_FROM.items()
        if within(other, top)
        and not within(name, top)
        and not any(within(name, a) for a in allowed)
    ]
    assert wrong == []


def test_only_the_gateway_and_the_ncco_speak_the_sdk() -> None:
    wrong = [
        f"{name} imports {other}"
        for name, path in MODULES.items()
        for other in imported(name, path)
        if other.startswith(SDK) and name not in SDK_USERS
    ]
    assert wrong == []
