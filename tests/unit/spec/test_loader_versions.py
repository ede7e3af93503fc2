"""The loader spells each dialect's apiVersion itself (so a tree in one dialect imports no
other dialect's models); these are the same strings each dialect's module declares."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from meshwatch.spec import loader, openslo_v1alpha, pyrra, slo_generator, sloth
from meshwatch.spec.openslo import models as openslo

ROOT = Path(__file__).resolve().parents[3]


def test_the_loader_and_the_dialects_agree_on_api_versions() -> None:
    assert (loader.SLOTH_K8S, loader.SLOTH_PROMETHEUS) == (
        sloth.K8S_API_VERSION,
        sloth.PROMETHEUS_V1,
    )
    assert loader.OPENSLO_V1 == openslo.API_VERSION
    assert loader.OPENSLO_V1ALPHA == openslo_v1alpha.API_VERSION
    assert loader.PYRRA == pyrra.API_VERSION
    assert loader.SLO_GENERATOR == slo_generator.API_VERSION


def _modules_after_loading(spec: str) -> set[str]:
    """The modules a fresh interpreter has imported once it has loaded `spec`."""
    code = (
        "import sys\n"
        "from meshwatch.spec import load_paths\n"
        f"load_paths([{spec!r}])\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    return set(out.splitlines()[-1].split())


def test_a_native_tree_loads_no_other_dialect() -> None:
    loaded = _modules_after_loading("rules/slos/shop-checkout.yaml")
    for other in ("sloth", "pyrra", "slo_generator", "openslo"):  # openslo_v1alpha too
        assert not [m for m in loaded if m.startswith(f"meshwatch.spec.{other}")]


def test_a_valid_mesh_spec_needs_no_parser_and_no_spelling_hints() -> None:
    """The PromQL parser is for specs with PromQL; difflib only suggests a misspelt field."""
    lazy = {"difflib", "promql_parser", "meshwatch.promql", "meshwatch.spec.promql"}
    assert lazy & _modules_after_loading("rules/slos/shop-checkout.yaml") == set()
