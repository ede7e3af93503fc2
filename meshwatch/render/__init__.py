"""Renderers: rules, dashboards, reports. Pure text generation, plus `files` to write them."""
