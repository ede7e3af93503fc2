"""Pure SLO math: windows, budget, burn rates, alert policy and status. No I/O
(apart from reading the zone database, once per zone).

Import the modules directly; nothing is re-exported here:

- `windows`   Workbook burn-rate tables for any period (`default_burn_windows`)
- `periods`   rolling and calendar (week/month in the window's time zone) bounds at `now`
- `calendar`  weeks, months, quarters from local midnight in an IANA zone (DST included)
- `zone_rule` a zone's yearly DST rule (its TZif footer), as the generated PromQL applies it
- `budget`    error ratio, request-weighted sums, burn rate, `ErrorBudget`, exhaustion
- `histogram` `histogram_quantile` (Prometheus semantics) and latency-SLI counts
- `policy`    multiwindow multi-burn-rate conditions on measured counts
- `evaluate`  the `SLOStatus` of an SLO from measured counts (ok/warning/breached/unknown)
"""
