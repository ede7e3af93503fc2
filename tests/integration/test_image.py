"""The container image built by .ci/image.sh from the repository's Dockerfile.

.ci/run builds it (a Debian base made with debootstrap, then the Dockerfile with buildah);
here the smoke check runs again: `meshwatch --version` (or `--help`) and `meshwatch serve`
inside the image, /healthz answered, nothing written outside /var/lib/meshwatch and /tmp.
The image's configuration is what the Helm chart assumes: uid 65532, `meshwatch` as
entrypoint, the tag the chart pulls by default. Without buildah or the image this skips
locally and fails under CI, like every other binary.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.binaries import require_binary

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("MESHWATCH_IMAGE_CACHE", Path.home() / ".cache" / "meshwatch-image"))


def _chart_image() -> str:
    chart = yaml.safe_load((ROOT / "helm" / "meshwatch" / "Chart.yaml").read_text())
    values = yaml.safe_load((ROOT / "helm" / "meshwatch" / "values.yaml").read_text())
    return f"{values['image']['repository']}:{values['image']['tag'] or chart['appVersion']}"


def _buildah(*args: str) -> subprocess.CompletedProcess[str]:
    binary = require_binary("buildah", "/usr/bin/buildah")
    command = [binary, "--root", str(CACHE / "storage"), "--runroot", str(CACHE / "run")]
    command += ["--storage-driver", "vfs", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def image() -> str:
    name = os.environ.get("MESHWATCH_IMAGE", _chart_image())
    found = _buildah("inspect", "--type", "image", name)
    if found.returncode != 0:
        message = f"image {name} not built; run .ci/image.sh build"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return name


def test_image_is_what_the_chart_runs(image: str) -> None:
    config = json.loads(_buildah("inspect", "--type", "image", image).stdout)["OCIv1"]["config"]
    assert config["User"] == "65532:65532"
    assert config["Entrypoint"] == ["meshwatch"]
    assert config["WorkingDir"] == "/var/lib/meshwatch"
    assert not any(e.startswith("MESHWATCH_") for e in config.get("Env", []))  # --config wins
    values = yaml.safe_load((ROOT / "helm" / "meshwatch" / "values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == 65532
    assert values["securityContext"]["readOnlyRootFilesystem"] is True


def test_smoke_serves_healthz_from_the_image(image: str) -> None:
    # the smoke check copies the image into a working container first (vfs: a full copy)
    result = subprocess.run(
        ["bash", str(ROOT / ".ci" / "image.sh"), "smoke"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "MESHWATCH_IMAGE": image},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "smoke: /healthz answered from the image" in result.stdout
