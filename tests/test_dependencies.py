"""The product imports only what a production install brings: its runtime dependencies and theirs.

A dev-only package imported by product code passes every test (the dev install has it) and fails the first
`./scripts/run` on a fresh machine with ModuleNotFoundError: httpx did, once, through web/relay_http.py.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("server", "collab", "persistence", "auth", "web")


def _imported_modules(tree: ast.AST) -> Iterator[str]:
    """Top-level names of every import that runs (those under `if TYPE_CHECKING:` never do)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def _third_party_imports() -> dict[str, set[Path]]:
    found: dict[str, set[Path]] = {}
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            for name in _imported_modules(ast.parse(path.read_text(), str(path))):
                if name not in sys.stdlib_module_names and name not in PRODUCT and name != "__future__":
                    found.setdefault(name, set()).add(path.relative_to(ROOT))
    return found


def _runtime_closure() -> set[str]:
    """Normalised names of the runtime dependencies and, transitively, of theirs (with the extras asked)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pending = [Requirement(text) for text in project["dependencies"]]
    seen: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = _normalised(requirement.name)
        key = name + "[" + ",".join(sorted(requirement.extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        seen.add(name)
        for text in metadata.requires(requirement.name) or []:
            child = Requirement(text)
            environments = [{"extra": extra} for extra in requirement.extras] or [{"extra": ""}]
            if child.marker is None or any(child.marker.evaluate(env) for env in environments):
                pending.append(child)
    return seen


def _normalised(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def test_product_code_imports_only_runtime_dependencies() -> None:
    distributions = metadata.packages_distributions()
    runtime = _runtime_closure()
    missing = {
        module: sorted(str(path) for path in paths)
        for module, paths in _third_party_imports().items()
        if not any(_normalised(dist) in runtime for dist in distributions.get(module, [module]))
    }
    assert not missing, f"imported by product code but not a runtime dependency: {missing}"
