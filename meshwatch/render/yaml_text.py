"""A small, fast, deterministic YAML writer for generated files.

Generated rule files are read by people as much as by Prometheus, and 10,000 SLOs must render
in seconds; PyYAML's emitter is slow and quotes PromQL into unreadable one-liners. This writer
handles exactly the shapes meshwatch generates (mappings in insertion order, lists, strings,
numbers, booleans) and picks the plainest safe style per string:

- plain when it cannot be mistaken for another type (`checkout`, `meshwatch:x:ratio_rate5m`);
- a literal block (`|-`) for PromQL and templates with quotes, so expressions read as written;
- JSON double quotes otherwise (JSON strings are valid YAML double-quoted scalars).

Tests hold it to `yaml.safe_load(dump(x)) == x` for arbitrary strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

Value = str | int | float | bool | None | Mapping[str, "Value"] | Sequence["Value"]

# plain never ends in ":" (`A:` would read as a mapping key)
_PLAIN_RE = re.compile(r"[A-Za-z_](?:[A-Za-z0-9_./:-]*[A-Za-z0-9_./-])?\Z|(?:[0-9]+[smhdw])+\Z")
_RESERVED = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})
_NUMBER_RE = re.compile(r"[-+]?(\.[0-9]|[0-9])")
_BLOCK_BAD_RE = re.compile(r"[^\x20-\x7e\n\u00a0-\ud7ff\ue000-\ufffd]| \n")
_INDENT = "  "


_UNPRINTABLE_RE = re.compile(r"[\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _quoted(value: str) -> str:
    """JSON double quotes, plus escapes for characters YAML may not hold raw (DEL, C1)."""
    text = json.dumps(value, ensure_ascii=False)
    return _UNPRINTABLE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


@lru_cache(maxsize=65536)
def scalar(value: str) -> str:
    """A string as a single-line YAML scalar: plain when unambiguous, else double-quoted."""
    if _PLAIN_RE.match(value) and value.lower() not in _RESERVED:
        return value
    return _quoted(value)


def _block_ok(value: str) -> bool:
    if not value or value[0] in " \n#" or value[-1] in " \n":
        return False
    if value.isascii():  # fast path: printable ASCII and newlines, no trailing spaces
        return " \n" not in value and value.replace("\n", "").isprintable()
    return _BLOCK_BAD_RE.search(value) is None


def _string(value: str, indent: str) -> str:
    """` value` after a `key:` (leading space included), literal block when it reads better."""
    if len(value) < 60 and '"' not in value and "\n" not in value:
        return " " + scalar(value)
    if _block_ok(value):
        return " |-\n" + "\n".join(f"{indent}{line}" for line in value.split("\n"))
    return " " + scalar(value)


@lru_cache(maxsize=8192)
def _flat_mapping(items: tuple[tuple[str, str], ...], indent: str, after_key: bool) -> str:
    """A mapping of strings (labels, annotations) - the same few repeat on every rule."""
    out: list[str] = []
    for i, (key, item) in enumerate(items):
        if after_key or i:
            out.append(f"\n{indent}")
        out.append(f"{_key(key)}:{_string(item, indent + _INDENT)}")
    return "".join(out)


def _number(value: int | float | bool | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = repr(value)
    if text in ("inf", "-inf", "nan"):
        return {"inf": ".inf", "-inf": "-.inf", "nan": ".nan"}[text]
    mantissa, e, exponent = text.partition("e")
    if e and "." not in mantissa:  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
        return f"{mantissa}.0e{exponent}"
    return text


@lru_cache(maxsize=4096)
def _key(key: str) -> str:
    if _NUMBER_RE.match(key):
        return _quoted(key)
    return scalar(key)


def _emit(value: Value, indent: str, out: list[str], after_key: bool) -> None:
    """Append `value`; `after_key` means the cursor is right after `key:`."""
    if isinstance(value, str):
        out.append(_string(value, indent) if after_key else scalar(value))
    elif isinstance(value, Mapping):
        if not value:
            out.append(" {}" if after_key else "{}")
            return
        if all(type(item) is str for item in value.values()):
            out.append(_flat_mapping(tuple(value.items()), indent, after_key))
            return
        first = True
        for key, item in value.items():
            if after_key or not first:
                out.append(f"\n{indent}")
            first = False
            out.append(f"{_key(key)}:")
            _emit(item, indent + _INDENT, out, after_key=True)
    elif isinstance(value, list | tuple):
        if not value:
            out.append(" []" if after_key else "[]")
            return
        # Lists under a key are indented one step (`key:\n  - a`), as kubectl writes them.
        first = True
        for item in value:
            if after_key or not first:
                out.append(f"\n{indent}")
            first = False
            out.append("- ")
            _emit(item, indent + _INDENT, out, after_key=False)
    elif isinstance(value, int | float | bool) or value is None:
        out.append((" " if after_key else "") + _number(value))
    else:
        raise TypeError(f"cannot write {type(value).__name__} as YAML")


def dump(document: Mapping[str, Value], header: str = "") -> str:
    """A YAML document from a mapping after `header` (comment lines, written as given)."""
    out: list[str] = []
    if header:
        out.append(header if header.endswith("\n") else header + "\n")
    _emit(document, "", out, after_key=False)
    out.append("\n")
    return "".join(out)
