"""Every generated rule file passes the real `promtool check rules`; rules/ has no drift."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from meshwatch.render.files import drift
from meshwatch.render.rules import FORMATS, SUFFIX, RuleFormat, rule_files
from meshwatch.spec import load_paths
from tests.support.binaries import require_binary
from tests.unit.render.rule_fixtures import all_slos

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "rules"


def _check(promtool: str, paths: list[Path]) -> str:
    proc = subprocess.run(
        [promtool, "check", "rules", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.parametrize("fmt", [pytest.param(f, id=f) for f in FORMATS])
def test_generated_rules_pass_promtool_check(fmt: RuleFormat, tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    paths = []
    for name, text in rule_files(all_slos(), fmt).items():
        document = yaml.safe_load(text)
        if fmt == "prometheus-operator":  # promtool reads the groups under `spec`
            assert document["kind"] == "PrometheusRule"
            text = yaml.safe_dump(document["spec"])
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    out = _check(promtool, paths)
    assert out.count("SUCCESS") == len(paths)


def test_example_rules_are_up_to_date_and_pass_promtool_check() -> None:
    promtool = require_binary("promtool")
    files = rule_files(load_paths([EXAMPLES / "slos"]).slos)
    diffs = drift(EXAMPLES, files, SUFFIX)
    assert not diffs, (
        "rules/ is out of date; run: meshwatch generate rules rules/slos -o rules\n"
        + "".join(diffs)
    )
    _check(promtool, sorted(EXAMPLES.glob(f"*{SUFFIX}")))
