"""A plain `meshwatch validate` answers without Typer, exactly as the Typer command does."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from meshwatch.cli import app, plain
from tests.unit.cli.test_validate import GOOD
from tests.unit.spec.test_formats import SLOTH_RATIO

ROOT = Path(__file__).resolve().parents[3]
SPECS = ROOT / "rules" / "slos"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "good.yaml").write_text(GOOD.format(objective=99.9))
    (tmp_path / "ratio.yaml").write_text(GOOD.format(objective=0.999).replace("checkout", "c2"))
    (tmp_path / "bad.yaml").write_text(GOOD.format(objective=100).replace("checkout", "c3"))
    (tmp_path / "sloth.yaml").write_text(SLOTH_RATIO.replace("checkout", "c4"))
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    return tmp_path


PLAIN = [
    pytest.param(["{specs}"], id="folder"),
    pytest.param(["{tmp}/good.yaml"], id="one-file"),
    pytest.param(["{tmp}/ratio.yaml", "{tmp}/good.yaml"], id="warning"),
    pytest.param(["{tmp}/bad.yaml", "{tmp}/good.yaml"], id="invalid-exits-1"),
    pytest.param(["{tmp}/sloth.yaml", "--sloth-period", "28d"], id="period-after"),
    pytest.param(["--sloth-period=calendar-month", "{tmp}/sloth.yaml"], id="period-equals"),
    pytest.param(["{tmp}/empty.yaml"], id="empty-file-exits-1"),
    pytest.param(["--allow-empty", "{tmp}/empty.yaml", "{tmp}/good.yaml"], id="allow-empty"),
    pytest.param(["{tmp}/good.yaml", "{tmp}/good.yaml"], id="same-path-twice"),
]
NOT_PLAIN = [
    pytest.param([], id="no-path"),
    pytest.param(["--help"], id="help"),
    pytest.param(["{tmp}/good.yaml", "--help"], id="help-after-a-path"),
    pytest.param(["{tmp}/nope.yaml"], id="missing-path"),
    pytest.param(["{tmp}/good.yaml", "--sloth-period"], id="period-without-value"),
    pytest.param(["{tmp}/good.yaml", "--sloth-period", "--allow-empty"], id="period-is-a-flag"),
    pytest.param(["{tmp}/good.yaml", "--sloth-period=2x"], id="unknown-period"),
    pytest.param(["{tmp}/good.yaml", "--sloth-period="], id="empty-period"),
    pytest.param(["{tmp}/good.yaml", "--allow-empt"], id="unknown-option"),
    pytest.param(["--", "{tmp}/good.yaml"], id="double-dash"),
    pytest.param(["-"], id="dash"),
    pytest.param([""], id="empty-path"),
]


def _args(args: list[str], tmp: Path) -> list[str]:
    return [a.replace("{specs}", str(SPECS)).replace("{tmp}", str(tmp)) for a in args]


def _typer(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("args", PLAIN)
def test_a_plain_call_prints_and_exits_as_the_typer_command(
    args: list[str], tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _args(args, tree)
    code = plain.run(["validate", *argv])
    out, err = capsys.readouterr()
    assert code is not None
    assert (code, out, err) == _typer(argv)


@pytest.mark.parametrize("args", NOT_PLAIN)
def test_any_other_call_is_left_to_typer(
    args: list[str], tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plain.run(["validate", *_args(args, tree)]) is None
    assert capsys.readouterr() == ("", "")


def test_other_commands_and_completion_are_left_to_typer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert plain.parse(["generate", "rules", str(SPECS)]) is None
    assert plain.parse(["--version"]) is None
    assert plain.parse([]) is None
    monkeypatch.setenv("_MESHWATCH_COMPLETE", "complete_bash")
    assert plain.parse(["validate", str(SPECS)]) is None


def test_an_unreadable_path_is_left_to_typer(tree: Path) -> None:
    locked = tree / "locked"
    locked.mkdir(mode=0)
    try:
        readable = plain.parse(["validate", str(locked)]) is not None
    finally:
        locked.chmod(0o755)
    assert readable == (_typer([str(locked)])[0] != 2)  # root reads it anyway


def test_the_plain_parser_knows_every_parameter_of_the_typer_command() -> None:
    command = typer.main.get_command(app).commands["validate"]  # type: ignore[attr-defined]
    declared = {
        (tuple(param.opts), getattr(param, "is_flag", False), param.nargs)
        for param in command.params
    }
    assert declared == {
        (("paths",), False, -1),
        ((plain.SLOTH_PERIOD_FLAG,), False, 1),
        ((plain.ALLOW_EMPTY_FLAG,), True, 1),
    }


def test_main_ends_a_plain_call_with_the_collector_paused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Resuming the collector would walk every object the imports made, only to exit; when
    the process does not end after all (quick_exit returns), it is resumed."""
    from meshwatch.cli import entry

    paused_at_exit: list[bool] = []
    monkeypatch.setattr(entry, "quick_exit", lambda code: paused_at_exit.append(not gc.isenabled()))
    with pytest.raises(SystemExit) as exited:
        entry.main(["validate", str(SPECS)])
    assert (exited.value.code, paused_at_exit, gc.isenabled()) == (0, [True], True)
    assert ": ok" in capsys.readouterr().out
