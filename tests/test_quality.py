"""Static checks are part of the test suite: ruff (lint + format), mypy strict, import-linter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; install the [dev] extra")
    return path


def _run(*cmd: str) -> None:
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.parametrize(
    "cmd",
    [
        pytest.param(("ruff", "check", "."), id="ruff-lint"),
        pytest.param(("ruff", "format", "--check", "."), id="ruff-format"),
        pytest.param(("mypy",), id="mypy-strict"),
        pytest.param(("lint-imports",), id="import-layers"),
    ],
)
def test_static_check(cmd: tuple[str, ...]) -> None:
    _run(_tool(cmd[0]), *cmd[1:])


MAX_MODULE_LINES = 350


def test_modules_stay_small() -> None:
    """Small pieces (STYLE.md 9): no module of meshwatch/ over MAX_MODULE_LINES lines."""
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted((ROOT / "meshwatch").rglob("*.py"))
    }
    over = {p: n for p, n in sizes.items() if n > MAX_MODULE_LINES}
    assert not over, over


def test_no_test_skips_on_an_import_error() -> None:
    """A missing module is a broken checkout or a missing dependency, never a reason to skip:
    no `importorskip`, no `except ImportError` (or ModuleNotFoundError) in the tests."""
    import ast

    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "importorskip":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: importorskip")
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                names = {n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)}
                if names & {"ImportError", "ModuleNotFoundError"}:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: except {names}")
    assert not found, found
