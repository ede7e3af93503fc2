"""YAML reading: field lines, merge keys, duplicate keys, folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshwatch.errors import SpecError
from meshwatch.spec import load_paths
from meshwatch.spec.source import format_path, parse_stream


def test_every_field_path_has_its_own_line() -> None:
    docs, problems = parse_stream("a: 1\nb:\n  - x: 2\n    y: [3, 4]\n  - z\n", "f.yaml")
    assert problems == []
    (doc,) = docs
    assert doc.data == {"a": 1, "b": [{"x": 2, "y": [3, 4]}, "z"]}
    assert doc.line_of(("b", 0, "y")) == 4
    assert doc.line_of(("b", 1)) == 5
    assert doc.line_of(("b", 0, "missing")) == 3  # nearest ancestor


def test_keys_stay_text_and_timestamps_stay_text() -> None:
    (doc,), _ = parse_stream("on: yes\nt: 2024-01-01 00:00:00\nn: ~\nf: 1.5\n", "f.yaml")
    assert doc.data == {"on": True, "t": "2024-01-01 00:00:00", "n": None, "f": 1.5}


def test_merge_keys_and_anchors() -> None:
    (doc,), problems = parse_stream("base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n", "f.yaml")
    assert problems == []
    assert doc.data["c"] == {"x": 1, "y": 2}


def test_duplicate_keys_are_problems() -> None:
    _, problems = parse_stream("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert [str(p) for p in problems] == ["f.yaml:3: a: duplicate key 'a' (first at line 1)"]


def test_a_document_must_be_a_mapping_and_empty_ones_are_skipped() -> None:
    docs, problems = parse_stream("---\n---\n- a\n", "f.yaml")
    assert docs == []
    assert [str(p) for p in problems] == [
        "f.yaml:3: a spec document must be a mapping (or a list of mappings)"
    ]


def test_format_path() -> None:
    assert format_path(("slos", 1, "sli", "ratio")) == "slos[1].sli.ratio"
    assert format_path(()) == ""


SPEC = """apiVersion: meshwatch/v1
kind: ServiceLevels
service: {service}
slos:
  - name: availability
    objective: {objective}
    sli: {{mesh: {{kind: istio, service: x}}}}
"""


def test_folders_are_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "one.yml").write_text(SPEC.format(service="b1", objective=99))
    (tmp_path / "a.yaml").write_text(SPEC.format(service="a", objective=99))
    (tmp_path / "z.txt").write_text("not a spec")
    result = load_paths([tmp_path])
    assert [s.service for s in result.slos] == ["a", "b1"]


def test_problems_of_every_file_come_at_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(SPEC.format(service="a", objective=0))
    (tmp_path / "b.yaml").write_text(SPEC.format(service="b", objective=101))
    with pytest.raises(SpecError) as caught:
        load_paths([tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "missing.yaml"])
    assert [(Path(p.file).name, p.line) for p in caught.value.problems] == [
        ("a.yaml", 6),
        ("b.yaml", 6),
        ("missing.yaml", 0),
    ]


def test_hidden_folders_of_a_configmap_volume_are_skipped(tmp_path: Path) -> None:
    """A ConfigMap mount: `..2024_01/a.yaml`, `..data -> ..2024_01`, `a.yaml -> ..data/a.yaml`."""
    real = tmp_path / "..2024_01_01"
    real.mkdir()
    (real / "a.yaml").write_text(SPEC.format(service="a", objective=99))
    (tmp_path / "..data").symlink_to(real.name)
    (tmp_path / "a.yaml").symlink_to(Path("..data") / "a.yaml")
    (tmp_path / ".hidden.yaml").write_text("not: [valid")
    result = load_paths([tmp_path])
    assert [s.id for s in result.slos] == ["a-availability"]
