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


def _registry() -> dict[str, Callable[[], Result | list[Result]]]:
    from benchmarks import (
        bench_breach_to_shift,
        bench_cli_startup,
        bench_dashboards,
        bench_evaluate,
        bench_load,
        bench_report,
        bench_rule_eval,
        bench_rule_eval_history,
        bench_rules,
        bench_scrape_parse,
        bench_store,
        bench_webhook,
    )

    return {
        "cli_startup": bench_cli_startup.run,
        "dashboards": bench_dashboards.run,
        "load": bench_load.run,
        "report": bench_report.run,
        "rules": bench_rules.run,
        "rule_eval": bench_rule_eval.run,
        "rule_eval_history": bench_rule_eval_history.run,
        "scrape_parse": bench_scrape_parse.run,
        "store_save": bench_store.run_save,
        "store_latest": bench_store.run_latest,
        "store_alerts": bench_store.run_alerts,
        "evaluate": bench_evaluate.run,
        "webhook": bench_webhook.run,
        "breach_to_shift": bench_breach_to_shift.run,
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
        results = registry[name]()
        for result in results if isinstance(results, list) else [results]:
            print(result.json_line(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
