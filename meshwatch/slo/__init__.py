"""Pure SLO math: windows, budget, burn rates, alert policy and status. No I/O.

Import the modules directly; nothing is re-exported here:

- `windows`   Workbook burn-rate tables for any period (`default_burn_windows`)
- `periods`   rolling and calendar (UTC week/month) period bounds at `now`
- `budget`    error ratio, request-weighted sums, burn rate, `ErrorBudget`, exhaustion
- `histogram` `histogram_quantile` (Prometheus semantics) and latency-SLI counts
- `policy`    multiwindow multi-burn-rate conditions on measured counts
- `evaluate`  the `SLOStatus` of an SLO from measured counts (ok/warning/breached/unknown)
"""
