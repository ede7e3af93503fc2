"""A progress bar for long CLI work: on stderr when it is a terminal, nothing otherwise.

Pipes, CI logs and editors get no escape codes and no extra lines; a person at a terminal
sees how far a report over thousands of SLOs, or rules for a big tree, has got.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Advance = Callable[[int, int], None]
"""`advance(done, total)`: report that `done` of `total` items are finished."""

MIN_ITEMS = 20  # below this the work is too short for a bar to be worth a redraw


def _ignore(done: int, total: int) -> None:
    return None


@contextmanager
def progress_bar(label: str, unit: str, total: int, *, force: bool = False) -> Iterator[Advance]:
    """Yield an `Advance` callback drawing a transient rich bar on stderr.

    The bar is shown only when stderr is a terminal and there are at least `MIN_ITEMS`
    items (`force` skips both checks, for tests that drive a pseudo-terminal).
    """
    if not force and (total < MIN_ITEMS or not sys.stderr.isatty()):
        yield _ignore
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True, force_terminal=True if force else None)
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)

        def advance(done: int, new_total: int) -> None:
            progress.update(task, completed=done, total=new_total)

        yield advance
