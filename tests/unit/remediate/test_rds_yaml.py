"""Round-trip writes of the user's RDS file: a GitOps diff shows only meshwatch's change."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml

from meshwatch.remediate import envoy_rds, rds_yaml
from meshwatch.remediate.base import Retries
from meshwatch.remediate.envoy_rds import RouteRef

COMMENTED = Path(__file__).parents[2] / "testdata" / "envoy" / "commented-rds.yaml"
REF = RouteRef("local_route", "svc", "main")


def changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def shift(text: str, **kwargs: object) -> str:
    document = rds_yaml.load(text.encode())
    options: dict[str, object] = {"weights": None, "retries": None, "restore_retries": False}
    options.update(kwargs)
    return document.dump(envoy_rds.edit(document.data, REF, **options)).decode()  # type: ignore[arg-type]


def test_a_weight_shift_changes_only_the_weights_and_the_version() -> None:
    before = COMMENTED.read_text()
    after = shift(before, weights={"v1": 90, "v2": 10})
    assert changed_lines(before, after) == [
        '-version_info: "41"   # bumped on every change',
        '+version_info: "42"   # bumped on every change',
        "-                    weight: 50",
        "+                    weight: 90",
        "-                    weight: 50",
        "+                    weight: 10",
    ]
    assert yaml.safe_load(after)["version_info"] == "42"


def test_tighten_then_restore_gives_back_the_file_but_its_version() -> None:
    before = COMMENTED.read_text()
    tightened = shift(before, retries=Retries())
    route = yaml.safe_load(tightened)["resources"][0]["virtual_hosts"][0]["routes"][1]
    assert route["route"]["retry_policy"]["refresh_cluster_on_retry"] is True
    assert route["metadata"]["filter_metadata"]["meshwatch"]["original_retry_policy"] == {
        "retry_on": "gateway-error",
        "num_retries": 1,
    }
    restored = shift(tightened, restore_retries=True)
    assert changed_lines(before, restored) == [
        '-version_info: "41"   # bumped on every change',
        '+version_info: "43"   # bumped on every change',
    ]


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param("resources:\n- name: a\n  weight: 1\n", id="dash-at-parent-column"),
        pytest.param("resources:\n    - name: a\n      weight: 1\n", id="dash-indented-4"),
        pytest.param("top:\n    nested:\n        deeper: 1\n", id="mapping-indent-4"),
    ],
)
def test_the_original_indentation_is_kept(layout: str) -> None:
    document = rds_yaml.load(layout.encode())
    assert document.dump(document.data).decode() == layout


def test_flow_style_and_quoting_are_kept() -> None:
    text = "version_info: 'v7'\nclusters: [{name: v1, weight: 50}, {name: \"v2\", weight: 50}]\n"
    document = rds_yaml.load(text.encode())
    document.data["clusters"][0]["weight"] = 60
    document.data["clusters"][1]["weight"] = 40
    document.data["version_info"] = envoy_rds._same_kind(document.data["version_info"], "v8")
    assert document.dump(document.data).decode() == (
        "version_info: 'v8'\nclusters: [{name: v1, weight: 60}, {name: \"v2\", weight: 40}]\n"
    )


def test_bad_yaml_is_a_yaml_error() -> None:
    with pytest.raises(rds_yaml.YAMLError):
        rds_yaml.load(b"resources: [unclosed\n")
