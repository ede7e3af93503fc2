"""SLO specs (native `meshwatch/v1`, Sloth, OpenSLO v1) -> validated domain SLOs.

    load_paths(["rules/slos"])      files or folders (*.yaml / *.yml, recursive, sorted)
    load_text(text, "inline.yaml")  one YAML stream

Both read every document, map it to `meshwatch.model.SLO` objects and raise `SpecError` with
every error found (each `FILE:LINE: field.path: message`); warnings come back with the SLOs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from meshwatch.bulk import without_cyclic_gc
from meshwatch.errors import Problem, SpecError
from meshwatch.model import SLO
from meshwatch.spec.checks import Found
from meshwatch.spec.loader import load_documents, read_paths, read_text
from meshwatch.spec.options import LoadOptions
from meshwatch.spec.problems import Problems

__all__ = ["LoadOptions", "LoadResult", "load_paths", "load_text"]


@dataclass(frozen=True)
class LoadResult:
    """The SLOs of a load, in file and document order, and the warnings about them."""

    slos: tuple[SLO, ...]
    warnings: tuple[Problem, ...]


def load_paths(paths: Sequence[str | Path], options: LoadOptions | None = None) -> LoadResult:
    """Load every spec under `paths`; raise SpecError listing every error of every file."""
    options = options or LoadOptions()
    problems = Problems()
    with without_cyclic_gc(kept=True):  # the SLOs live as long as the process
        found = load_documents(read_paths(paths, problems, options), problems, options)
        return _finish(found, problems)


def load_text(text: str, filename: str, options: LoadOptions | None = None) -> LoadResult:
    """Load one YAML stream (one or more documents) as if read from `filename`."""
    options = options or LoadOptions()
    problems = Problems()
    with without_cyclic_gc(kept=True):  # the SLOs live as long as the process
        found = load_documents(read_text(text, filename, problems, options), problems, options)
        return _finish(found, problems)


def _finish(found: list[Found], problems: Problems) -> LoadResult:
    """The result, or SpecError listing every error."""
    # One problem once (a shared SLI document is checked for every SLO using it), by place.
    unique = sorted(dict.fromkeys(problems.items), key=lambda p: (p.file, p.line))
    errors = [p for p in unique if p.severity == "error"]
    slos = tuple(f.slo for f in found)
    if errors:
        raise SpecError(errors)
    return LoadResult(slos, tuple(p for p in unique if p.severity == "warning"))
