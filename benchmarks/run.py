"""Run meshwatch's benchmarks: `python benchmarks/run.py [NAME...]` (all by default).

Prints one JSON object per line: name, value, unit, baseline {name, value}, ratio, params.
Each benchmark measures its baseline in the same run, on the same input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.result import Result


def _registry() -> dict[str, Callable[[], Result]]:
    from benchmarks import bench_load, bench_report, bench_scrape_parse

    return {
        "load": bench_load.run,
        "report": bench_report.run,
        "scrape_parse": bench_scrape_parse.run,
    }


def main(argv: list[str] | None = None) -> int:
    registry = _registry()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(registry))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(registry))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(registry)}")
    for name in args.names or list(registry):
        print(registry[name]().json_line(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
