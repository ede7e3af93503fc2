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
from ruamel.yaml.util import load_yaml_guess_indent

__all__ = ["Document", "YAMLError", "load"]

_NEVER_WRAP = 1 << 16


def _yaml(mapping: int = 2, sequence: int = 2, offset: int = 0) -> YAML:
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
    _, sequence, offset = load_yaml_guess_indent(body)  # block sequences: content, dash
    mapping = mapping_indent(body)
    layout = (mapping, sequence or mapping, offset or 0)
    return Document(_yaml(*layout).load(body), preamble, layout)


def _is_preamble(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith(("#", "%")) or stripped == "---"


def mapping_indent(text: str) -> int:
    """How far a nested block mapping is indented (the first one found; default 2)."""
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    for line, following in itertools.pairwise(lines):
        head = line.split(" #", 1)[0].rstrip()
        nested = following.lstrip()
        if head.endswith(":") and not head.lstrip().startswith("- ") and nested[:2] != "- ":
            step = (len(following) - len(nested)) - (len(line) - len(line.lstrip()))
            if step > 0:
                return step
    return 2
