"""File provisioning for the generated dashboards: Grafana's provisioning folder and ConfigMaps.

Two ways to get dashboards into Grafana without its HTTP API:

* `provisioning_layout`: a dashboard provider (`provisioning/dashboards/meshwatch.yaml`) and
  the JSON files it points at (`dashboards/meshwatch/<uid>.json`), to copy under Grafana's
  `/etc/grafana` and `/var/lib/grafana` (paths are parameters);
* `configmaps`: one ConfigMap per dashboard labelled `grafana_dashboard: "1"`, the label the
  Grafana Helm chart's dashboard sidecar watches, with the folder in `grafana_folder`.

Both take the dashboards as file name -> JSON text (`dashboards.render_dashboards`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePosixPath

import yaml

from meshwatch import conventions as c
from meshwatch.errors import ProvisionError

DEFAULT_DASHBOARDS_PATH = "/var/lib/grafana/dashboards/meshwatch"
PROVIDER_FILE = "provisioning/dashboards/meshwatch.yaml"
CONFIGMAP_MAX_BYTES = 1_048_576  # Kubernetes' limit on a ConfigMap's data
FOLDER_ANNOTATION = "grafana_folder"  # kube-prometheus-stack sidecar `folderAnnotation`


def _yaml(document: object) -> str:
    header = f"# {c.DASHBOARD_MARKER}\n"
    return header + yaml.safe_dump(document, sort_keys=True, default_flow_style=False)


def provider(folder: str = c.DASHBOARD_FOLDER, path: str = DEFAULT_DASHBOARDS_PATH) -> str:
    """Grafana's dashboard provider config (apiVersion 1) for the meshwatch folder."""
    return _yaml(
        {
            "apiVersion": 1,
            "providers": [
                {
                    "name": "meshwatch",
                    "orgId": 1,
                    "folder": folder,
                    "folderUid": c.DASHBOARD_FOLDER,
                    "type": "file",
                    "disableDeletion": False,
                    "allowUiUpdates": False,
                    "updateIntervalSeconds": 30,
                    "options": {"path": path, "foldersFromFilesStructure": False},
                }
            ],
        }
    )


def provisioning_layout(
    dashboards: Mapping[str, str],
    *,
    folder: str = c.DASHBOARD_FOLDER,
    path: str = DEFAULT_DASHBOARDS_PATH,
) -> dict[str, str]:
    """Relative path -> text: the provider file and `dashboards/<folder>/<uid>.json`."""
    files = {PROVIDER_FILE: provider(folder, path)}
    base = PurePosixPath("dashboards") / PurePosixPath(path).name
    for name, text in dashboards.items():
        files[str(base / name)] = text
    return files


def _configmap_name(filename: str) -> str:
    """`meshwatch-svc-checkout.json` -> `grafana-dashboard-meshwatch-svc-checkout` (DNS-1123)."""
    stem = filename.removesuffix(".json").lower().replace("_", "-")
    return f"grafana-dashboard-{stem}"[:63].rstrip("-")


def configmaps(
    dashboards: Mapping[str, str],
    *,
    namespace: str | None = None,
    folder: str = c.DASHBOARD_FOLDER,
) -> str:
    """One ConfigMap per dashboard for the Grafana chart's sidecar, as multi-document YAML."""
    documents = []
    for name in sorted(dashboards):
        text = dashboards[name]
        if len(text.encode()) > CONFIGMAP_MAX_BYTES:
            raise ProvisionError(f"{name}: {len(text.encode())} bytes exceeds a ConfigMap's 1 MiB")
        json.loads(text)  # never ship a file Grafana cannot parse
        metadata: dict[str, object] = {
            "name": _configmap_name(name),
            "labels": {
                c.DASHBOARD_CONFIGMAP_LABEL: "1",
                "app.kubernetes.io/managed-by": "meshwatch",
            },
            "annotations": {FOLDER_ANNOTATION: folder},
        }
        if namespace:
            metadata["namespace"] = namespace
        documents.append(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {name: text}}
        )
    header = f"# {c.DASHBOARD_MARKER}\n"
    return header + yaml.safe_dump_all(documents, sort_keys=True, width=1_000_000)
