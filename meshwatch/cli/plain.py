"""`meshwatch validate` with plain arguments, answered without building the Typer app.

Editors, pre-commit hooks and CI call `validate` on every save and push; Typer, its Click and
a pydantic TypeAdapter per parameter cost about as much as reading a small spec. A call is
plain when it is `validate` followed, in any order, by paths that exist and can be read,
`--sloth-period PERIOD` (or `--sloth-period=PERIOD`) with a valid period, and
`--allow-empty`, and no shell completion is under way. For anything else (`--help`, a
missing path, an unknown or incomplete option, `--`, a value starting with `-`) `run`
returns None and the Typer app parses and reports the call as it always has. Both run
`validate_specs` and print errors with `entry.print_error`, so what is printed and the exit
code are the same either way; the unit tests run the same calls through both.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from meshwatch.cli.entry import EXIT_INVALID, EXIT_OK, print_error
from meshwatch.errors import MeshwatchError

if TYPE_CHECKING:
    from meshwatch.spec import LoadOptions

COMMAND = "validate"
SLOTH_PERIOD_FLAG = "--sloth-period"
ALLOW_EMPTY_FLAG = "--allow-empty"
EXIT_INTERRUPTED = 130  # what Typer exits with on Ctrl-C


def validate_specs(paths: Sequence[Path], options: LoadOptions) -> None:
    """The body of `meshwatch validate`: warnings on stderr, a summary on stdout, or
    SpecError listing every error."""
    from meshwatch.spec import load_paths

    result = load_paths(paths, options)
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    files = len({slo.source.file for slo in result.slos if slo.source is not None})
    noun = "SLO" if len(result.slos) == 1 else "SLOs"
    warned = f", {len(result.warnings)} warning(s)" if result.warnings else ""
    print(f"{len(result.slos)} {noun} in {files} file{'' if files == 1 else 's'}: ok{warned}")


def parse(args: Sequence[str]) -> tuple[list[Path], str | None, bool] | None:
    """The paths, `--sloth-period` (None: not given) and `--allow-empty` of a plain
    `validate` call, else None (see the module). The period is checked by `run`."""
    if not args or args[0] != COMMAND or _completing():
        return None
    paths: list[Path] = []
    period: str | None = None
    allow_empty = False
    rest: Iterator[str] = iter(args[1:])
    for arg in rest:
        if arg == ALLOW_EMPTY_FLAG:
            allow_empty = True
        elif arg == SLOTH_PERIOD_FLAG:
            period = next(rest, None)
            if period is None or period.startswith("-"):
                return None
        elif arg.startswith(f"{SLOTH_PERIOD_FLAG}="):
            period = arg.partition("=")[2]
        elif arg.startswith("-") or not _readable(arg):
            return None
        else:
            paths.append(Path(arg))
    return (paths, period, allow_empty) if paths else None


def run(args: Sequence[str]) -> int | None:
    """The exit code of a plain `validate` call, run; None when `args` are not plain.

    `entry.main` runs it with the cyclic garbage collector paused (`bulk.without_cyclic_gc`)
    from before this module's import: importing pydantic and building the spec models
    allocate enough to start it over and over, and the load pauses it anyway.
    """
    call = parse(args)
    if call is None:
        return None
    paths, period, allow_empty = call
    options = _options(period, allow_empty)
    if options is None:
        return None
    try:
        validate_specs(paths, options)
    except MeshwatchError as exc:
        print_error(exc)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        # the reader went away (`| head`): exit 1 quietly, as Click does
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
        return EXIT_INVALID
    return EXIT_OK


def _completing() -> bool:
    """Whether the shell asks Click for completions (`_MESHWATCH_COMPLETE=...`)."""
    return any(name.startswith("_") and name.endswith("_COMPLETE") for name in os.environ)


def _readable(path: str) -> bool:
    """What Typer checks of an `exists=True` path: it can be stat'ed and read."""
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return os.access(path, os.R_OK)


def _options(period: str | None, allow_empty: bool) -> LoadOptions | None:
    """The load options, or None when the period is not one (Typer then reports it)."""
    from meshwatch.spec.checks import parse_window
    from meshwatch.spec.options import DEFAULT_SLOTH_PERIOD, LoadOptions

    period = DEFAULT_SLOTH_PERIOD if period is None else period
    try:
        parse_window(period)
    except ValueError:
        return None
    return LoadOptions(sloth_period=period, allow_empty=allow_empty)
