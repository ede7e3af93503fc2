"""Bounds on YAML aliases: a composed document is a graph, and data built from it a tree.

`slos: &s [*s]` makes a cycle (building it never ends); nine anchors of nine aliases each
make a 400-byte file that expands to a billion nodes. Both are found on the node graph
before any data is built: cycles by a depth-first walk, fan-outs by counting how many nodes
the aliases add once expanded (`MAX_ALIAS_NODES`), each node's expanded size computed once.
"""

from __future__ import annotations

import yaml

MAX_ALIAS_NODES = 100_000  # nodes aliases may add to one document once expanded


class AliasError(ValueError):
    """A document whose aliases are recursive or expand too far; `line` is the culprit's."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def check_aliases(root: yaml.Node) -> None:
    """Raise AliasError when `root`'s aliases are recursive or expand past MAX_ALIAS_NODES."""
    sizes: dict[int, int] = {}  # id(node) -> nodes in its expanded subtree
    open_: set[int] = set()  # nodes on the current path
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            continue
        if key in sizes:
            continue  # an alias of a node already sized
        if key in open_:
            raise AliasError(
                node.start_mark.line + 1,
                "recursive YAML alias: the anchored value contains itself",
            )
        open_.add(key)
        stack.append((node, True))
        for child in _children(node):
            child_key = id(child)
            if child_key in open_:
                raise AliasError(
                    child.start_mark.line + 1,
                    "recursive YAML alias: the anchored value contains itself",
                )
            if child_key not in sizes:
                stack.append((child, False))
    distinct = len(sizes)
    expanded = sizes[id(root)]
    if expanded - distinct > MAX_ALIAS_NODES:
        raise AliasError(
            root.start_mark.line + 1,
            f"YAML aliases expand this document by {expanded - distinct:,} nodes; at most "
            f"{MAX_ALIAS_NODES:,} are allowed (write the values out, or use fewer aliases)",
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
