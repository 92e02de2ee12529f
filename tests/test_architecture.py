"""The package's layers: imports point downwards only, click stays in the CLI, modules stay small.

Walks every module's import statements (module level and inside functions) with ``ast``, so a
lazy import that points upwards fails as surely as a top-level one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cohortops"

# Lower number = lower layer. A module may import its own layer or any lower one.
LAYERS: dict[str, int] = {
    "errors": 0,
    "membership": 0,  # MemberOp and IdArray, shared by braze, state, diff, plan and apply
    "__init__": 0,
    "__main__": 99,
    "config": 1,
    "http": 2,
    "braze": 3,
    "lytics": 3,
    "notify": 3,
    "sources": 4,
    "state": 5,
    "diff": 6,
    "plan": 7,
    "apply": 8,
    "operations": 9,
    "ui": 10,
    "cli": 11,
    "starter": 1,
    "schemas": 0,
}
# The sandbox is a server of its own: it may use only the bottom layer, and nothing but the
# operations that start it (the demo) and the CLI may import it.
SANDBOX_MAY_IMPORT = {"errors", "__init__", "sandbox"}
MAY_IMPORT_SANDBOX = {"operations", "cli", "sandbox"}
MAX_LINES = 400


def _top(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "cohortops":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def _modules() -> list[tuple[Path, str]]:
    result = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        result.append((path, rel.parts[0].removesuffix(".py")))
    return result


def test_every_top_level_name_has_a_layer() -> None:
    unknown = {own for _, own in _modules()} - set(LAYERS) - {"sandbox"}
    assert not unknown, f"give these a layer in LAYERS: {sorted(unknown)}"


def test_imports_point_downwards_only() -> None:
    upward: list[str] = []
    for path, own in _modules():
        for line, module in _imports(path):
            target = _top(module)
            if target is None or target == own:
                continue
            where = f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
            if own == "sandbox":
                if target not in SANDBOX_MAY_IMPORT:
                    upward.append(f"{where} (the sandbox stands alone)")
                continue
            if target == "sandbox":
                if own not in MAY_IMPORT_SANDBOX:
                    upward.append(f"{where} (only operations and cli start the sandbox)")
                continue
            if target in LAYERS and LAYERS[target] > LAYERS[own]:
                upward.append(f"{where} ({own} is below {target})")
    assert not upward, "imports pointing upwards:\n" + "\n".join(upward)


def test_click_is_imported_only_by_the_cli() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path, own in _modules()
        for line, module in _imports(path)
        if module.split(".")[0] == "click" and own != "cli"
    ]
    assert not offenders, offenders


def test_no_module_is_over_the_size_limit() -> None:
    big = [
        f"{path.relative_to(PACKAGE.parent)}: {n} lines"
        for path, _ in _modules()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    ]
    assert not big, f"split these along a seam (limit {MAX_LINES} lines): {big}"


def test_the_walker_sees_an_upward_import(tmp_path: Path) -> None:
    # The rule must be able to fail: a planner module importing the applier is caught.
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from cohortops.apply.applier import Applier\n")
    targets = [_top(m) for _, m in _imports(bad)]
    assert "apply" in targets and LAYERS["apply"] > LAYERS["plan"]


def test_the_repository_cites_nothing_outside_it() -> None:
    root = PACKAGE.parent
    texts = [root / "README.md", *sorted((root / "docs").glob("*.md")), *PACKAGE.rglob("*.py")]
    outside = [
        str(p.relative_to(root))
        for p in texts
        if any(ref in p.read_text() for ref in ("perf-notes", "shared/", "../shared"))
    ]
    assert not outside, f"copy the facts into docs/ instead of citing: {outside}"


def test_the_readme_layer_table_matches_the_enforced_layers() -> None:
    readme = (PACKAGE.parent / "README.md").read_text()
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \|", readme, flags=re.M)
    shown = {name.strip("`/"): int(n) for n, cell in rows for name in re.findall(r"`[^`]+`", cell)}
    packages = {
        p for p, layer in LAYERS.items() if p not in {"__init__", "__main__", "schemas", "starter"}
    }
    assert shown == {p: LAYERS[p] for p in packages}
