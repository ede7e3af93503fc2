"""Inputs that cannot hurt: bounded size and aliases, any bytes, empty files, large trees.

Timings are bounds far above what the work needs (a few hundred ms here), so a loaded
machine does not fail them while an exponential or quadratic path still would.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshwatch.cli import app
from meshwatch.errors import SpecError
from meshwatch.spec import LoadOptions, load_paths, load_text
from meshwatch.spec.aliases import MAX_ALIAS_NODES
from meshwatch.spec.text import MAX_FILE_BYTES

SPEC = """apiVersion: meshwatch/v1
kind: ServiceLevels
service: {service}
slos:
{slos}"""
SLO = """  - name: slo{i}
    objective: 99.9
    sli:
      ratio:
        total: http_requests_total{{job="{service}",handler="/h{i}"}}
        bad: http_requests_total{{job="{service}",handler="/h{i}",code=~"5.."}}
"""


def _spec(service: str, count: int) -> str:
    slos = "".join(SLO.format(i=i, service=service) for i in range(count))
    return SPEC.format(service=service, slos=slos)


def _messages(caught: pytest.ExceptionInfo[SpecError]) -> list[str]:
    return [str(p) for p in caught.value.problems]


def test_an_alias_bomb_is_refused_at_once() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    text = "\n".join([*levels, "slos: *a8"]) + "\n"
    assert len(text) < 500
    began = time.process_time()
    with pytest.raises(SpecError) as caught:
        load_text(text, "bomb.yaml")
    assert time.process_time() - began < 5
    (message,) = _messages(caught)
    assert message.startswith("bomb.yaml:1: YAML aliases expand this document by ")
    assert f"at most {MAX_ALIAS_NODES:,} are allowed" in message


def test_a_few_aliases_are_fine() -> None:
    text = _spec("shop", 1).replace("slos:", "labels: &l {team: shop}\nslos:")
    text += "  - name: copy\n    objective: 99\n    labels: *l\n"
    text += "    sli: {mesh: {kind: istio, service: x}}\n"
    result = load_text(text, "aliases.yaml")
    assert [dict(s.labels) for s in result.slos] == [{"team": "shop"}, {"team": "shop"}]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as out:
        out.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is parsed, only its size is seen
    with pytest.raises(SpecError) as caught:
        load_paths([big])
    assert _messages(caught) == [
        f"{big}:1: file is 16.0 MiB; a spec file may be at most 16 MiB "
        "(split the SLOs into several files)"
    ]


def test_utf16_and_utf8_with_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    for encoding in ("utf-16", "utf-8-sig", "utf-32"):
        path = tmp_path / f"{encoding}.yaml"
        path.write_bytes(_spec(encoding.replace("-", ""), 1).encode(encoding))
    assert len(load_paths([tmp_path]).slos) == 3


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    text = "apiVersion: meshwatch/v1\nx: " + "[" * 990 + "]" * 990 + "\n"
    with pytest.raises(SpecError) as caught:
        load_text(text, "deep.yaml")
    assert _messages(caught) == ["deep.yaml:1: nested too deeply to read"]


def test_empty_files_pass_only_with_allow_empty(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("# no SLOs yet\n")
    with pytest.raises(SpecError):
        load_paths([tmp_path])
    assert load_paths([tmp_path], LoadOptions(allow_empty=True)).slos == ()
    refused = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert refused.exit_code == 1
    assert "no SLO documents (the file is empty or only comments)" in refused.output
    allowed = CliRunner().invoke(app, ["validate", "--allow-empty", str(tmp_path)])
    assert allowed.exit_code == 0, allowed.output
    assert allowed.output.strip() == "0 SLOs in 0 files: ok"


def test_sloth_period_flag_and_its_errors(tmp_path: Path) -> None:
    spec = tmp_path / "sloth.yaml"
    spec.write_text(
        "version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99.9\n"
        "    sli: {raw: {error_ratio_query: 'x[{{.window}}]'}}\n"
    )
    (slo,) = load_paths([spec], LoadOptions(sloth_period="calendar-month")).slos
    assert slo.window.name == "calendar-month"
    bad = CliRunner().invoke(app, ["validate", "--sloth-period", "fortnight", str(spec)])
    assert bad.exit_code == 2
    assert "--sloth-period" in bad.output


def test_a_large_tree_loads_in_linear_time(tmp_path: Path) -> None:
    """Ten times the SLOs take about ten times as long, not a hundred."""

    def load(files: int) -> float:
        folder = tmp_path / str(files)
        folder.mkdir()
        for f in range(files):
            (folder / f"svc{f}.yaml").write_text(_spec(f"svc{f}", 50))
        began = time.process_time()
        assert len(load_paths([folder]).slos) == files * 50
        return time.process_time() - began

    small, large = load(4), load(40)
    assert large < 25 * max(small, 0.01)


def test_the_documented_bounds_are_the_enforced_ones() -> None:
    from meshwatch.spec import bounds
    from meshwatch.spec.checks import MAX_NAME_LENGTH

    text = " ".join((bounds.__doc__ or "").split())
    assert f"at most {MAX_FILE_BYTES // 2**20} MiB each" in text
    assert f"at most {MAX_ALIAS_NODES:,} nodes" in text
    assert f"at most {MAX_NAME_LENGTH} characters" in text
