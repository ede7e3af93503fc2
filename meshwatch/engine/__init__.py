"""The evaluation engine: measure every SLO with a collector and evaluate it."""
