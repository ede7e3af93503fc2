"""`meshwatch validate`: exit codes 0 / 1 / 2, messages as FILE:LINE: field.path: message."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from meshwatch.cli import app

ROOT = Path(__file__).resolve().parents[3]
GOOD = """apiVersion: meshwatch/v1
kind: ServiceLevels
service: checkout
slos:
  - name: availability
    objective: {objective}
    sli: {{mesh: {{kind: istio, service: checkout}}}}
"""


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


def test_valid_specs_exit_0_with_a_summary() -> None:
    code, out, err = _run(str(ROOT / "rules" / "slos"))
    assert (code, out, err) == (0, "12 SLOs in 8 files: ok\n", "")


def test_warnings_go_to_stderr_and_still_exit_0(tmp_path: Path) -> None:
    spec = tmp_path / "ratio.yaml"
    spec.write_text(GOOD.format(objective=0.999))
    code, out, err = _run(str(spec))
    assert code == 0
    assert out == "1 SLO in 1 file: ok, 1 warning(s)\n"
    assert err == (
        f"{spec}:6: slos[0].objective: warning: objective 0.999 looks like a ratio; "
        "objective is a percentage (did you mean 99.9?)\n"
    )


def test_invalid_specs_exit_1_listing_every_problem(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD.format(objective=100))
    (tmp_path / "b.yaml").write_text(GOOD.format(objective=99.9).replace("objective", "objectiv"))
    code, out, err = _run(str(tmp_path))
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"{tmp_path / 'a.yaml'}:6: slos[0].objective: objective 100 is outside (0, 100); "
        "it is a percentage, e.g. 99.9",
        f"{tmp_path / 'b.yaml'}:5: slos[0].objective: required field is missing",
        f"{tmp_path / 'b.yaml'}:6: slos[0].objectiv: unknown field 'objectiv'; "
        "did you mean 'objective'?",
    ]


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = _run(str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "does not exist" in err


def test_no_path_is_a_usage_error() -> None:
    code, _, err = _run()
    assert code == 2
    assert "Missing argument" in err
