"""YAML documents with the line of every field, so problems can point at the field's own line.

PyYAML's composer (the C one when libyaml is there) gives every node a start mark; we build
plain Python data from the node tree ourselves and keep the tree, so the line of a field path
(`("slos", 1, "objective")`) is looked up only when a problem needs it. Scalars are typed by
us, once per distinct plain value: the composer's per-scalar resolver is what makes PyYAML
slow on large specs. Inputs that could hurt are refused with their line: recursive aliases,
alias fan-outs (`MAX_ALIAS_NODES`), nesting deeper than Python can follow.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from meshwatch.errors import Problem
from meshwatch.spec.aliases import AliasError, check_aliases

FieldPath = tuple[str | int, ...]

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_NULL = "tag:yaml.org,2002:null"
_TYPED = frozenset(("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"))
_IMPLICIT = "tag:meshwatch,implicit"  # our builder types the scalar (see _Builder._plain)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """The safe loader without per-node tag resolution: every untagged node gets `_IMPLICIT`
    and the builder decides (plain scalars by value, quoted ones are text)."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        return _IMPLICIT

    # The safe schema has no path resolvers: skip the per-node bookkeeping (C-level no-ops).
    descend_resolver = operator.is_
    ascend_resolver = tuple


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document of a file: its data, and the node tree its lines are read from."""

    file: str
    index: int  # position in the file's document stream, from 0
    data: Mapping[str, Any]
    root: yaml.Node

    _top: dict[str, tuple[int, yaml.Node]] = field(default_factory=dict, compare=False, repr=False)
    """The line and value of each top-level key, indexed on the first lookup: mapping a
    document asks for `slos[i]` and `slos[i].name` of every SLO."""

    @property
    def line(self) -> int:
        return int(self.root.start_mark.line) + 1

    def line_of(self, path: FieldPath) -> int:
        """Line of `path` (of the key, for a list item its own line), or of its closest
        ancestor present in the file (missing fields)."""
        node = self.root
        if not path or type(path[0]) is not str or type(node) is not yaml.MappingNode:
            return _walk(node, self.line, path)  # a list at the top, or no path: walk it all
        top = self._top
        if not top:
            for key, value in reversed(node.value):  # the first of duplicate keys wins
                if type(key) is yaml.ScalarNode:
                    top[key.value] = (key.start_mark.line + 1, value)
        found = top.get(path[0])
        if found is None:
            return self.line
        return _walk(found[1], found[0], path[1:]) if len(path) > 1 else found[0]


def _walk(node: yaml.Node, line: int, path: FieldPath) -> int:
    """The line of `path` below `node` (which is at `line`), or of its closest ancestor."""
    for part in path:
        kind = type(node)
        if type(part) is int:
            if kind is not yaml.SequenceNode or not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
            continue
        if kind is not yaml.MappingNode:
            break
        for key, value in node.value:
            if key.value == part and type(key) is yaml.ScalarNode:
                line, node = key.start_mark.line + 1, value
                break
        else:
            break
    return line


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
    """Turns a composed node tree into Python data, recording duplicate keys as problems."""

    def __init__(self, file: str, merges: bool) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self._merges = merges  # the stream has a `<<`: look for merge keys
        self._constructor = yaml.constructor.SafeConstructor()
        self._resolver = yaml.resolver.Resolver()
        self._plain: dict[str, Any] = {}
        self._pending: list[tuple[yaml.Node, yaml.MappingNode, str | None, str]] = []

    def build(self, node: Any) -> Any:  # a yaml.Node; Any keeps the hot path free of casts
        kind = type(node)
        if kind is yaml.ScalarNode:
            if node.tag == _IMPLICIT:
                if node.style:  # None (Python composer) or '' (C composer) when plain
                    return node.value  # quoted or block scalars are text
                value = node.value
                typed = self._plain.get(value, self)
                return self._plain_value(node) if typed is self else typed
            return self._tagged(node)
        if kind is yaml.MappingNode:
            return self._mapping(node)
        build = self.build
        return [build(item) for item in node.value]

    def _plain_value(self, node: yaml.ScalarNode) -> Any:
        tag = self._resolver.resolve(  # type: ignore[no-untyped-call]
            yaml.ScalarNode, node.value, (True, False)
        )
        typed = self._typed(tag, node)
        self._plain[node.value] = typed
        return typed

    def _tagged(self, node: yaml.ScalarNode) -> Any:
        return self._typed(node.tag, node)

    def _typed(self, tag: str, node: yaml.ScalarNode) -> Any:
        if tag in _TYPED:
            return self._constructor.yaml_constructors[tag](self._constructor, node)
        if tag == _NULL:
            return None
        return node.value  # text, timestamps and other tags: the models say what they need

    def _mapping(self, node: yaml.MappingNode) -> dict[str, Any]:
        """The mapping as a dict. Most values are untagged scalars: they are typed here, as
        `build` would, without a call per value (24 of 62 ms of building 10,000 SLOs)."""
        if self._merges:
            self._flatten(node)
        result: dict[str, Any] = {}
        build = self.build
        plain = self._plain
        for key_node, value_node in node.value:
            if type(key_node) is not yaml.ScalarNode:
                self._problem(key_node, node, None, "mapping keys must be scalars")
                continue
            key = key_node.value
            if key in result:
                first = next(k for k, _ in node.value if k.value == key)
                self._problem(
                    key_node,
                    node,
                    key,
                    f"duplicate key {key!r} (first at line {first.start_mark.line + 1})",
                )
                continue
            if type(value_node) is yaml.ScalarNode and value_node.tag == _IMPLICIT:
                if value_node.style:  # quoted or block: text
                    result[key] = value_node.value
                    continue
                typed = plain.get(value_node.value, self)  # `self`: not typed yet
                result[key] = self._plain_value(value_node) if typed is self else typed
                continue
            result[key] = build(value_node)
        return result

    def _flatten(self, node: yaml.MappingNode) -> None:
        for key, _ in node.value:
            if type(key) is yaml.ScalarNode and key.value == "<<" and not key.style:
                key.tag = _MERGE
        if any(key.tag == _MERGE for key, _ in node.value):
            self._constructor.flatten_mapping(node)

    def _problem(
        self, at: yaml.Node, mapping: yaml.MappingNode, key: str | None, message: str
    ) -> None:
        """Note a problem; its field path is found once the document is built."""
        self._pending.append((at, mapping, key, message))

    def finish(self, root: yaml.Node) -> None:
        """Turn the problems noted while building `root` into located problems."""
        for at, mapping, key, message in self._pending:
            path = _path_to(root, mapping) or ()
            if key is not None:
                path = (*path, key)
            self.problems.append(
                Problem(self.file, at.start_mark.line + 1, format_path(path), message)
            )
        self._pending.clear()


def _path_to(root: yaml.Node, target: yaml.Node) -> FieldPath | None:
    """The field path from `root` to `target` (only when reporting a problem)."""
    todo: list[tuple[yaml.Node, FieldPath]] = [(root, ())]
    seen: set[int] = set()
    while todo:
        node, path = todo.pop()
        if node is target:
            return path
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            todo.extend((item, (*path, i)) for i, item in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            todo.extend(
                (value, (*path, str(key.value)))
                for key, value in node.value
                if isinstance(key, yaml.ScalarNode)
            )
    return None


def parse_stream(text: str, file: str) -> tuple[list[Document], list[Problem]]:
    """Every non-empty document of a YAML stream, and the problems found while reading it."""
    problems: list[Problem] = []
    documents = list(iter_stream(text, file, problems))
    return documents, problems


def iter_stream(text: str, file: str, problems: list[Problem]) -> Iterator[Document]:
    """The documents of a YAML stream one at a time (so a caller done with one lets its node
    tree go), appending the problems found while reading to `problems`.

    A document that is a list of mappings (how oslo and the OpenSLO SDK write several
    objects) gives one Document per item. A YAML syntax error ends the stream: documents
    before it are kept, the error is reported at its line.
    """
    builder = _Builder(file, merges="<<" in text)
    anchors = "&" in text  # no anchor, no alias: the alias checks are skipped
    count = 0
    for node in _compose(text, file, problems):
        if node is None:
            continue
        if anchors and not _aliases_ok(node, file, problems):
            continue
        roots = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for root in roots:
            data = _build(builder, root, file, problems)
            builder.finish(root)
            problems.extend(builder.problems)
            builder.problems.clear()
            if data is None:
                continue
            if not isinstance(data, dict):
                problems.append(
                    Problem(
                        file,
                        root.start_mark.line + 1,
                        "",
                        "a spec document must be a mapping (or a list of mappings)",
                    )
                )
                continue
            yield Document(file, count, data, root)
            count += 1


def _aliases_ok(node: yaml.Node, file: str, problems: list[Problem]) -> bool:
    try:
        check_aliases(node)
    except AliasError as exc:
        problems.append(Problem(file, exc.line, "", str(exc)))
        return False
    return True


def _build(builder: _Builder, root: yaml.Node, file: str, problems: list[Problem]) -> Any:
    try:
        return builder.build(root)
    except RecursionError:
        line = root.start_mark.line + 1
        problems.append(Problem(file, line, "", "nested too deeply to read"))
    except yaml.constructor.ConstructorError as exc:  # a bad merge key (`<<: 5`)
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else root.start_mark.line + 1
        problems.append(Problem(file, line, "", f"invalid YAML: {_one_line(exc.problem)}"))
    except ValueError as exc:  # an int or float the safe constructor cannot convert
        line = root.start_mark.line + 1
        problems.append(Problem(file, line, "", f"invalid YAML value: {_one_line(str(exc))}"))
    return None


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _compose(text: str, file: str, problems: list[Problem]) -> Iterator[yaml.Node | None]:
    loader = _Loader(text)
    try:
        while loader.check_node():
            yield loader.get_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        context = ""
        if exc.context and exc.context_mark is not None:
            context = f" ({_one_line(exc.context)} started at line {exc.context_mark.line + 1})"
        problems.append(
            Problem(file, line, "", f"invalid YAML: {_one_line(exc.problem or exc)}{context}")
        )
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        message = f"invalid YAML: character {char!r} at column {column} is not allowed"
        problems.append(Problem(file, line, "", message))
    except yaml.YAMLError as exc:
        problems.append(Problem(file, 1, "", f"invalid YAML: {_one_line(exc)}"))
    finally:
        loader.dispose()
