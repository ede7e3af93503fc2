"""How a load reads specs: what the spec files themselves cannot say."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SLOTH_PERIOD = "30d"  # Sloth's own default (`sloth generate --default-slo-period`)


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """`sloth_period`: the SLO period of Sloth-format specs, which have no period field
    (Sloth takes it from a flag); a rolling duration like 30d or 28d, or calendar-month.
    `allow_empty`: accept files with no documents (empty, or only comments)."""

    sloth_period: str = DEFAULT_SLOTH_PERIOD
    allow_empty: bool = False
