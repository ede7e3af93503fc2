"""`meshwatch demo` end to end, with real processes: Envoy, the upstream versions, meshwatch.

The demo runs in this process (as the CLI does) with a fast profile: short loop windows so
that the incident, the shift and the recovery fit in about a minute. A second run without
the incident is a healthy soak and must take no action at all.
"""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from meshwatch.demo import mesh
from meshwatch.demo.run import DemoOptions, run_demo
from meshwatch.demo.view import Frame
from tests.support.envoy import envoy_binary

pytestmark = pytest.mark.integration

FAST = mesh.SpecParams(
    short_windows=("5s", "15s"), cooldown="3s", recovery_window="6s", min_requests=3
)
CANARY = mesh.cluster(mesh.INCIDENT_SERVICE, mesh.INCIDENT_VERSION)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_incident_is_detected_shifted_and_restored(tmp_path: Path) -> None:
    envoy_binary()  # skip locally / fail under CI when Envoy is missing
    port = free_port()
    pages: list[int] = []

    def on_frame(frame: Frame) -> None:
        if not pages and frame.statuses:
            pages.append(httpx.get(f"http://127.0.0.1:{port}/api/v1/slos", timeout=5).status_code)

    options = DemoOptions(
        duration=90,
        port=port,
        incident_at=8,
        incident_length=14,
        workdir=tmp_path,
        spec=FAST,
        evaluate_interval=timedelta(seconds=1),
        stop_when_restored=True,
    )
    with (tmp_path / "view.txt").open("w") as view:
        summary = run_demo(options, Console(file=view), on_frame=on_frame)

    assert pages == [200], "the API answered while the demo ran"
    assert summary.detection_seconds is not None, "checkout v2 never lost traffic"
    assert summary.detection_seconds < 15
    assert summary.restored is not None, "checkout v2 never got its traffic back"
    kinds = [(a.kind, a.state) for a in summary.actions]
    assert ("shift", "applied") in kinds
    assert ("restore", "applied") in kinds
    assert summary.final_weights["checkout"][CANARY] == mesh.SERVICES["checkout"]["v2"]
    assert summary.report is not None and summary.report.exists()
    assert "checkout-availability" in summary.report.read_text()


def test_healthy_soak_takes_no_action(tmp_path: Path) -> None:
    envoy_binary()
    options = DemoOptions(
        duration=25,
        port=free_port(),
        incident=False,
        workdir=tmp_path,
        spec=FAST,
        evaluate_interval=timedelta(seconds=1),
    )
    with (tmp_path / "view.txt").open("w") as view:
        summary = run_demo(options, Console(file=view))
    assert summary.actions == []
    assert summary.first_shift is None
    assert summary.final_weights["checkout"][CANARY] == mesh.SERVICES["checkout"]["v2"]
