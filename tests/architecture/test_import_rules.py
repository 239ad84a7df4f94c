"""The floor plan holds: data flows one way between the rooms, and no hil module is a hub.

Read from the source with `ast` (no imports are executed), so a new import that breaks a rule
fails here with the module and the import named.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Repository folder of each package prefix (pyproject.toml's package-dir).
ROOTS = {"tinyrig.codegen": "codegen", "tinyrig.hil": "hil", "tinyrig.boards": "boards",
         "tinyrig.templates": "templates", "tinyrig.renode": "renode", "tinyrig": "tinyrig"}
MAX_PROJECT_IMPORTS = 10
# A target picked by comparing its name (a bare `target` or the run options' field).
CHOICE = re.compile(r"(?<![\w.])target\s*==|options\.target\b(?!_)")


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    for prefix, folder in sorted(ROOTS.items(), key=lambda kv: -len(kv[1])):
        if rel.parts[0] == folder:
            parts = list(rel.parts[1:])
            if parts and parts[-1] == "__init__":
                parts.pop()
            return ".".join([prefix, *parts])
    raise ValueError(path)


def _sources() -> dict[str, Path]:
    found = {}
    for folder in ROOTS.values():
        for path in (REPO / folder).rglob("*.py"):
            found[_module_name(path)] = path
    return found


def _imports(path: Path, module: str, is_package: bool) -> set[str]:
    """Project modules `path` imports at run time (imports under `if TYPE_CHECKING:` excluded).

    `from pkg import mod` counts as importing `pkg.mod` (not `pkg` as well); `from mod import name`
    as importing `mod`.
    """
    tree = ast.parse(path.read_text(), str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    package = module if is_package else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            submodules = {f"{base}.{a.name}" for a in node.names} & set(SOURCES)
            names.update(submodules or {base})
    return names


SOURCES = _sources()


def _graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in SOURCES.items():
        imported = _imports(path, module, path.name == "__init__.py")
        graph[module] = {m for m in imported if m in SOURCES and m != module}
    return graph


GRAPH = _graph()


def _room(module: str) -> str:
    """A room: a folder mapped into the package (codegen, boards, ...), tinyrig's own subpackages
    (cli, build), and each of hil's subpackages (targets, dut, modes, instruments, results, run)."""
    parts = module.split(".")
    if parts[:2] == ["tinyrig", "hil"]:
        return ".".join(parts[:3])
    if len(parts) > 2 or SOURCES[module].name == "__init__.py":
        return ".".join(parts[:2])
    return "tinyrig"  # tinyrig/*.py: the ground floor (benchmarks, models, paths)


@pytest.mark.parametrize("module", sorted(m for m in SOURCES if m.startswith("tinyrig.hil")))
def test_no_hil_module_imports_more_than_ten_project_modules(module):
    imported = sorted(GRAPH[module])
    assert len(imported) <= MAX_PROJECT_IMPORTS, f"{module} imports {len(imported)} project modules: {imported}"


def test_no_import_circle_between_rooms():
    rooms: dict[str, set[str]] = {}
    for module, imported in GRAPH.items():
        rooms.setdefault(_room(module), set()).update(_room(m) for m in imported if _room(m) != _room(module))
    # Depth-first search for a circle between rooms, reported as the path that closes it.
    state: dict[str, int] = {}

    def visit(room: str, path: list[str]) -> None:
        state[room] = 1
        for nxt in sorted(rooms.get(room, ())):
            if state.get(nxt) == 1:
                circle = path[path.index(nxt):] + [nxt] if nxt in path else [room, nxt]
                pytest.fail("import circle between rooms: " + " -> ".join(circle))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[room] = 2

    for room in sorted(rooms):
        if room not in state:
            visit(room, [room])


def test_target_is_chosen_in_one_place():
    """Only the target registry picks a target by name; everything else asks it."""
    offenders = []
    for module, path in SOURCES.items():
        if module == "tinyrig.hil.targets.registry":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if CHOICE.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "target chosen outside hil/targets/registry.py:\n" + "\n".join(offenders)
