"""Round-trip YAML for the user's RDS file, so a GitOps diff shows only meshwatch's change.

The file is loaded with ruamel.yaml's round-trip loader: mappings keep their key order,
comments, flow or block style and the quoting of every scalar, and the dump puts them back.
The indentation of the original is measured and reused, and lines are never re-wrapped. What
meshwatch edits in place (weights, `version_info`, the retry fields) is all that changes.
"""

from __future__ import annotations

import io
import itertools
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

__all__ = ["Document", "YAMLError", "load"]

_NEVER_WRAP = 1 << 16


def _yaml(mapping: int = 2, sequence: int = 2, offset: int = 0) -> YAML:
    """A fresh round-trip YAML (its parser holds state: never shared between threads)."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = _NEVER_WRAP
    yaml.indent(mapping=mapping, sequence=max(sequence, offset + 2), offset=offset)
    return yaml


class Document:
    """A loaded RDS document and the layout it was written in."""

    def __init__(self, data: Any, preamble: str, layout: tuple[int, int, int]) -> None:
        self.data = data
        self._preamble = preamble
        self._layout = layout

    def dump(self, data: Any) -> bytes:
        """`data` (the edited document) in the original's layout, its preamble kept as is."""
        out = io.StringIO()
        _yaml(*self._layout).dump(data, out)
        return (self._preamble + out.getvalue()).encode("utf-8")


def load(raw: bytes) -> Document:
    """Parse `raw` keeping everything a round trip needs; YAMLError on bad YAML.

    The lines before the first content line (comments, blank lines, directives, `---`) are
    kept verbatim: ruamel.yaml does not carry comments that stand before `---`.
    """
    text = raw.decode("utf-8")
    lines = text.splitlines(keepends=True)
    head = 0
    while head < len(lines) and _is_preamble(lines[head]):
        head += 1
    preamble, body = "".join(lines[:head]), "".join(lines[head:])
    layout = measure_layout(body)
    return Document(_yaml(*layout).load(body), preamble, layout)


def _is_preamble(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith(("#", "%")) or stripped == "---"


def measure_layout(text: str) -> tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) as ruamel.yaml's `indent()` takes them.

    Read off the first nested block mapping and the first block sequence under a key
    (defaults 2 and 0): a cheap look at the text instead of a second parse.
    """
    lines = [line for line in text.splitlines() if line.strip() and line.lstrip()[0] != "#"]
    mapping: int | None = None
    offset: int | None = None
    for line, following in itertools.pairwise(lines):
        head = line.split(" #", 1)[0].rstrip()
        if not head.endswith(":") or head.lstrip().startswith("- "):
            continue
        step = _indent(following) - _indent(line)
        if following.lstrip().startswith("- "):
            offset = step if offset is None and step >= 0 else offset
        elif step > 0 and mapping is None:
            mapping = step
        if mapping is not None and offset is not None:
            break
    offset = offset or 0
    return mapping or 2, offset + 2, offset


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))
