"""Every OpenSLO document of a load by kind and name, so references resolve across files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from pydantic import BaseModel

from meshwatch.spec.openslo import models as m
from meshwatch.spec.openslo.rules import check_document
from meshwatch.spec.problems import Problems, validate
from meshwatch.spec.source import Document

FORMAT: Final = "openslo/v1"


@dataclass(frozen=True, slots=True)
class Entry:
    doc: Document
    model: BaseModel


@dataclass
class Registry:
    """Every valid OpenSLO document of a load, by kind and `metadata.name`."""

    kinds: dict[str, dict[str, Entry]] = field(default_factory=dict)
    invalid: set[tuple[str, str]] = field(default_factory=set)  # (kind, name) with errors
    invalid_slos: list[Document] = field(default_factory=list)  # SLOs whose shape is wrong

    def add(self, doc: Document, problems: Problems) -> None:
        kind = doc.data.get("kind")
        model = m.DOCUMENTS.get(kind) if isinstance(kind, str) else None
        if model is None:
            problems.error(
                doc,
                ("kind",),
                f"unknown OpenSLO kind {kind!r}; use one of {', '.join(m.DOCUMENTS)}",
            )
            return
        before = problems.error_count
        check_document(doc, problems)
        parsed = validate(model, doc, problems)
        if parsed is None:
            if kind == "SLO":
                self.invalid_slos.append(doc)
            metadata = doc.data.get("metadata")
            name = metadata.get("name") if isinstance(metadata, dict) else None
            if isinstance(kind, str) and isinstance(name, str):
                self.invalid.add((kind, name))
            return
        if problems.error_count > before:
            self.invalid.add((str(kind), parsed.metadata.name))
        assert isinstance(kind, str)
        by_name = self.kinds.setdefault(kind, {})
        earlier = by_name.get(parsed.metadata.name)
        if earlier is not None:
            problems.error(
                doc,
                ("metadata", "name"),
                f"duplicate {kind} {parsed.metadata.name!r}, first defined at "
                f"{earlier.doc.file}:{earlier.doc.line_of(('metadata', 'name'))}",
            )
            return
        by_name[parsed.metadata.name] = Entry(doc, parsed)

    def get(self, kind: str, name: str) -> Entry | None:
        return self.kinds.get(kind, {}).get(name)

    def missing(self, kind: str, name: str) -> bool:
        """No `kind` document of that name at all (one with errors is already reported)."""
        return self.get(kind, name) is None and (kind, name) not in self.invalid
