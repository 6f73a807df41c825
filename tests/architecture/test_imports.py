"""What may import what: the areas of ``workspace`` form layers, and an import only goes down.

A lower layer never imports a higher one, and two areas of the same layer never import each other,
so the picture of the imports has no loops (README, "Progettazione"). Imports under
``if TYPE_CHECKING:`` are for annotations only and do not count; imports inside functions do.
"""
from __future__ import annotations

import ast
from pathlib import Path

import workspace

PACKAGE = Path(workspace.__file__).parent

#: Lowest first. A module at the package root (db, record, realtime, ...) is "foundation".
LAYERS: list[set[str]] = [
    {"foundation"},
    {"api", "exports"},
    {"reference"},
    {"accounts", "core"},
    {"tavoli", "audit", "privacy"},
    {"needs"},
    {"voting"},
    {"procedures"},
    {"minutes"},
    {"planning"},
    {"demo"},
]
#: Modules that assemble everything and sit above all layers.
TOP = {"workspace", "workspace.cli", "workspace.entry", "workspace.wsgi", "workspace.models"}


def _area(module: str) -> str:
    parts = module.split(".")
    if module in TOP:
        return "top"
    if len(parts) >= 2 and (PACKAGE / parts[1]).is_dir():
        return parts[1]
    return "foundation"


def _layer(area: str) -> int:
    if area == "top":
        return len(LAYERS)
    for index, areas in enumerate(LAYERS):
        if area in areas:
            return index
    raise AssertionError(f"area «{area}» is in no layer: add it to LAYERS in {__file__}")


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    name = ".".join(rel.parts)
    return name.removesuffix(".__init__")


def imports() -> list[tuple[str, str, str, int]]:
    """(importing module, imported module, file, line) for every import of a workspace module."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_lines(tree)
        source = _module_name(path)
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "workspace":
                    targets = [f"workspace.{a.name}" for a in node.names]
                elif node.module.startswith("workspace."):
                    targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("workspace.")]
            for target in targets:
                found.append((source, target, str(path.relative_to(PACKAGE.parent)), node.lineno))
    return found


def test_every_import_goes_down_the_layers():
    wrong = []
    for source, target, where, line in imports():
        a, b = _area(source), _area(target)
        if a == b or b == "foundation" and a == "foundation":
            continue
        if _layer(b) >= _layer(a) and not (b == "foundation"):
            wrong.append(f"{where}:{line}: {a} imports {b} ({target})")
    assert not wrong, "imports that go up or sideways between areas:\n" + "\n".join(wrong)


def test_foundation_modules_have_no_cycles():
    """Modules at the package root import each other only without loops."""
    graph: dict[str, set[str]] = {}
    for source, target, _where, _line in imports():
        if _area(source) == _area(target) == "foundation" and source != target:
            graph.setdefault(source, set()).add(target)

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            for nxt in graph.get(stack.pop(), ()):
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    loops = sorted({tuple(sorted((a, b))) for a, targets in graph.items() for b in targets if reaches(b, a)})
    assert not loops, f"import loops among foundation modules: {loops}"


def test_the_checker_sees_a_violation():
    """The rule is not vacuous: an import from a lower to a higher layer is reported."""
    assert _layer(_area("workspace.needs.service")) > _layer(_area("workspace.tavoli.service"))
    assert _area("workspace.record") == "foundation" and _area("workspace") == "top"
