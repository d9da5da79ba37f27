"""The house rules of `portal/`, read from the source with `ast` (nothing is imported):

- no capability package imports `portal.reconcile` (the factory and the CLI may): a capability
  asks the ledger in `portal.core` about periods, never the reconciliation desk;
- there is no import circle between capability packages;
- nothing under `portal/core` imports a capability, the desk or the factory (`portal`'s
  `__init__`, and `portal.cli` / `portal.demo`, which build on it);
- no module is longer than one can hold in one's head (MAX_LINES, migrations aside);
- capabilities offer panels, menus and contributions to each other through `portal.core.hooks`
  (blinker signals), not through lists kept in `app.extensions`.

Every import counts: at module level, inside functions, under `if TYPE_CHECKING:`, relative ones,
and `importlib.import_module("portal.x...")` with a literal name.
"""

from __future__ import annotations

import ast
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CAPABILITIES = ("accounts", "contact", "content", "enrollment", "giving", "sroi", "statements")
DESK = "reconcile"
# The factory: the package's __init__ (create_app, all_models) and the modules built on it.
FACTORY = ("portal", "portal.cli", "portal.demo")
MAX_LINES = 500


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted module name, resolved (relative imports, `from package import submodule`)
    path: str  # file of the importer, relative to the checkout
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.target}"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str, root: Path) -> bool:
    base = root.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _import_module_name(node: ast.Call) -> str | None:
    """The literal name given to importlib.import_module(...) / import_module(...) / __import__(...)."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def imports_in(path: Path, root: Path) -> list[Import]:
    """Every import of one file, wherever it stands in the file."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    where = str(path.relative_to(root))
    found: list[Import] = []

    def add(target: str, line: int) -> None:
        found.append(Import(module, target, where, line))

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            submodules = [f"{source}.{alias.name}" for alias in node.names
                          if _is_module(f"{source}.{alias.name}", root)]
            for target in submodules:
                add(target, node.lineno)
            if len(submodules) < len(node.names):  # names taken from the module itself
                add(source, node.lineno)
        elif isinstance(node, ast.Call):
            name = _import_module_name(node)
            if name and not name.startswith("."):
                add(name, node.lineno)
    return found


def all_imports(root: Path = ROOT, package: str = "portal") -> list[Import]:
    files = sorted((root / package).rglob("*.py"))
    assert files, f"no modules under {root / package}"
    return [found for path in files for found in imports_in(path, root)]


def part_of(module: str, package: str = "portal") -> str | None:
    """The top-level package of `package` a module belongs to ('giving' for portal.giving.service)."""
    parts = module.split(".")
    if parts[0] != package:
        return None
    return parts[1] if len(parts) > 1 else ""


def import_cycles(imports: list[Import], nodes: tuple[str, ...], package: str = "portal") -> list[str]:
    """Each circle between the given packages, as 'a -> b -> a' with the import lines that make it."""
    evidence: dict[tuple[str, str], Import] = {}
    graph: dict[str, set[str]] = defaultdict(set)
    for found in imports:
        source, target = part_of(found.importer, package), part_of(found.target, package)
        if source in nodes and target in nodes and source != target:
            graph[source].add(target)
            evidence.setdefault((source, target), found)
    cycles, seen = [], set()
    for start in sorted(nodes):
        # The shortest way from `start` back to itself (breadth first, in name order).
        queue, parent = deque([start]), {start: None}
        path = None
        while queue and path is None:
            current = queue.popleft()
            for following in sorted(graph[current]):
                if following == start:
                    path = [start]
                    node = current
                    while node != start:
                        path.insert(1, node)
                        node = parent[node]
                    path.append(start)
                    break
                if following not in parent:
                    parent[following] = current
                    queue.append(following)
        if path is None or frozenset(path) in seen:
            continue
        seen.add(frozenset(path))
        steps = "; ".join(str(evidence[(a, b)]) for a, b in zip(path, path[1:], strict=False))
        cycles.append(f"{' -> '.join(path)} ({steps})")
    return cycles


# --- the rules, on today's code -----------------------------------------------------------------

@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return all_imports()


def test_the_whole_package_is_read(imports):
    modules = {module_name(path, ROOT) for path in (ROOT / "portal").rglob("*.py")}
    # The rules below name these packages: each exists, and the imports of each were read.
    assert {part_of(m) for m in modules} >= set(CAPABILITIES) | {DESK, "core"}
    assert {part_of(found.importer) for found in imports} >= set(CAPABILITIES) | {DESK, "core"}


def test_no_capability_imports_the_reconciliation_desk(imports):
    offending = [str(found) for found in imports
                 if part_of(found.importer) in CAPABILITIES and part_of(found.target) == DESK]
    assert not offending, "capabilities import portal.reconcile:\n" + "\n".join(offending)


def test_there_is_no_import_circle_between_capability_packages(imports):
    cycles = import_cycles(imports, (*CAPABILITIES, DESK))
    assert not cycles, "import circles between capability packages:\n" + "\n".join(cycles)


def test_core_imports_no_capability_and_not_the_factory(imports):
    offending = [str(found) for found in imports if part_of(found.importer) == "core" and (
        part_of(found.target) in (*CAPABILITIES, DESK) or found.target in FACTORY)]
    assert not offending, "portal/core imports a capability or the factory:\n" + "\n".join(offending)


def test_no_module_is_longer_than_one_can_hold_in_mind():
    long = [f"{path.relative_to(ROOT)}: {lines} lines"
            for path in sorted((ROOT / "portal").rglob("*.py")) if "migrations" not in path.parts
            for lines in [len(path.read_text(encoding="utf-8").splitlines())] if lines > MAX_LINES]
    assert not long, f"modules over {MAX_LINES} lines (split them along their seams):\n" + "\n".join(long)


def test_capabilities_meet_through_signals_not_home_made_registries():
    registries = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
                  for path in sorted((ROOT / "portal").rglob("*.py"))
                  for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                  if "extensions.setdefault(" in line]
    assert not registries, "lists of hooks kept in app.extensions (use portal.core.hooks):\n" + "\n".join(registries)


# --- the reader itself, on a made-up package: it must not be blind to any way of importing ---------

def test_the_reader_sees_local_relative_and_string_imports_and_names_a_circle(tmp_path):
    files = {
        "app/__init__.py": "def create_app():\n    return None\n",
        "app/core/__init__.py": "",
        "app/core/books.py": "def late():\n    from app import create_app\n    return create_app\n",
        "app/alpha/__init__.py": "",
        "app/alpha/service.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.beta import models\n",
        "app/beta/__init__.py": "",
        "app/beta/models.py": "import importlib\n\ndef load():\n    return importlib.import_module('app.gamma.service')\n",
        "app/gamma/__init__.py": "",
        "app/gamma/service.py": "def go():\n    from ..alpha import service\n    return service\n",
        "app/delta.py": "from app.alpha import service as s\nfrom .core import books\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    found = {(i.importer, i.target, i.line) for i in all_imports(tmp_path, "app")}
    assert ("app.core.books", "app", 2) in found                   # function-local, the factory
    assert ("app.alpha.service", "app.beta.models", 3) in found   # under TYPE_CHECKING, a submodule
    assert ("app.beta.models", "app.gamma.service", 4) in found   # importlib with a literal name
    assert ("app.gamma.service", "app.alpha.service", 2) in found  # relative, inside a function
    assert ("app.delta", "app.alpha.service", 1) in found and ("app.delta", "app.core.books", 2) in found
    cycles = import_cycles(all_imports(tmp_path, "app"), ("alpha", "beta", "gamma"), package="app")
    assert len(cycles) == 1, cycles
    assert cycles[0].startswith("alpha -> beta -> gamma -> alpha (")
    assert "app/gamma/service.py:2 imports app.alpha.service" in cycles[0]
    assert import_cycles(all_imports(tmp_path, "app"), ("alpha", "beta"), package="app") == []
