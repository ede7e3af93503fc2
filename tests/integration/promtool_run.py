"""Write generated rules and a `promtool test rules` suite into a folder, run the real promtool."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from benchmarks.sloth_rules import title as sloth_title
from meshwatch.model import SLO
from meshwatch.render.rule_types import AlertingRule
from meshwatch.render.rules import rule_files, slo_groups
from tests.integration.burn_oracle import Oracle, Traffic, series_values


def write_rules(folder: Path, slos: Sequence[SLO]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in rule_files(slos).items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def group_order(slos: Iterable[SLO]) -> list[str]:
    """Evaluate each SLO's groups in file order: promtool otherwise picks a random order."""
    return [g.name for slo in slos for g in slo_groups(slo)]


def alert_rule(slo: SLO, severity: str) -> AlertingRule:
    for group in slo_groups(slo):
        for rule in group.alerts():
            if rule.alert != "MeshwatchSLIAbsent" and (
                rule.labels.get("meshwatch_severity") == severity
            ):
                return rule
    raise AssertionError(f"no {severity} alert for {slo.id}")


def expected_burn_alert(slo: SLO, severity: str, burn: float) -> dict[str, Any]:
    """The alert promtool must report: rule labels over series labels, templates rendered."""
    rule = alert_rule(slo, severity)
    labels = {**dict(slo.labels), "meshwatch_service": slo.service, "meshwatch_slo": slo.name}
    labels.update(rule.labels)
    annotations = {
        key: value.replace('{{ printf "%.2f" $value }}', f"{burn:.2f}").replace(
            '{{ printf "%.1f" $value }}', f"{burn:.1f}"
        )
        for key, value in rule.annotations.items()
    }
    return {"exp_labels": labels, "exp_annotations": annotations}


def burn_checks(
    slos: Sequence[SLO], oracle: Oracle, minutes: Iterable[int]
) -> list[dict[str, Any]]:
    """One alert_rule_test per minute and alert name: exactly the burn alerts the oracle says
    are firing (every SLO here sees the same traffic)."""
    by_name: dict[str, list[SLO]] = {}
    for slo in slos:
        by_name.setdefault(alert_rule(slo, "page").alert, []).append(slo)
    checks = []
    for t in minutes:
        for name, named in by_name.items():
            expected = [
                expected_burn_alert(slo, severity, burn)
                for slo in named
                for severity in ("page", "ticket")
                if (burn := oracle.firing(t, severity)) is not None
            ]
            checks.append({"eval_time": f"{t}m", "alertname": name, "exp_alerts": expected})
    return checks


def sloth_checks(
    slo: SLO, oracle: Oracle, minutes: Iterable[int], name: str = "SlothErrorBudgetBurn"
) -> list[dict[str, Any]]:
    """The alerts of the Sloth-shaped rules (benchmarks/sloth_rules.py) for one SLO: those of
    the no-guard oracle, with Sloth's labels and its `title` annotation."""
    labels = {
        **dict(slo.labels),
        "sloth_id": f"{slo.service}-{slo.name}",
        "sloth_service": slo.service,
        "sloth_slo": slo.name,
    }
    return [
        {
            "eval_time": f"{t}m",
            "alertname": name,
            "exp_alerts": [
                {
                    "exp_labels": {**labels, "sloth_severity": severity},
                    "exp_annotations": {"title": sloth_title(slo, severity)},
                }
                for severity in ("page", "ticket")
                if oracle.firing(t, severity) is not None
            ],
        }
        for t in minutes
    ]


def traffic_series(
    traffic: Traffic, metric: str = "http_requests_total", job: str = "checkout"
) -> list[dict[str, str]]:
    good, bad = traffic.counters()
    return [
        {"series": f'{metric}{{job="{job}",code="200"}}', "values": series_values(good)},
        {"series": f'{metric}{{job="{job}",code="500"}}', "values": series_values(bad)},
    ]


def run_promtool(
    promtool: str,
    folder: Path,
    slos: Sequence[SLO],
    tests: list[dict[str, Any]],
    evaluation_interval: str = "1m",
    extra_groups: Sequence[dict[str, Any]] = (),
) -> subprocess.CompletedProcess[str]:
    """`extra_groups` (e.g. Sloth-shaped rules) are loaded too, evaluated after meshwatch's."""
    write_rules(folder / "rules", slos)
    if extra_groups:
        text = yaml.safe_dump({"groups": list(extra_groups)}, sort_keys=False)
        (folder / "rules" / "zz-extra.yaml").write_text(text, encoding="utf-8")
    suite = {
        "rule_files": ["rules/*.yaml"],
        "evaluation_interval": evaluation_interval,
        "group_eval_order": group_order(slos) + [str(g["name"]) for g in extra_groups],
        "tests": tests,
    }
    (folder / "test.yaml").write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return subprocess.run(
        [promtool, "test", "rules", "test.yaml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def check_rules(promtool: str, paths: Iterable[Path]) -> subprocess.CompletedProcess[str]:
    """`promtool check rules` on the files; the verdict and reasons are the caller's to read."""
    return subprocess.run(
        [promtool, "check", "rules", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_passes(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, (
        f"promtool test rules failed:\n{proc.stdout[-6000:]}\n{proc.stderr}"
    )
