"""Write generated files into a folder, or (`check`) report how the folder drifted.

Generated files are byte-stable, so drift is a plain text diff. Files in the folder that
carry meshwatch's generated marker but are no longer produced count as drift too (a removed
SLO must not leave its rules behind); hand-written files are never touched.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

GENERATED_MARKER = "DO NOT EDIT"


def _is_generated(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            return GENERATED_MARKER in handle.read(4096)
    except (OSError, UnicodeDecodeError):
        return False


def drift(directory: Path, files: Mapping[str, str], suffix: str) -> list[str]:
    """Unified diffs between `files` (name -> text) and `directory`; empty when up to date."""
    diffs: list[str] = []
    for name in sorted(files):
        path = directory / name
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        if old != files[name]:
            diffs.append(
                "".join(
                    difflib.unified_diff(
                        old.splitlines(keepends=True),
                        files[name].splitlines(keepends=True),
                        fromfile=str(path) if path.exists() else "/dev/null",
                        tofile=str(path),
                    )
                )
            )
    if directory.is_dir():
        for stale in sorted(directory.glob(f"*{suffix}")):
            if stale.name not in files and _is_generated(stale):
                diffs.append(f"{stale}: generated file is no longer produced (remove it)\n")
    return diffs


def write(directory: Path, files: Mapping[str, str], suffix: str) -> list[Path]:
    """Write every file atomically and remove stale generated files; return what changed."""
    directory.mkdir(parents=True, exist_ok=True)
    changed: list[Path] = []
    for name in sorted(files):
        path = directory / name
        if path.exists() and path.read_text(encoding="utf-8") == files[name]:
            continue
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; Grafana/Prometheus run as other users
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(files[name])
        os.replace(tmp, path)
        changed.append(path)
    for stale in sorted(directory.glob(f"*{suffix}")):
        if stale.name not in files and _is_generated(stale):
            stale.unlink()
            changed.append(stale)
    return changed
