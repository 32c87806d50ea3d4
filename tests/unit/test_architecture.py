"""The package's folders are its architecture: imports point one way, with no cycle.

Each sub-package of bench may import only those named in ALLOWED (and itself); a module
import cycle anywhere in bench fails; scenario files import only bench.api. Read from
the source with `ast`, so a test, not a reviewer, catches a wrong arrow.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"

# Who may import whom, bottom to top. `_compat` holds the deprecated 0.2 paths.
BOTTOM = {"db", "results", "proc"}  # import nothing else of bench; anything above may import them
ALLOWED: dict[str, set[str]] = {
    "db": set(),
    "results": set(),
    "proc": set(),
    "api": {"db", "results"},
    "measure": {"api", "db", "results"},
    "rtt": {"measure", "api", "db", "results"},
    "scale": {"measure", "api", "db", "results"},
    "run": {"rtt", "scale", "measure", "api", "db", "results"},
    "judge": {"run", "measure", "api", "db", "results"},
    "report": {"judge", "rtt", "measure", "api", "db", "results"},
    "plugin": {"judge", "measure", "api", "db", "results"},
    "replay": {"run", "rtt", "scale", "measure", "api", "db", "results"},
    "cli": {"report", "plugin", "judge", "run", "rtt", "scale", "measure", "api", "db",
            "results", "replay"},
}
TOP_LEVEL = {"__init__", "_compat", "scenario", "load", "service", "drivers", "database"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[str, bool]]:
    """(imported bench module, imported at module level) for every import in the file."""
    found: list[tuple[str, bool]] = []
    tree = ast.parse(path.read_text())
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name == "bench" or name.startswith("bench."):
                found.append((name, id(node) in top_level))
    return found


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in BENCH.rglob("*.py")}


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The bench module an import names (a `from pkg import module` names the module)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def subpackage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_subpackage_has_a_rule_and_says_what_it_owns():
    folders = {p.name for p in BENCH.iterdir() if (p / "__init__.py").exists()}
    assert folders == set(ALLOWED)
    for name in folders:
        doc = ast.get_docstring(ast.parse((BENCH / name / "__init__.py").read_text()))
        assert doc and len(doc) > 80, f"bench/{name}/__init__.py must say what it owns"


def test_subpackages_import_only_what_they_may():
    known = modules()
    wrong = []
    for module, path in known.items():
        here = subpackage(module)
        if here in TOP_LEVEL:
            continue
        for name, _ in imports_of(path):
            target = resolve(name, known)
            if target is None or target == "bench":
                continue
            there = subpackage(target)
            allowed = ALLOWED[here] | (BOTTOM if here not in BOTTOM else set())
            if there != here and there not in allowed:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "imports against the layering:\n" + "\n".join(sorted(set(wrong)))


def test_no_import_cycle_between_modules():
    known = modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in known.items():
        for name, _ in imports_of(path):
            target = resolve(name, known)
            # A package's __init__ importing its own modules is how a package exports.
            if target and target != module and not module.startswith(target + "."):
                graph[module].add(target)
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for module in sorted(known):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_scenario_files_import_only_the_public_api():
    wrong = []
    for path in sorted((ROOT / "scenarios").glob("*.py")):
        for name, _ in imports_of(path):
            if name != "bench.api" and not name.startswith("bench.api."):
                wrong.append(f"{path.name}: {name}")
    # `from bench.api import X` is recorded as bench.api and bench.api.X: both fine.
    assert not wrong, wrong


def test_the_documented_layout_is_the_real_one():
    """docs/layout.md's tree names every sub-package of bench, and no other."""
    text = (ROOT / "docs" / "layout.md").read_text()
    block = text[text.index("<!-- layout:start -->"):text.index("<!-- layout:end -->")]
    documented = re.findall(r"^bench/(\w+)/\s+\S", block, re.M)
    real = sorted(p.name for p in BENCH.iterdir() if (p / "__init__.py").exists())
    assert sorted(documented) == real
    assert len(documented) == len(set(documented))


def test_reading_results_never_imports_sqlalchemy():
    """The command line and the report read results files: SQLAlchemy (a third of a
    second to import) stays out of them, for the report's time budget."""
    code = ("import sys, bench.cli.parser, bench.cli.report, bench.report, bench.api; "
            "from bench.api import PROFILES; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert out.strip() == "[]"


def test_drive_is_the_function_whatever_was_imported_first():
    """`drive` names both a function of bench.api and the module it lives in: importing
    the module first must not leave `from bench.api import drive` the module."""
    code = ("import bench.api.drive, inspect; from bench.api import drive; "
            "print(inspect.isfunction(drive))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert out.strip() == "True"
