"""CLI start-up: `meshwatch --version`, `--help` and `validate` of one small spec, each as a
fresh process, against `python -c "import yaml, pydantic"` in the same run.

This is what an editor, a pre-commit hook or a CI step pays on every call. The runs of the
commands and of the baseline are interleaved so that a busy machine slows both alike, and
the median of `REPEAT` runs is kept. CPU time (user + system of the child) is reported next
to wall time: on a shared machine it is the steadier of the two. Goal: each command within
2x of the baseline (ratio >= 0.5).

meshwatch's byte-code is compiled first (`compileall`, into the ignored `__pycache__`
folders), as `pip install` does for a user: with PYTHONDONTWRITEBYTECODE set (as some
shells and CI images do) an editable checkout would otherwise recompile every module in
every run, which no installed meshwatch does.
"""

from __future__ import annotations

import compileall
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.result import Result

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "rules" / "slos" / "shop-checkout.yaml"
REPEAT = 9
BASELINE = [sys.executable, "-c", "import yaml, pydantic"]
COMMANDS = {
    "--version": ["--version"],
    "--help": ["--help"],
    "validate": ["validate", str(SPEC)],
}


def _once(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def run() -> list[Result]:
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in [*COMMANDS, "base"]}
    compileall.compile_dir(ROOT / "meshwatch", quiet=1)
    _once(BASELINE)  # warm the page cache and the byte-code
    for args in COMMANDS.values():
        _once([sys.executable, "-m", "meshwatch", *args])
    for _ in range(REPEAT):
        samples["base"].append(_once(BASELINE))
        for name, args in COMMANDS.items():
            samples[name].append(_once([sys.executable, "-m", "meshwatch", *args]))
    base_wall = statistics.median(w for w, _ in samples["base"])
    base_cpu = statistics.median(c for _, c in samples["base"])
    results = []
    for name in COMMANDS:
        wall = statistics.median(w for w, _ in samples[name])
        cpu = statistics.median(c for _, c in samples[name])
        results.append(
            Result(
                name=f"cli_startup {name}",
                value=wall,
                unit="s",
                baseline_name='python -c "import yaml, pydantic"',
                baseline_value=base_wall,
                higher_is_better=False,
                params={
                    "repeat": REPEAT,
                    "cpu_s": round(cpu, 4),
                    "baseline_cpu_s": round(base_cpu, 4),
                    "cpu_ratio": round(base_cpu / cpu, 3) if cpu else None,
                    "goal_ratio": 0.5,
                },
            )
        )
    return results
