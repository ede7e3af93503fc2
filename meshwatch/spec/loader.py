"""Read spec files and folders, dispatch each document to its format, check across files.

Each dialect's models are imported the first time a document of that dialect is read: their
pydantic models take most of `meshwatch validate`'s start-up, and a tree is usually written
in one or two dialects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Final

from meshwatch.errors import Problem
from meshwatch.spec.checks import Found
from meshwatch.spec.options import LoadOptions
from meshwatch.spec.problems import Problems
from meshwatch.spec.source import Document, iter_stream
from meshwatch.spec.text import decode, too_large

if TYPE_CHECKING:
    from meshwatch.spec.openslo.registry import Registry

DocumentLoader = Callable[[Document, Problems, LoadOptions], list[Found]]
SUFFIXES = (".yaml", ".yml")
_BY_DOCUMENT = attrgetter("file", "index")


def spec_files(paths: Sequence[str | Path]) -> tuple[list[Path], list[Problem]]:
    """Files named directly, and every *.yaml / *.yml under folders (recursive, sorted).

    Hidden files and folders are skipped: a Kubernetes ConfigMap volume holds every file
    twice more, under `..data/` and `..<timestamp>/`.
    """
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and p.is_file()
            )
            if not found:
                problems.append(Problem(str(path), 0, "", "no *.yaml or *.yml files in folder"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(str(path), 0, "", "no such file or folder"))
    unique = list(dict.fromkeys(files))
    return unique, problems


def load_documents(
    documents: Iterable[Document], problems: Problems, options: LoadOptions
) -> list[Found]:
    """Map every document to SLOs; then the checks that need all of them (duplicate ids)."""
    found: list[Found] = []
    registry: Registry | None = None
    for doc in documents:
        if doc.data.get("apiVersion") == OPENSLO_V1:
            if registry is None:
                from meshwatch.spec.openslo.registry import Registry

                registry = Registry()
            registry.add(doc, problems)  # mapped below, once every reference can resolve
            continue
        loader = _loader_for(doc, problems)
        if loader is not None:
            found.extend(loader(doc, problems, options))
    if registry is not None:
        from meshwatch.spec.openslo.slo import load_slos

        found.extend(load_slos(registry, problems))
    found.sort(key=_BY_DOCUMENT)  # stable: in-document order stays
    _check_duplicates(found, problems)
    return found


# The dialects' apiVersions, spelt here so that reading one needs no other dialect's module
# (tests/unit/spec hold them equal to each module's own constant).
NATIVE: Final = "meshwatch/v1"
SLOTH_K8S: Final = "sloth.slok.dev/v1"
SLOTH_PROMETHEUS: Final = "prometheus/v1"
OPENSLO_V1: Final = "openslo/v1"
OPENSLO_V1ALPHA: Final = "openslo/v1alpha"
PYRRA: Final = "pyrra.dev/v1alpha1"
SLO_GENERATOR: Final = "sre.google.com/v2"


def _native(doc: Document, problems: Problems, options: LoadOptions) -> list[Found]:
    from meshwatch.spec.native.slo import load_native

    return load_native(doc, problems, options)


def _sloth_k8s(doc: Document, problems: Problems, options: LoadOptions) -> list[Found]:
    from meshwatch.spec import sloth

    return sloth.load_k8s(doc, problems, options)


def _sloth_prometheus(doc: Document, problems: Problems, options: LoadOptions) -> list[Found]:
    from meshwatch.spec import sloth

    return sloth.load_prometheus_v1(doc, problems, options)


def _openslo_v1alpha(doc: Document, problems: Problems, options: LoadOptions) -> list[Found]:
    from meshwatch.spec import openslo_v1alpha

    return openslo_v1alpha.load_v1alpha(doc, problems, options)


def _pyrra(doc: Document, problems: Problems, options: LoadOptions) -> list[Found]:
    from meshwatch.spec import pyrra

    return pyrra.load_pyrra(doc, problems, options)


def _slo_generator(doc: Document, problems: Problems, options: LoadOptions) -> list[Found]:
    from meshwatch.spec import slo_generator

    return slo_generator.load_slo_generator(doc, problems, options)


_LOADERS: dict[str, DocumentLoader] = {
    NATIVE: _native,
    SLOTH_K8S: _sloth_k8s,
    OPENSLO_V1ALPHA: _openslo_v1alpha,
    PYRRA: _pyrra,
    SLO_GENERATOR: _slo_generator,
}
_KNOWN = (
    "meshwatch/v1, sloth.slok.dev/v1, openslo/v1, openslo/v1alpha, pyrra.dev/v1alpha1, "
    "sre.google.com/v2"
)


def _loader_for(doc: Document, problems: Problems) -> DocumentLoader | None:
    api_version = doc.data.get("apiVersion")
    loader = _LOADERS.get(api_version) if isinstance(api_version, str) else None
    if loader is not None:
        return loader
    if api_version is None and doc.data.get("version") == SLOTH_PROMETHEUS:
        return _sloth_prometheus
    if api_version is None and "version" not in doc.data:
        problems.error(
            doc,
            (),
            f"missing apiVersion; use {_KNOWN} (or version: prometheus/v1 for Sloth)",
        )
        return None
    shown = api_version if api_version is not None else doc.data.get("version")
    field = "apiVersion" if api_version is not None else "version"
    problems.error(
        doc,
        (field,),
        f"unknown {field} {shown!r}; use {_KNOWN} or prometheus/v1",
    )
    return None


def _check_duplicates(found: list[Found], problems: Problems) -> None:
    first: dict[str, Found] = {}
    for item in found:
        earlier = first.setdefault(item.slo.id, item)
        if earlier is item:
            continue
        where = f"{earlier.file}:{earlier.name_line}"
        problems.extend(
            [
                Problem(
                    item.file,
                    item.name_line,
                    item.name_field,
                    f"duplicate SLO id {item.slo.id!r}, first defined at {where}",
                )
            ]
        )


def read_paths(
    paths: Sequence[str | Path], problems: Problems, options: LoadOptions
) -> Iterator[Document]:
    """Every document of every spec file, file by file (a file is read when it is reached)."""
    files, missing = spec_files(paths)
    problems.extend(missing)
    for file in files:
        yield from read_text(_read(file, problems), str(file), problems, options)


def _read(file: Path, problems: Problems) -> str | None:
    try:
        too_big = too_large(str(file), file.stat().st_size)
        if too_big is not None:  # refused before reading it
            problems.extend([too_big])
            return None
        text, problem = decode(file.read_bytes(), str(file))
    except OSError as exc:
        problems.extend([Problem(str(file), 1, "", f"cannot read: {exc.strerror or exc}")])
        return None
    if problem is not None:
        problems.extend([problem])
    return text


def read_text(
    text: str | None, file: str, problems: Problems, options: LoadOptions
) -> Iterator[Document]:
    """The documents of one file's text; a file without any is an error unless allowed."""
    if text is None:
        return
    too_big = too_large(file, len(text))
    if too_big is not None:
        problems.extend([too_big])
        return
    found: list[Problem] = []
    count = 0
    for doc in iter_stream(text, file, found):
        count += 1
        yield doc
    problems.extend(found)
    if not count and not found and not options.allow_empty:
        problems.extend(
            [
                Problem(
                    file,
                    1,
                    "",
                    "no SLO documents (the file is empty or only comments); "
                    "pass --allow-empty to accept it",
                )
            ]
        )
