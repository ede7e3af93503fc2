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


def test_a_native_tree_loads_no_other_dialect() -> None:
    code = (
        "import sys\n"
        "from meshwatch.spec import load_paths\n"
        "load_paths(['rules/slos/shop-checkout.yaml'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('meshwatch.spec.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    for other in ("sloth", "pyrra", "slo_generator", "openslo"):
        assert f"meshwatch.spec.{other}" not in out, out
