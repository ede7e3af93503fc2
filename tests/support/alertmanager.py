"""A real Alertmanager 0.25 (Debian `prometheus-alertmanager`) posting to one webhook.

127.0.0.1 only, a free port, `--cluster.listen-address=` empty (no gossip port), storage in a
temporary directory; started in its own session and stopped by its pid. The receiver sends
`Authorization: Bearer <token>` (`http_config.authorization`) and resolved notifications.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.support.process import Daemon


def alertmanager_config(
    webhook_url: str,
    *,
    token: str | None,
    group_by: Sequence[str] = ("alertname", "meshwatch_service", "meshwatch_slo"),
    group_wait: str = "1s",
    group_interval: str = "2s",
    repeat_interval: str = "1h",
) -> str:
    """alertmanager.yml (JSON is valid YAML): one route, one webhook receiver."""
    webhook: dict[str, Any] = {"url": webhook_url, "send_resolved": True}
    if token is not None:
        webhook["http_config"] = {"authorization": {"type": "Bearer", "credentials": token}}
    config = {
        "route": {
            "receiver": "meshwatch",
            "group_by": list(group_by),
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
        },
        "receivers": [{"name": "meshwatch", "webhook_configs": [webhook]}],
    }
    return json.dumps(config, indent=2)


class AlertmanagerProcess(Daemon):
    """One Alertmanager daemon; use as a context manager or call `start()` / `stop()`."""

    name = "alertmanager"

    def __init__(self, binary: str, workdir: Path, config: str) -> None:
        super().__init__(workdir, "alertmanager.log")
        self.binary = binary
        self.config = config
        self.config_path = workdir / "alertmanager.yml"

    def prepare(self) -> None:
        (self.workdir / "data").mkdir(exist_ok=True)
        self.config_path.write_text(self.config)

    def command(self) -> list[str]:
        return [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--web.external-url={self.url}",
            "--cluster.listen-address=",
            "--log.level=debug",
        ]

    def alerts(self) -> list[Mapping[str, Any]]:
        """The alerts Alertmanager holds (API v2)."""
        response = httpx.get(f"{self.url}/api/v2/alerts", timeout=5)
        response.raise_for_status()
        result: list[Mapping[str, Any]] = response.json()
        return result

    def post_alert(self, labels: dict[str, str], ends_at: str | None = None) -> None:
        """Raise (or, with `ends_at` in the past, resolve) an alert through AM's API v2."""
        alert: dict[str, Any] = {"labels": labels, "annotations": {"summary": "test"}}
        if ends_at is not None:
            alert["endsAt"] = ends_at
        httpx.post(f"{self.url}/api/v2/alerts", json=[alert], timeout=10).raise_for_status()
