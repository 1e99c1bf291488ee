"""The house stays as bot/README.md draws it: no import circle among bot/'s modules (imports
under TYPE_CHECKING count too), no module over 600 lines, and events only go down from the
router: no room imports the router or the registry that hands events to it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 600
# Only these may import the router (bot.service) or the command table (bot.registry).
ABOVE_THE_ROUTER = {"bot.service", "bot.app", "bot.__main__", "bot.registry"}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(package: str = "bot", root: Path = ROOT) -> dict[str, set[str]]:
    """Each module of `package` -> the modules of `package` it imports, at any depth of code."""
    paths = {module_name(p, root): p for p in (root / package).rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                wanted = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                wanted = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in wanted:
                while target and target not in graph:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_in_bot() -> None:
    assert circles(import_graph()) == []


def test_a_circle_through_type_checking_is_found(tmp_path: Path) -> None:
    # bot.context once imported bot.service only under TYPE_CHECKING: such an edge counts.
    (tmp_path / "bot" / "rooms").mkdir(parents=True)
    (tmp_path / "bot" / "__init__.py").write_text("")
    (tmp_path / "bot" / "rooms" / "__init__.py").write_text("")
    (tmp_path / "bot" / "service.py").write_text("from bot.rooms import tap\n")
    (tmp_path / "bot" / "rooms" / "tap.py").write_text("from bot.context import Ctx\n")
    (tmp_path / "bot" / "context.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.service import Tandem\n"
    )
    graph = import_graph("bot", tmp_path)
    assert circles(graph) == [["bot.context", "bot.rooms.tap", "bot.service"]]
    (tmp_path / "bot" / "context.py").write_text("class Ctx: ...\n")
    assert circles(import_graph("bot", tmp_path)) == []


def test_rooms_never_reach_back_up_to_the_router() -> None:
    graph = import_graph()
    upward = {
        (name, target)
        for name, targets in graph.items()
        for target in targets & {"bot.service", "bot.registry"}
        if name not in ABOVE_THE_ROUTER
    }
    assert upward == set()


@pytest.mark.parametrize("folder", ["bot", "adapters"])
def test_no_module_over_600_lines(folder: str) -> None:
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for p in (ROOT / folder).rglob("*.py")
    }
    assert {p: n for p, n in sizes.items() if n > LIMIT} == {}
