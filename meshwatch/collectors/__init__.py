"""Metrics sources: Prometheus (queries recorded series) and the embedded scraper.

Both implement `meshwatch.collectors.base.SLICollector`, so the evaluation engine does not
know which one it talks to.
"""
