"""Every dialect through the real CLI and the real promtool.

The corpus (tests/testdata/dialects, documents written for these tests after the published
examples of OpenSLO, Sloth, Pyrra and slo-generator) goes through `meshwatch validate`,
`meshwatch generate rules` and `promtool check rules`; then the same SLO written in each
dialect (same-slo/) is evaluated by `promtool test rules` on one traffic scenario, all seven
at once, against one expectation per minute: they alert at the same times, and at the times
the Workbook windows give for a 28-day period (computed independently, `burn_oracle`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from meshwatch.spec import LoadOptions, load_paths
from tests.integration.burn_oracle import Oracle, Pair, Traffic
from tests.integration.promtool_run import (
    assert_passes,
    burn_checks,
    check_rules,
    run_promtool,
    traffic_series,
)
from tests.support.binaries import require_binary

pytestmark = pytest.mark.integration

DIALECTS = Path(__file__).resolve().parents[1] / "testdata" / "dialects"
PERIOD_MIN = 28 * 24 * 60
BUDGET = 0.001


def _meshwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from meshwatch.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _workbook_28d() -> tuple[Pair, ...]:
    """The Workbook's budget shares (2 % in 1h, 5 % in 6h, 10 % in 1d and in 3d) over 28 d."""
    pairs = []
    for severity, long, share in (("page", 60, 0.02), ("page", 360, 0.05),
                                  ("ticket", 1440, 0.1), ("ticket", 4320, 0.1)):  # fmt: skip
        factor = share * PERIOD_MIN / long
        pairs.append(Pair(severity, long, long // 12, factor))
    return tuple(pairs)


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool")


def test_every_dialect_validates_and_generates_rules_promtool_accepts(
    promtool: str, tmp_path: Path
) -> None:
    validated = _meshwatch("validate", "--sloth-period", "28d", str(DIALECTS))
    assert validated.returncode == 0, validated.stderr
    assert validated.stdout.strip() == "18 SLOs in 12 files: ok"
    out = tmp_path / "rules"
    generated = _meshwatch(
        "generate", "rules", "--sloth-period", "28d", str(DIALECTS), "-o", str(out)
    )
    assert generated.returncode == 0, generated.stderr
    files = sorted(out.glob("*.yaml"))
    assert len(files) == 12  # one per service
    checked = check_rules(promtool, files)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_same_slo_in_every_dialect_alerts_at_the_same_times(
    promtool: str, tmp_path: Path
) -> None:
    slos = load_paths([DIALECTS / "same-slo"], LoadOptions(sloth_period="28d")).slos
    assert len({slo.source.format for slo in slos if slo.source is not None}) == 6
    start, stop = 120, 130  # a total outage from minute 120 to 130, after 2h of clean traffic
    traffic = Traffic().add(start, 1000, 0).add(stop - start, 1000, 1000).add(60, 1000, 0)
    oracle = Oracle(traffic, budget=BUDGET, pairs=_workbook_28d(), period=PERIOD_MIN)
    assert oracle.first("page", start - 20, start + 20) == start + 1
    assert oracle.first("page", stop, stop + 60, firing=False) == stop + 30
    assert oracle.first("ticket", start - 20, start + 20) is not None
    proc = run_promtool(
        promtool,
        tmp_path,
        slos,
        [
            {
                "name": "same-slo-every-dialect",
                "interval": "1m",
                "input_series": traffic_series(traffic),
                "alert_rule_test": burn_checks(slos, oracle, range(start - 10, stop + 60)),
            }
        ],
    )
    assert_passes(proc)
