"""Layering: geo is pure; screening, summary and publish stand side by side; none reaches up."""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"
ENTRY_POINTS = ("app.api", "app.cli")
SERVICES = ("app.screening", "app.summary", "app.publish")
# package → packages it must not import (at module level or inside functions)
FORBIDDEN = {
    "app.geo": ("app.io", "app.store", "app.raster", "app.config", "app.catalog", *SERVICES),
    "app.io": ("app.store", "app.raster", *SERVICES, *ENTRY_POINTS),
    "app.store": ("app.raster", *SERVICES, *ENTRY_POINTS),
    "app.raster": (*SERVICES, *ENTRY_POINTS),
    "app.screening": ("app.summary", "app.publish", *ENTRY_POINTS),
    "app.summary": ("app.screening", "app.publish", *ENTRY_POINTS),
    "app.publish": ("app.screening", "app.summary", *ENTRY_POINTS),
}
# Imports known to break the rule, each being moved elsewhere; delete a line once it is gone.
KNOWN = {
    ("app.summary.chart", "app.screening.mapimage"),  # fonts and pyplot move to a render module
    ("app.catalog", "app.screening.rules"),  # rule validation belongs beside the catalog
}


def _module(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> set[tuple[str, str]]:
    """(importing module, imported app module) for every import statement under app/."""
    found = set()
    for path in APP.rglob("*.py"):
        if "node_modules" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "app":
                names = [f"app.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found.update((_module(path), n) for n in names if n.startswith("app."))
    return found


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _breaks_rule(importer: str, imported: str) -> bool:
    if importer == "app.catalog":  # read by io and store, so it sits below every service
        return any(_within(imported, p) for p in (*SERVICES, "app.raster", *ENTRY_POINTS))
    return any(
        _within(importer, package) and any(_within(imported, f) for f in forbidden)
        for package, forbidden in FORBIDDEN.items()
    )


def test_no_module_imports_from_a_higher_or_sibling_layer():
    violations = {pair for pair in _imports() if _breaks_rule(*pair)}
    assert violations - KNOWN == set()


@pytest.mark.parametrize("pair", sorted(KNOWN))
def test_known_exceptions_are_still_needed(pair):
    assert pair in _imports(), f"{pair[0]} no longer imports {pair[1]}: drop it from KNOWN"
