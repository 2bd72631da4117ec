"""The package layering in pyproject.toml ([tool.importlinter]) holds: `lint-imports` passes."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_imports_follow_the_layers() -> None:
    """No package imports a higher layer or a sibling service (pyproject.toml contract)."""
    # lint-imports puts its working directory on sys.path: it analyses this checkout's app/.
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
