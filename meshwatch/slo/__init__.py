"""Pure SLO math: windows, budgets, burn rates, alert policy and status. No I/O."""
