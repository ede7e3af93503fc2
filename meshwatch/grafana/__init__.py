"""Talking to a Grafana server over its HTTP API (dashboard push)."""
