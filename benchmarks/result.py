"""The one output shape of every benchmark (DESIGN.md, "Performance budgets")."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Result:
    """`ratio` > 1 means meshwatch did better than the baseline measured in the same run."""

    name: str
    value: float
    unit: str
    baseline_name: str
    baseline_value: float
    higher_is_better: bool
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        if self.higher_is_better:
            return self.value / self.baseline_value if self.baseline_value else float("inf")
        return self.baseline_value / self.value if self.value else float("inf")

    def json_line(self) -> str:
        return json.dumps(
            {
                "name": self.name,
                "value": round(self.value, 6),
                "unit": self.unit,
                "baseline": {"name": self.baseline_name, "value": round(self.baseline_value, 6)},
                "ratio": round(self.ratio, 3),
                "params": self.params,
            },
            sort_keys=False,
        )


def best_of(func: Callable[[], object], repeat: int = 3) -> float:
    """Fastest wall-clock seconds of `repeat` calls (the least disturbed run)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)
