"""`{{.window}}` templates as typed parts: PromQL text and window placeholders.

A template (Sloth, OpenSLO, a native `query`) is not PromQL until each placeholder is a
duration, so it is kept as the user's text split at its placeholders (the Go-template
syntax `{{ .window }}`, spaces allowed). Rendering joins the parts around a duration, so
everything else stays byte for byte what the user wrote; like Sloth's Go templates, a
placeholder inside a string is replaced too. A template is valid when the parser accepts it
with a probe duration in every placeholder: a placeholder where PromQL takes a number
(`x > {{.window}}`), an unknown function or a range where a vector goes is refused.
The parser follows PromQL as of Prometheus 2.45 and reads durations where numbers go (as
Prometheus 3 does); apart from the placeholder, that leniency is left to promtool.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import promql_parser as pp

from meshwatch.errors import PromQLError
from meshwatch.promql import diagnose, expr

WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")
# slo-generator's own placeholder in a filter or expression: `metric{...}[window]`.
SLO_GENERATOR_WINDOW = re.compile(r"\[\s*window\s*\]")
# A duration no user writes (11d10h20m54s321ms): a range of this length is a placeholder.
_PROBE = "987654321ms"
PROBE_DURATION = timedelta(milliseconds=987654321)


@dataclass(frozen=True, slots=True)
class Template:
    """The text between placeholders: `texts[0] W texts[1] W ... texts[-1]`."""

    texts: tuple[str, ...]

    @property
    def windows(self) -> int:
        """How many placeholders there are."""
        return len(self.texts) - 1

    def render(self, window: str) -> str:
        """The text with every placeholder replaced by `window` (a Prometheus duration)."""
        return window.join(self.texts)


@lru_cache(maxsize=4096)
def split(text: str, placeholder: re.Pattern[str] = WINDOW) -> Template:
    """`text` split at its placeholders (cached: rules render each template per window)."""
    return Template(tuple(placeholder.split(text)))


def render(text: str, window: str) -> str:
    """`text` with every `{{.window}}` replaced by `window` (a Prometheus duration)."""
    return split(text).render(window)


def has_window(text: str) -> bool:
    return split(text).windows > 0


@lru_cache(maxsize=4096)
def probe(text: str) -> pp.Expr:
    """The tree of the template with the probe duration in every placeholder (checked)."""
    template = split(text)
    rendered = template.render(_PROBE)
    try:
        node = pp.parse(rendered)
    except ValueError as exc:
        diagnose.brackets(text)
        raise PromQLError(f"invalid PromQL: {exc} in {text!r}") from exc
    # The parser reads a duration where a number goes as seconds (newer PromQL); Prometheus 2
    # refuses it, and a window as a threshold is a mistake either way.
    if PROBE_DURATION.total_seconds() in expr.numbers(node):
        raise PromQLError(
            f"{{{{.window}}}} stands where PromQL takes a number in {text!r}; "
            "it is a duration, e.g. rate(x[{{.window}}])"
        )
    return node


def check(query: str, *, window_required: bool = True) -> None:
    """Raise PromQLError unless `query` is a valid template (see the module docstring)."""
    if not query.strip():
        raise PromQLError("query is empty")
    if window_required and not has_window(query):
        raise PromQLError(
            "query has no {{.window}} placeholder; it is replaced by each rule window "
            "(e.g. rate(x[{{.window}}]))"
        )
    probe(query)


def calls(text: str) -> frozenset[str]:
    """The functions a template calls (PromQLError when it is not a valid template)."""
    return expr.calls(probe(text))
