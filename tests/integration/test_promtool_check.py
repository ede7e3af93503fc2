"""Every generated rule file passes the real `promtool check rules`; rules/ has no drift."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from meshwatch.model import (
    SLO,
    Alerting,
    LatencySLI,
    Matcher,
    QuerySLI,
    RatioSLI,
    RawSLI,
    Selector,
    Window,
)
from meshwatch.render.files import drift, write
from meshwatch.render.rules import FORMATS, SUFFIX, RuleFormat, rule_files
from meshwatch.spec import load_paths
from tests.integration.promtool_run import check_rules
from tests.support.binaries import require_binary
from tests.support.golden import updating
from tests.unit.render.rule_fixtures import all_slos

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "rules"


def _check(promtool: str, paths: list[Path]) -> str:
    proc = check_rules(promtool, paths)
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
    if updating():  # rules/ is regenerated with the golden files
        write(EXAMPLES, files, SUFFIX)
    diffs = drift(EXAMPLES, files, SUFFIX)
    assert not diffs, (
        "rules/ is out of date; run: meshwatch generate rules rules/slos -o rules"
        " (or pytest --update-golden)\n" + "".join(diffs)
    )
    _check(promtool, sorted(EXAMPLES.glob(f"*{SUFFIX}")))


def _random_slo(rng: random.Random, n: int) -> SLO:
    """An SLO with awkward names, label values and matchers (quotes, backslashes, unicode)."""
    awkward = ['a"b', "c\\d", "é ü", "x}y{", "p|q.*", "new\nline", "tab\there", "#hash"]
    value = rng.choice(awkward)
    total = Selector("req_total", (Matcher("job", rng.choice(["=", "=~", "!="]), value),))
    bad = total.with_matchers(Matcher("code", "=~", "5..|4[0-9]{2}"))
    window = "[{{.window}}]"
    sli = rng.choice(
        [
            RatioSLI(total=total, bad=bad),
            RatioSLI(total=total, good=total.with_matchers(Matcher("code", "!~", "5.."))),
            LatencySLI("lat_seconds", rng.choice([0.005, 0.3, 2.5, 1e6]), total.matchers),
            QuerySLI(
                total=f"sum(rate({total.promql()}{window}))",
                bad=f"sum(rate({bad.promql()}[{{{{ .window }}}}]))",
            ),
            RawSLI(f"1 - avg_over_time(up{{job={json.dumps(value)}}}{window})"),
        ]
    )
    days = rng.choice([1, 7, 28, 30, 90])
    return SLO(
        service=f"svc-{n % 7}",
        name=f"slo{n}",
        objective=rng.choice([90.0, 99.0, 99.5, 99.9, 99.95, 99.999]),
        window=Window.rolling(timedelta(days=days)),
        sli=sli,
        labels=(("team", value), ("tier", str(n))),
        alerting=Alerting(
            labels=(("route", value),),
            annotations=(("note", f"{value} {{{{ $labels.job }}}}"),),
            runbook_url=f"https://runbooks.example/{n}?q={value}",
            page=rng.random() > 0.2,
            ticket=rng.random() > 0.2,
        ),
    )


def test_awkward_random_slos_pass_promtool_check(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    rng = random.Random(1)
    files = rule_files([_random_slo(rng, n) for n in range(120)])
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        yaml.safe_load(text)  # and it is YAML
    out = _check(promtool, sorted(tmp_path.glob("*.yaml")))
    assert out.count("SUCCESS") == len(files) == 7
