"""Spec files are UTF-8 (or UTF-16 / UTF-32 with a byte-order mark), at most 16 MiB each
(split larger sets into several files; folders are read recursively). A file with no
documents (empty, or only comments) is an error unless `--allow-empty` is given. YAML
aliases may add at most 100,000 nodes to a document once expanded, and may not contain
themselves; service and SLO names are at most 100 characters (they become file names).
Each such problem is reported as `FILE:LINE: message`, like any other.
"""

from __future__ import annotations

from meshwatch.spec.aliases import MAX_ALIAS_NODES
from meshwatch.spec.checks import MAX_NAME_LENGTH
from meshwatch.spec.text import MAX_FILE_BYTES

__all__ = ["MAX_ALIAS_NODES", "MAX_FILE_BYTES", "MAX_NAME_LENGTH"]
