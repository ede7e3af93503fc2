"""Where a rejected PromQL text goes wrong, at a column: the messages users read.

`promql-parser` decides validity but says only what is wrong, not where. These walk a small
grammar of the subset meshwatch reads - `metric{label op "value", ...}`, PromQL strings with
their escapes, balanced brackets - and raise PromQLError at the first column that does not
fit. They are called only after the parser rejected a text (or returned something outside
the subset); when they find nothing, the caller reports the parser's own message.
"""

from __future__ import annotations

import re

from meshwatch.errors import PromQLError
from meshwatch.selector import MatchOp

_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_OPS: tuple[MatchOp, ...] = ("=~", "!~", "!=", "=")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "`": "`"}
_CLOSING = {")": "(", "]": "[", "}": "{"}


def selector(text: str, *, metric_required: bool) -> None:
    """Raise PromQLError at the first column where `text` is not `metric{matchers}`."""
    pos = _skip_space(text, 0)
    match = _METRIC.match(text, pos)
    if match is not None:
        pos = _skip_space(text, match.end())
    elif metric_required:
        raise PromQLError(f"expected a metric name at column {pos + 1} of {text!r}")
    if pos < len(text) and text[pos] == "{":
        pos = _skip_space(text, _matchers(text, pos + 1))
    if pos != len(text):
        raise PromQLError(
            f"unexpected {text[pos]!r} at column {pos + 1} of {text!r}; "
            'expected a counter selector like metric{label="value"}'
        )


def _matchers(text: str, pos: int) -> int:
    while True:
        pos = _skip_space(text, pos)
        if pos < len(text) and text[pos] == "}":
            return pos + 1
        label = _LABEL.match(text, pos)
        if label is None:
            raise PromQLError(f"expected a label name at column {pos + 1} of {text!r}")
        pos = _skip_space(text, label.end())
        op = next((o for o in _OPS if text.startswith(o, pos)), None)
        if op is None:
            raise PromQLError(f"expected '=', '!=', '=~' or '!~' at column {pos + 1} of {text!r}")
        value, pos = string(text, _skip_space(text, pos + len(op)))
        if op in ("=~", "!~"):
            regex(value)
        pos = _skip_space(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos >= len(text) or text[pos] != "}":
            raise PromQLError(f"expected ',' or '}}' at column {pos + 1} of {text!r}")


def regex(value: str) -> None:
    """Raise unless Python can run the regex too (the embedded engine matches labels with it)."""
    try:
        re.compile(value)
    except re.error as exc:
        raise PromQLError(f"invalid regular expression {value!r}: {exc}") from exc


def string(text: str, pos: int) -> tuple[str, int]:
    """The PromQL string literal at `pos`, decoded, and the column after it."""
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


def brackets(query: str) -> None:
    """Raise PromQLError at an unbalanced bracket or an unterminated string of `query`.

    Strings and `#` comments are skipped; `{{.window}}` is balanced itself, so columns are
    the user's.
    """
    stack: list[tuple[str, int]] = []
    pos = 0
    while pos < len(query):
        char = query[pos]
        if char in "\"'`":
            _, pos = string(query, pos)
            continue
        if char == "#":  # a PromQL comment runs to the end of the line
            end = query.find("\n", pos)
            pos = len(query) if end < 0 else end
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
