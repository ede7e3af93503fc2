"""Every error meshwatch raises on purpose is a `MeshwatchError`, and the CLI turns each
into exit code 1 and one line on stderr, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from meshwatch import errors
from meshwatch.cli.root import EXIT_INVALID, exits_on_error
from meshwatch.collectors.exposition import parse_wanted
from meshwatch.jobs.reports import ReportError
from meshwatch.model import Counts
from meshwatch.remediate.kube_client import PatchInvalid as KubePatchInvalid
from meshwatch.slo.budget import error_ratio


def _tree(cls: type[errors.MeshwatchError]) -> list[type[errors.MeshwatchError]]:
    return [cls, *(sub for child in cls.__subclasses__() for sub in _tree(child))]


def _instance(cls: type[errors.MeshwatchError]) -> errors.MeshwatchError:
    if issubclass(cls, errors.SpecError):
        return cls([errors.Problem("a.yaml", 3, "slos[0].objective", "must be below 100")])
    if issubclass(cls, errors.PatchInvalid):
        return cls("route x: 422 Invalid")
    if issubclass(cls, errors.ActuatorError):
        return cls("route x: refused", retryable=False)
    if issubclass(cls, errors.NoSeriesError | errors.NoTrafficError):
        return cls("5m")
    if issubclass(cls, errors.NoDataError):
        return cls("no data (NaN counts)")
    return cls(f"{cls.__name__} happened")


NAMED = (
    "ExpositionError",
    "PatchInvalid",
    "UnknownTargetError",
    "PromQLError",
    "PrometheusNotFound",
    "EnvoyNotFound",
    "NoSeriesError",
    "NoTrafficError",
)


@pytest.mark.parametrize("name", NAMED)
def test_named_errors_are_in_the_one_tree(name: str) -> None:
    assert issubclass(getattr(errors, name), errors.MeshwatchError)
    assert issubclass(ReportError, errors.MeshwatchError)


def test_the_modules_that_raise_them_raise_the_same_classes() -> None:
    assert KubePatchInvalid is errors.PatchInvalid
    with pytest.raises(errors.ExpositionError):
        parse_wanted('requests_total{code="5} 1\n', {"requests_total"})


def test_no_data_is_typed_and_keeps_its_words() -> None:
    with pytest.raises(errors.NoTrafficError, match=r"^no traffic in 5m$"):
        error_ratio(Counts(0.0, 0.0), window="5m")
    assert str(errors.NoSeriesError()) == "no series"
    assert str(errors.NoTrafficError()) == "no traffic"
    assert str(errors.NoTrafficError("5m")) == "no traffic in 5m"
    assert str(errors.NoSeriesError("5m")) == "no series for 5m"


@pytest.mark.parametrize(
    "cls", [pytest.param(cls, id=cls.__name__) for cls in _tree(errors.MeshwatchError)]
)
def test_the_cli_maps_each_error_to_exit_1_and_its_message(
    cls: type[errors.MeshwatchError], capsys: pytest.CaptureFixture[str]
) -> None:
    error = _instance(cls)

    @exits_on_error
    def command() -> None:
        raise error

    with pytest.raises(typer.Exit) as exit_:
        command()
    assert exit_.value.exit_code == EXIT_INVALID
    err = capsys.readouterr().err
    if isinstance(error, errors.SpecError):
        assert err == "a.yaml:3: slos[0].objective: must be below 100\n"
    else:
        assert err == f"error: {error}\n"


def test_demo_with_prometheus_but_none_installed_prints_one_line(tmp_path: Path) -> None:
    """`meshwatch demo --prometheus` on a machine without Prometheus: exit 1, one clean
    line, no traceback, and nothing started (the check runs before the mesh starts)."""
    env = {**os.environ, "PATH": str(tmp_path / "empty-path")}
    args = ["demo", "--prometheus", "--duration", "5", "--workdir", str(tmp_path / "demo")]
    result = subprocess.run(
        [sys.executable, "-m", "meshwatch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == EXIT_INVALID, result.stderr
    assert result.stderr == "error: --prometheus needs a `prometheus` binary on PATH\n"
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "demo").exists(), "the demo started something before failing"
