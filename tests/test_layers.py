"""The layers of DESIGN.md hold: arrows point down only.

`flows` (and the CLI) may import anything; `stages`, `alignment`, `labeling` and `dashboards` may import
`stages.core` (and themselves) but not one another, with two named exceptions below (`ALLOWED`); `stages.core`
imports nothing of ours above it. The demo corpus generator sits above the stages: it writes pages that their
rules judge, so it reads their segmentation and phrase lists, and only `flows` and the tests import it. Every import is read from
the source (module level and inside functions alike), so a lazy import cannot hide a wrong arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
OURS = ("flows", "stages", "alignment", "labeling", "dashboards", "demo_corpus", "benchmarks", "tests")
# package → the top-level packages of ours it may import besides itself and stages.core
ALLOWED = {
    "stages.core": set(),
    "stages": set(),
    "alignment": set(),
    "labeling": set(),
    "dashboards": {"stages"},  # the report reads the stages' own manifest formats (the bias audit's rows)
    "demo_corpus": {"stages"},  # writes pages the stages' own rules judge (segmentation, phrase lists)
}


def layer_of(module: str) -> str:
    return "stages.core" if module == "stages.core" or module.startswith("stages.core.") else module.split(".")[0]


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name for name in names if name.split(".")[0] in OURS}


def wrong_arrows(package: str) -> list[str]:
    root = REPO_ROOT / package.replace(".", "/")
    found = []
    for path in sorted(root.rglob("*.py")):
        if package == "stages" and path.is_relative_to(REPO_ROOT / "stages" / "core"):
            continue  # stages.core has its own, stricter entry
        for module in imported_modules(path):
            layer = layer_of(module)
            if layer in {package, "stages.core"} or layer in ALLOWED[package]:
                continue
            found.append(f"{path.relative_to(REPO_ROOT)} imports {module}")
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_package_imports_one_above_or_beside_it(package: str) -> None:
    assert wrong_arrows(package) == []


def test_the_check_sees_a_wrong_arrow(tmp_path: Path) -> None:
    """A module importing upwards, at module level or inside a function, is found."""
    source = tmp_path / "module.py"
    source.write_text("import os\nfrom stages.core import manifest\n\ndef f():\n    from flows.cli import main\n")
    assert imported_modules(source) == {"stages.core", "flows.cli"}
    assert layer_of("flows.cli") not in ALLOWED["dashboards"] | {"dashboards", "stages.core"}
