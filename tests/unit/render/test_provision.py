"""File provisioning: Grafana's provider YAML and layout, and ConfigMaps for the chart sidecar."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest
import yaml

from meshwatch import conventions as c
from meshwatch.errors import ProvisionError
from meshwatch.render import provision
from meshwatch.render.dashboards import render_dashboards
from tests.support.example_slos import example_slos

DASHBOARDS = render_dashboards(example_slos())


def test_provider_points_grafana_at_the_dashboards_folder() -> None:
    text = provision.provider(path="/srv/dash")
    assert text.startswith(f"# {c.DASHBOARD_MARKER}\n")
    config = yaml.safe_load(text)
    assert config["apiVersion"] == 1
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    assert provider["folder"] == c.DASHBOARD_FOLDER
    assert provider["allowUiUpdates"] is False
    assert provider["options"] == {"path": "/srv/dash", "foldersFromFilesStructure": False}


def test_layout_has_the_provider_and_every_dashboard_under_its_path() -> None:
    layout = provision.provisioning_layout(DASHBOARDS)
    assert set(layout) == {
        "provisioning/dashboards/meshwatch.yaml",
        *(f"dashboards/meshwatch/{name}" for name in DASHBOARDS),
    }
    assert (
        layout["dashboards/meshwatch/meshwatch-overview.json"]
        == DASHBOARDS["meshwatch-overview.json"]
    )


def test_configmaps_carry_the_sidecar_label_folder_and_one_dashboard_each() -> None:
    documents = list(yaml.safe_load_all(provision.configmaps(DASHBOARDS, namespace="monitoring")))
    assert len(documents) == len(DASHBOARDS)
    for document in documents:
        kubernetes_validate.validate(document, "1.30", strict=True)
        metadata = document["metadata"]
        assert metadata["labels"][c.DASHBOARD_CONFIGMAP_LABEL] == "1"
        assert metadata["annotations"] == {"grafana_folder": c.DASHBOARD_FOLDER}
        assert metadata["namespace"] == "monitoring"
        assert len(metadata["name"]) <= 63
        ((name, text),) = document["data"].items()
        assert text == DASHBOARDS[name]
        assert json.loads(text)["uid"] == name.removesuffix(".json")


def test_configmap_names_are_dns_labels() -> None:
    documents = yaml.safe_load_all(provision.configmaps({"Meshwatch_Svc_A.json": "{}"}))
    (document,) = list(documents)
    assert document["metadata"]["name"] == "grafana-dashboard-meshwatch-svc-a"
    assert "namespace" not in document["metadata"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("{" + " " * provision.CONFIGMAP_MAX_BYTES + "}", "exceeds", id="too-large"),
    ],
)
def test_a_dashboard_too_large_for_a_configmap_is_refused(text: str, message: str) -> None:
    with pytest.raises(ProvisionError, match=message):
        provision.configmaps({"big.json": text})
