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

    def __init__(self, data: Any, mapping: int, sequence: int, offset: int, start: bool) -> None:
        self.data = data
        self._layout = (mapping, sequence, offset)
        self._explicit_start = start

    def dump(self, data: Any) -> bytes:
        """`data` (the edited document) in the original's layout."""
        yaml = _yaml(*self._layout)
        yaml.explicit_start = self._explicit_start
        out = io.StringIO()
        yaml.dump(data, out)
        return out.getvalue().encode("utf-8")


def load(raw: bytes) -> Document:
    """Parse `raw` keeping everything a round trip needs; YAMLError on bad YAML."""
    text = raw.decode("utf-8")
    _, sequence, offset = load_yaml_guess_indent(text)  # block sequences: content, dash
    mapping = mapping_indent(text)
    sequence, offset = sequence or mapping, offset or 0
    data = _yaml(mapping, sequence, offset).load(text)
    return Document(data, mapping, sequence, offset, text.lstrip().startswith("---"))


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
