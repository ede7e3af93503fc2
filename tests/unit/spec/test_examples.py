"""The example specs in rules/slos load cleanly and cover what the README promises."""

from __future__ import annotations

from pathlib import Path

from meshwatch.model import LatencySLI
from meshwatch.spec import load_paths

EXAMPLES = Path(__file__).resolve().parents[3] / "rules" / "slos"


def test_examples_load_without_errors_or_warnings() -> None:
    result = load_paths([EXAMPLES])
    assert result.warnings == ()
    assert [s.id for s in result.slos] == [  # files in sorted order
        "inventory-availability",
        "cart-availability",
        "search-latency",
        "search-availability",
        "checkout-availability",
        "frontend-availability",
        "frontend-latency",
        "payments-availability",
        "catalog-requests-availability",
        "catalog-search-error-ratio",
        "web-availability",
        "web-latency",
    ]


def test_examples_cover_every_format_and_mesh() -> None:
    slos = {s.id: s for s in load_paths([EXAMPLES]).slos}
    formats = {s.source.format for s in slos.values() if s.source}
    assert formats == {"meshwatch/v1", "sloth", "openslo/v1"}
    meshes = {s.mesh.kind for s in slos.values() if s.mesh}
    assert meshes == {"istio", "envoy", "linkerd"}
    assert isinstance(slos["search-latency"].sli, LatencySLI)
    payments = slos["payments-availability"].remediation
    assert payments is not None
    assert [b.name for b in payments.backends] == ["v1", "v2"]
    inventory = slos["inventory-availability"].remediation
    assert inventory is not None
    assert inventory.actuator == "envoy"
    assert [b.name for b in inventory.backends] == ["inventory_v1", "inventory_v2"]
