"""The layout's import rules, read from the source (nothing is imported or run).

- `spastic.clinical` imports only the standard library and `spastic.clinical`.
- `spastic.models` imports no feature package.
- No module imports another feature package's view module (views are leaves).
- No import cycle between the packages (and the flat modules) of `spastic`.
- No module past 350 lines; the flat folder holds only the shared modules listed below.

Each failure names the file, the line and the import, so the rule is learnt from the message.
"""

import ast
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "spastic"
FEATURES = ("accounts", "patients", "visits", "trends", "reports", "sharing", "exports", "demo")
FLAT = {
    "__init__",
    "access",
    "audit",
    "audit_chain",
    "backup",
    "cli",
    "config",
    "database",
    "errors",
    "extensions",
    "fields",
    "filters",
    "health",
    "security",
}
PURE_ALLOWED = set(sys.stdlib_module_names)
MAX_LINES = 350


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    path: str  # as spastic/<package>/<module>.py
    line: int
    target: str  # the imported module, dotted (a `from X import name` counts X.name if a module)

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.target}"


def source_files(root: Path = PACKAGE) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "migrations" not in p.relative_to(root).parts)


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = ["spastic", *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path = PACKAGE) -> list[Import]:
    """Every import in a file, module-level or inside a function, resolved to a dotted name."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    modules = {module_name(p, root) for p in source_files(root)}
    shown = f"spastic/{path.relative_to(root)}"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(name, shown, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append(Import(name, shown, node.lineno, full if full in modules else base))
    return found


def all_imports(root: Path = PACKAGE) -> list[Import]:
    return [i for path in source_files(root) for i in imports_of(path, root)]


def unit(module: str) -> str:
    """The package a module belongs to (spastic.visits.page -> spastic.visits); flat modules
    are their own unit."""
    parts = module.split(".")
    return ".".join(parts[:2])


def is_view(module: str) -> bool:
    last = module.rpartition(".")[2]
    return last == "views" or last.endswith("_views")


def clinical_problems(imports: list[Import]) -> list[str]:
    return [
        f"{i}: the clinical core imports only the standard library and spastic.clinical"
        for i in imports
        if i.module.startswith("spastic.clinical")
        and not i.target.startswith("spastic.clinical")
        and i.target.split(".")[0] not in PURE_ALLOWED
    ]


def model_problems(imports: list[Import]) -> list[str]:
    return [
        f"{i}: tables (spastic.models) import no feature package"
        for i in imports
        if i.module.startswith("spastic.models")
        and unit(i.target) in {f"spastic.{f}" for f in FEATURES}
    ]


def view_problems(imports: list[Import]) -> list[str]:
    return [
        f"{i}: views are leaves; import the service or presenter it uses instead"
        for i in imports
        if is_view(i.target)
        and i.target.startswith("spastic.")
        and i.module != "spastic"  # create_app registers every blueprint
        and unit(i.module) != unit(i.target)
    ]


def blueprint_problems(root: Path = PACKAGE) -> list[str]:
    """A module that makes a Blueprint is a view module and is named so (views.py, *_views.py)."""
    return [
        f"spastic/{p.relative_to(root)} makes a Blueprint: name it views.py or *_views.py"
        for p in source_files(root)
        if "Blueprint(" in p.read_text()
        and not is_view(module_name(p, root))
        and module_name(p, root) != "spastic.health"
    ]


def cycle_problems(imports: list[Import]) -> list[str]:
    """Find a cycle in the graph of units (packages and flat modules), the root left out."""
    edges: dict[str, dict[str, Import]] = {}
    for i in imports:
        a, b = unit(i.module), unit(i.target)
        if i.target.startswith("spastic.") and a != b and i.module != "spastic":
            edges.setdefault(a, {}).setdefault(b, i)
    problems, done, path = [], set(), []

    def visit(node: str) -> None:
        if node in path:
            loop = [*path[path.index(node) :], node]
            steps = "; ".join(str(edges[x][y]) for x, y in itertools.pairwise(loop))
            problems.append(f"import cycle {' -> '.join(loop)}: {steps}")
            return
        if node in done:
            return
        path.append(node)
        for target in sorted(edges.get(node, {})):
            visit(target)
        path.pop()
        done.add(node)

    for node in sorted(edges):
        visit(node)
    return problems


def size_problems(root: Path = PACKAGE) -> list[str]:
    return [
        f"spastic/{p.relative_to(root)} has {n} lines (limit {MAX_LINES}): split it by "
        "responsibility"
        for p in source_files(root)
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    ]


def flat_problems(root: Path = PACKAGE) -> list[str]:
    return [
        f"spastic/{p.name} is a loose module: put it in the feature package it serves"
        for p in sorted(root.glob("*.py"))
        if p.stem not in FLAT
    ]


RULES = {
    "clinical core is pure": lambda: clinical_problems(all_imports()),
    "models import no feature": lambda: model_problems(all_imports()),
    "views are leaves": lambda: view_problems(all_imports()),
    "blueprints live in view modules": blueprint_problems,
    "no cycle between packages": lambda: cycle_problems(all_imports()),
    "modules stay small": size_problems,
    "flat folder holds shared modules only": flat_problems,
}


@pytest.mark.parametrize("rule", RULES)
def test_layout_rule(rule):
    assert RULES[rule]() == []


def _plant(tmp_path: Path, relative: str, code: str) -> Path:
    """Copy the package to tmp_path and add `code` at the top of one module."""
    import shutil

    copy = tmp_path / "spastic"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("migrations", "__pycache__"))
    target = copy / relative
    target.write_text(code + "\n" + target.read_text())
    return copy


def test_a_flask_import_in_the_clinical_core_is_named(tmp_path):
    copy = _plant(tmp_path, "clinical/scoring.py", "from flask import g")
    problems = clinical_problems(all_imports(copy))
    assert len(problems) == 1
    assert "clinical/scoring.py:1 imports flask" in problems[0]


def test_a_cycle_between_packages_is_named(tmp_path):
    copy = _plant(tmp_path, "patients/regimen.py", "from spastic.trends import presenter")
    problems = cycle_problems(all_imports(copy))
    assert problems
    assert "spastic.patients -> spastic.trends" in problems[0]
    assert "patients/regimen.py:1 imports spastic.trends.presenter" in problems[0]


def test_a_view_imported_by_another_package_is_named(tmp_path):
    copy = _plant(tmp_path, "reports/summary.py", "from spastic.visits import views")
    problems = view_problems(all_imports(copy))
    assert len(problems) == 1
    assert "reports/summary.py:1 imports spastic.visits.views: views are leaves" in problems[0]
