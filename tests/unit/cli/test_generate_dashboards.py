"""`meshwatch generate dashboards`: writes, reports drift with exit 1, provisioning outputs."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from meshwatch.cli import app

ROOT = Path(__file__).resolve().parents[3]
SLOS = str(ROOT / "rules" / "slos")


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["generate", "dashboards", *args])
    return result.exit_code, result.stdout, result.stderr


def test_writes_then_check_passes_then_drift_fails(tmp_path: Path) -> None:
    out = tmp_path / "dashboards"
    code, stdout, _ = _run(SLOS, "-o", str(out))
    assert code == 0 and "10 dashboards, 10 changed" in stdout
    assert _run(SLOS, "-o", str(out), "--check")[0] == 0
    overview = out / "meshwatch-overview.json"
    overview.write_text(overview.read_text().replace("SLO overview", "SLO overveiw"))
    code, stdout, stderr = _run(SLOS, "-o", str(out), "--check")
    assert code == 1
    assert "out of date" in stdout and '-  "title": "meshwatch / SLO overveiw"' in stderr


def test_a_removed_slo_leaves_no_stale_dashboard(tmp_path: Path) -> None:
    out = tmp_path / "dashboards"
    _run(SLOS, "-o", str(out))
    _run(str(ROOT / "rules" / "slos" / "web-linkerd.yaml"), "-o", str(out))
    assert sorted(p.name for p in out.glob("*.json")) == [
        "meshwatch-mesh.json",
        "meshwatch-overview.json",
        "meshwatch-svc-web.json",
    ]


def test_provisioning_layout_and_configmaps(tmp_path: Path) -> None:
    code, _, _ = _run(
        SLOS,
        "-o", str(tmp_path / "d"),
        "--provisioning", str(tmp_path / "grafana"),
        "--configmaps", str(tmp_path / "cm.yaml"),
        "--namespace", "monitoring",
    )  # fmt: skip
    assert code == 0
    provider = yaml.safe_load(
        (tmp_path / "grafana/provisioning/dashboards/meshwatch.yaml").read_text()
    )
    assert provider["providers"][0]["type"] == "file"
    layout = sorted(p.name for p in (tmp_path / "grafana/dashboards/meshwatch").glob("*.json"))
    assert layout == sorted(p.name for p in (tmp_path / "d").glob("*.json"))
    maps = list(yaml.safe_load_all((tmp_path / "cm.yaml").read_text()))
    assert len(maps) == 10 and all(m["metadata"]["namespace"] == "monitoring" for m in maps)
    for m in maps:
        (text,) = m["data"].values()
        json.loads(text)


def test_an_invalid_spec_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: meshwatch/v1\nkind: ServiceLevels\nservice: x\nslos: 3\n")
    code, _, stderr = _run(str(bad), "-o", str(tmp_path / "d"))
    assert code == 1 and "bad.yaml:" in stderr
    assert not (tmp_path / "d").exists()
