"""The console script's entry point, and what every command shares without importing Typer.

`main` gives a plain `meshwatch validate` to `meshwatch.cli.plain`, which answers it without
building the Typer app (Typer and its Click cost about as much as reading one small spec);
every other call, and every `validate` that is not plain, goes to the Typer app. Only this
package turns errors into exit codes: 0 ok, 1 invalid input or drift, 2 usage error.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meshwatch.errors import MeshwatchError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

QUICK_EXIT_COMMANDS = frozenset({"validate", "generate", "--help", "--version"})
"""Commands that start no thread, keep no temporary file and register no `atexit` handler:
once they have answered, the process ends without the interpreter's teardown (freeing every
module and object, about a fifth of `validate`'s CPU time), which nobody waits for."""


def print_error(exc: MeshwatchError) -> None:
    """A MeshwatchError on stderr: every problem of a SpecError, one line each, else
    `error: MESSAGE`. The caller exits with EXIT_INVALID."""
    from meshwatch.errors import SpecError

    if isinstance(exc, SpecError):
        for problem in exc.problems:
            print(problem, file=sys.stderr)
    else:
        print(f"error: {exc}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point.

    The cyclic garbage collector is paused from the first import of a plain `validate` to
    its exit, and not resumed when the process then ends at once: resuming it would first
    walk every object the imports made (9 ms, 6 % of the call's CPU time), to no use.
    """
    from meshwatch.bulk import without_cyclic_gc

    args = sys.argv[1:] if argv is None else argv
    with without_cyclic_gc():
        from meshwatch.cli import plain

        code = plain.run(args)
        if code is not None:
            quick_exit(code)
    if code is not None:
        raise SystemExit(code)
    from meshwatch.cli.commands import app

    try:
        app(args)
    except SystemExit as exc:
        if args[:1] and args[0] in QUICK_EXIT_COMMANDS:
            quick_exit(exc.code)
        raise


def quick_exit(code: object) -> None:
    """`os._exit(code)` once stdout and stderr are flushed; returns (for a normal exit)
    when the code is not an exit status or the output cannot be flushed."""
    import os

    if code is None:
        code = EXIT_OK
    if not isinstance(code, int) or isinstance(code, bool):
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: let the normal exit report it
        return
    os._exit(code)
