"""Collecting problems with their locations, and turning pydantic errors into them."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from meshwatch.errors import Problem
from meshwatch.spec.source import Document, FieldPath, format_path

M = TypeVar("M", bound=BaseModel)


class Problems:
    """Every error and warning found so far, across all documents of a load."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.error_count = 0

    def error(self, doc: Document, path: FieldPath, message: str) -> None:
        self.items.append(Problem(doc.file, doc.line_of(path), format_path(path), message))
        self.error_count += 1

    def warning(self, doc: Document, path: FieldPath, message: str) -> None:
        self.items.append(
            Problem(doc.file, doc.line_of(path), format_path(path), message, "warning")
        )

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.items.append(problem)
            self.error_count += problem.severity == "error"


def validate(
    model: type[M], doc: Document, problems: Problems, data: Any = None, at: FieldPath = ()
) -> M | None:
    """Validate `data` (default the whole document) found at `at`; None on errors, recorded."""
    data = doc.data if data is None else data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    known = _field_names(model)
    messages: dict[FieldPath, list[str]] = {}
    for error in errors:
        path: FieldPath = (*at, *_data_path(data, error["loc"], error["type"]))
        messages.setdefault(path, []).append(_message(error, path, known))
    for path, texts in messages.items():  # union members fail together: one problem
        problems.error(doc, path, " or ".join(dict.fromkeys(texts)))
    if any(error["type"] != "extra_forbidden" for error in errors):
        return None
    # Only unknown fields: check the rest too, so one typo does not hide other problems.
    try:
        return model.model_validate(_without(data, [tuple(e["loc"]) for e in errors]))
    except ValidationError:  # pragma: no cover - removing keys cannot add errors
        return None


def _data_path(data: Any, loc: tuple[Any, ...], kind: str) -> FieldPath:
    """The part of a pydantic `loc` that exists in the data (drops union-member tags like
    `str` / `list[str]`), plus the key itself when it is the missing one."""
    path: list[str | int] = []
    for part in loc:
        inside = (isinstance(data, dict) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        )
        if not inside:
            if kind == "missing" and isinstance(data, dict):
                path.append(part)
            break
        data = data[part]
        path.append(part)
    return tuple(path)


def _without(data: Any, paths: list[FieldPath]) -> Any:
    data = copy.deepcopy(data)
    for path in paths:
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        del parent[path[-1]]
    return data


def _message(error: Any, path: FieldPath, known: frozenset[str]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        import difflib  # only for a misspelt field

        name = str(path[-1]) if path else ""
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown field {name!r}{hint}"
    if kind == "missing":
        return "required field is missing"
    message = str(error["msg"])
    if kind == "literal_error":
        return f"invalid value {error.get('input')!r}; expected {error['ctx']['expected']}"
    return message[:1].lower() + message[1:]


def _field_names(model: type[BaseModel]) -> frozenset[str]:
    """Every field name (and alias) reachable from `model`, for "did you mean" hints."""
    names: set[str] = set()
    seen: set[type[BaseModel]] = set()
    todo = [model]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for name, info in current.model_fields.items():
            names.add(info.alias or name)
            todo.extend(_models_in(info.annotation))
    return frozenset(names)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]
