"""The chart's static parts: version, values schema, and the files copied into it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

import meshwatch
from meshwatch.settings import Settings
from tests.support.chart_files import CHART, COPIES, ROOT, sync
from tests.support.golden import updating

VALUE_SETS = sorted((ROOT / "tests" / "golden" / "helm" / "values").glob("*.yaml"))


def _schema() -> dict[str, object]:
    schema: dict[str, object] = json.loads((CHART / "values.schema.json").read_text())
    return schema


def test_app_version_is_the_package_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == meshwatch.__version__


def test_chart_defaults_agree_with_the_settings() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    settings = Settings()
    assert values["leaderElection"]["lockKey"] == settings.leader_lock_key
    assert values["leaderElection"]["enabled"] is settings.leader_election
    assert values["remediation"]["enabled"] is settings.remediation_enabled


def test_the_values_schema_is_draft_07_and_accepts_the_defaults() -> None:
    schema = _schema()
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(yaml.safe_load((CHART / "values.yaml").read_text()))


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in VALUE_SETS])
def test_every_golden_value_set_is_valid(path: Path) -> None:
    jsonschema.Draft7Validator(_schema()).validate(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize(
    ("values", "where"),
    [
        pytest.param({"remediation": {"kinds": ["nginx"]}}, "kinds", id="unknown-route-kind"),
        pytest.param({"replicaCount": 0}, "replicaCount", id="zero-replicas"),
        pytest.param({"config": {"database_url": "x"}}, "config", id="secret-in-config"),
        pytest.param(
            {"leaderElection": {"enabled": True, "method": "lease"}}, "method", id="lease"
        ),
        pytest.param({"replicas": 2}, "replicas", id="misspelt-key"),
    ],
)
def test_the_schema_rejects_bad_values(values: dict[str, object], where: str) -> None:
    errors = list(jsonschema.Draft7Validator(_schema()).iter_errors(values))
    assert errors and where in " ".join(f"{e.json_path} {e.message}" for e in errors)


def _same_files(source: Path, pattern: str, copy: Path) -> None:
    want = {p.name: p.read_bytes() for p in sorted(source.glob(pattern))} if source.is_dir() else {}
    have = {p.name: p.read_bytes() for p in sorted(copy.glob(pattern))}
    assert sorted(have) == sorted(want), f"run pytest --update-golden to copy {source}/{pattern}"
    for name, content in want.items():
        assert have[name] == content, f"{copy / name} is stale: run pytest --update-golden"


@pytest.mark.parametrize(
    ("source", "pattern", "copy"),
    [pytest.param(*copy, id=copy[0]) for copy in COPIES],
)
def test_files_in_the_chart_match_the_generated_ones(source: str, pattern: str, copy: str) -> None:
    if updating():
        sync(ROOT / source, pattern, CHART / copy)
    _same_files(ROOT / source, pattern, CHART / copy)
