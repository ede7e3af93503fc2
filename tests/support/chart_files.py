"""Files copied into the Helm chart from the generated outputs (drift-tested, synced on
`pytest --update-golden` before the chart is rendered)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "meshwatch"

# (source folder, glob, folder in the chart)
COPIES = (
    ("rules", "*.yaml", "files/rules"),
    ("rules/slos", "*.yaml", "files/slos"),
    ("dashboards", "*.json", "files/dashboards"),
)


def sync(source: Path, pattern: str, copy: Path) -> None:
    """Make `copy/pattern` an exact copy of `source/pattern`."""
    copy.mkdir(parents=True, exist_ok=True)
    for stale in copy.glob(pattern):
        stale.unlink()
    for path in source.glob(pattern):
        (copy / path.name).write_bytes(path.read_bytes())


def sync_all() -> None:
    for source, pattern, copy in COPIES:
        sync(ROOT / source, pattern, CHART / copy)
