"""The small part of PromQL meshwatch reads itself: counter selectors, and template checks.

`parse_selector` turns `http_requests_total{job="api",code=~"5.."}` into a model.Selector
(label values in double quotes, single quotes or backticks, with PromQL's escapes).
`check_template` looks at arbitrary PromQL templates (Sloth/OpenSLO queries) for what can be
seen without a full parser: the `{{.window}}` placeholder, balanced brackets and quotes.
`counter_in_rate` recognises `sum(rate(SELECTOR[{{.window}}]))`, which meshwatch can then
compute from the counter itself (both engines) instead of as an opaque query.
"""

from __future__ import annotations

import re

from meshwatch.errors import PromQLError
from meshwatch.model import Matcher, MatchOp, Selector

_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_OPS: tuple[MatchOp, ...] = ("=~", "!~", "!=", "=")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "`": "`"}
WINDOW_RE = re.compile(r"\{\{\s*\.window\s*\}\}")
_RATE_OF_COUNTER = re.compile(
    r"^\s*sum\s*\(\s*(?:rate|increase)\s*\(\s*(?P<selector>.*?)\s*"
    r"\[\s*\{\{\s*\.window\s*\}\}\s*\]\s*\)\s*\)\s*$",
    re.DOTALL,
)


# The common case, double-quoted values without escapes, in one regular expression; anything
# else (escapes, other quotes, errors) goes through the character-by-character parser.
_SIMPLE_MATCHER = r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"\\]*)"\s*'
_SIMPLE_SELECTOR = re.compile(
    rf"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?:\{{((?:{_SIMPLE_MATCHER},)*(?:{_SIMPLE_MATCHER})?)\}})?\s*"
)
_SIMPLE_MATCHERS = re.compile(_SIMPLE_MATCHER + ",?")


def parse_selector(text: str, *, metric_required: bool = True) -> Selector:
    """Parse `metric{label op "value", ...}`; `{...}` alone when `metric_required` is False."""
    simple = _SIMPLE_SELECTOR.fullmatch(text)
    if simple is not None and (simple.group(1) or not metric_required):
        found = tuple(
            Matcher(label, op, value)
            for label, op, value in _SIMPLE_MATCHERS.findall(simple.group(2) or "")
        )
        if all(_valid_regex(m) for m in found):
            return Selector(simple.group(1) or "", found)
    pos = _skip_space(text, 0)
    match = _METRIC.match(text, pos)
    metric = ""
    if match is not None:
        metric = match.group()
        pos = _skip_space(text, match.end())
    elif metric_required:
        raise PromQLError(f"expected a metric name at column {pos + 1} of {text!r}")
    matchers: list[Matcher] = []
    if pos < len(text) and text[pos] == "{":
        matchers, pos = _matchers(text, pos + 1)
        pos = _skip_space(text, pos)
    if pos != len(text):
        raise PromQLError(
            f"unexpected {text[pos]!r} at column {pos + 1} of {text!r}; "
            'expected a counter selector like metric{label="value"}'
        )
    return Selector(metric, tuple(matchers))


def _matchers(text: str, pos: int) -> tuple[list[Matcher], int]:
    matchers: list[Matcher] = []
    while True:
        pos = _skip_space(text, pos)
        if pos < len(text) and text[pos] == "}":
            return matchers, pos + 1
        label = _LABEL.match(text, pos)
        if label is None:
            raise PromQLError(f"expected a label name at column {pos + 1} of {text!r}")
        pos = _skip_space(text, label.end())
        op = next((o for o in _OPS if text.startswith(o, pos)), None)
        if op is None:
            raise PromQLError(f"expected '=', '!=', '=~' or '!~' at column {pos + 1} of {text!r}")
        pos = _skip_space(text, pos + len(op))
        value, pos = _string(text, pos)
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise PromQLError(f"invalid regular expression {value!r}: {exc}") from exc
        matchers.append(Matcher(label.group(), op, value))
        pos = _skip_space(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos >= len(text) or text[pos] != "}":
            raise PromQLError(f"expected ',' or '}}' at column {pos + 1} of {text!r}")


def _valid_regex(matcher: Matcher) -> bool:
    if matcher.op not in ("=~", "!~"):
        return True
    try:
        re.compile(matcher.value)
    except re.error:
        return False
    return True


def _string(text: str, pos: int) -> tuple[str, int]:
    if pos >= len(text) or text[pos] not in "\"'`":
        raise PromQLError(f"expected a quoted label value at column {pos + 1} of {text!r}")
    quote = text[pos]
    out: list[str] = []
    pos += 1
    while pos < len(text):
        char = text[pos]
        if char == quote:
            return "".join(out), pos + 1
        if char == "\\" and quote != "`":
            if pos + 1 >= len(text) or text[pos + 1] not in _ESCAPES:
                raise PromQLError(f"invalid escape at column {pos + 1} of {text!r}")
            out.append(_ESCAPES[text[pos + 1]])
            pos += 2
            continue
        out.append(char)
        pos += 1
    raise PromQLError(f"unterminated string starting at column {pos + 1} of {text!r}")


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


_CLOSING = {")": "(", "]": "[", "}": "{"}


def check_template(query: str, *, window_required: bool = True) -> None:
    """Raise PromQLError when a PromQL template is visibly broken."""
    if not query.strip():
        raise PromQLError("query is empty")
    if window_required and WINDOW_RE.search(query) is None:
        raise PromQLError(
            "query has no {{.window}} placeholder; it is replaced by each rule window "
            "(e.g. rate(x[{{.window}}]))"
        )
    text = query  # `{{.window}}` is balanced itself, so columns stay the user's
    stack: list[tuple[str, int]] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char in "\"'`":
            _, pos = _string(text, pos)
            continue
        if char == "#":  # a PromQL comment runs to the end of the line
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
            continue
        if char in "([{":
            stack.append((char, pos))
        elif char in ")]}":
            if not stack or stack[-1][0] != _CLOSING[char]:
                raise PromQLError(f"unbalanced {char!r} at column {pos + 1} of {query!r}")
            stack.pop()
        pos += 1
    if stack:
        char, where = stack[-1]
        raise PromQLError(f"unclosed {char!r} at column {where + 1} of {query!r}")


_SUM_OF = re.compile(r"^\s*sum\s*\((?P<selector>.*)\)\s*$", re.DOTALL)


def parse_counter(text: str) -> Selector:
    """A counter selector, optionally summed: `metric{...}` or `sum(metric{...})`.

    Both count the same events, so a ratio of two is the same ratio of increases.
    """
    summed = _SUM_OF.match(text)
    if summed is not None:
        try:
            return parse_selector(summed.group("selector"))
        except PromQLError:
            pass
    return parse_selector(text)


def counter_in_rate(query: str) -> Selector | None:
    """The counter selector of `sum(rate(SELECTOR[{{.window}}]))`, else None."""
    match = _RATE_OF_COUNTER.match(query)
    if match is None:
        return None
    try:
        return parse_selector(match.group("selector"))
    except PromQLError:
        return None
