"""YAML documents with the line of every field, so problems can point at the field's own line.

PyYAML's composer gives every node a start mark; we build plain Python data from the node
tree ourselves and record, for every field path (`("slos", 1, "objective")`), the line of
the key (or, for list items, of the item). The C composer is used when libyaml is there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from meshwatch.errors import Problem

FieldPath = tuple[str | int, ...]

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """The safe loader, with scalar tag resolution memoised per stream.

    Specs repeat the same keys and values thousands of times; resolving each one runs
    PyYAML's regular expressions again. The safe schema has no path resolvers, so the
    per-node path bookkeeping is skipped too.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._tags: dict[tuple[str, tuple[bool, bool]], str] = {}

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode or not isinstance(implicit, tuple):
            return str(super().resolve(kind, value, implicit))
        key = (value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            tag = self._tags[key] = super().resolve(kind, value, implicit)
        return tag

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_TYPED = frozenset(("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"))
_NULL = "tag:yaml.org,2002:null"


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document of a file: its data and the line of every field path (1-based)."""

    file: str
    index: int  # position in the file's document stream, from 0
    data: Mapping[str, Any]
    lines: Mapping[FieldPath, int]

    @property
    def line(self) -> int:
        return self.lines.get((), 1)

    def line_of(self, path: FieldPath) -> int:
        """Line of `path`, or of its closest ancestor present in the file (missing fields)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1


def format_path(path: FieldPath) -> str:
    """`("slos", 1, "objective")` -> `slos[1].objective`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


class _Builder:
    """Turns a composed node tree into Python data, recording lines and duplicate keys."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[FieldPath, int] = {}
        self.problems: list[Problem] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: FieldPath) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.lines[(*path, index)] = item.start_mark.line + 1
                items.append(self.build(item, (*path, index)))
            return items
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        return None  # pragma: no cover - the composer yields only the three node kinds

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _STR:
            return node.value
        if node.tag in _TYPED:
            return self._constructor.yaml_constructors[node.tag](self._constructor, node)
        if node.tag == _NULL:
            return None
        return node.value  # timestamps and other tags stay text; the models say what they need

    def _mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[str, Any]:
        if any(key.tag == _MERGE for key, _ in node.value):
            self._constructor.flatten_mapping(node)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    Problem(self.file, line, format_path(path), "mapping keys must be scalars")
                )
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in result:
                first = self.lines[child]
                self.problems.append(
                    Problem(
                        self.file,
                        line,
                        format_path(child),
                        f"duplicate key {key!r} (first at line {first})",
                    )
                )
                continue
            self.lines[child] = line
            result[key] = self.build(value_node, child)
        return result


def parse_stream(text: str, file: str) -> tuple[list[Document], list[Problem]]:
    """Every non-empty document of a YAML stream, and the problems found while reading it.

    A YAML syntax error ends the stream: documents before it are kept, the error is reported
    at its line.
    """
    documents: list[Document] = []
    problems: list[Problem] = []
    for index, node in _compose(text, file, problems):
        if node is None:
            continue
        builder = _Builder(file)
        builder.lines[()] = node.start_mark.line + 1
        data = builder.build(node, ())
        problems.extend(builder.problems)
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(
                Problem(file, node.start_mark.line + 1, "", "a spec document must be a mapping")
            )
            continue
        documents.append(Document(file, index, data, builder.lines))
    return documents, problems


def _compose(
    text: str, file: str, problems: list[Problem]
) -> Iterator[tuple[int, yaml.Node | None]]:
    loader = _Loader(text)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            yield index, node
            index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        context = ""
        if exc.context and exc.context_mark is not None:
            context = f" ({exc.context} started at line {exc.context_mark.line + 1})"
        problems.append(Problem(file, line, "", f"invalid YAML: {exc.problem or exc}{context}"))
    except yaml.YAMLError as exc:
        problems.append(Problem(file, 1, "", f"invalid YAML: {exc}"))
    finally:
        loader.dispose()
