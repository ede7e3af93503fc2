"""The `serve --config` file: its one YAML document, and where each problem comes from.

`settings.load_settings` validates the file's values merged with `MESHWATCH_*` variables;
this module reads the file and names every problem by its place: the file's line of the
offending key (`meshwatch.yaml:7: evaluate_interval: ...`) or, when the environment set the
field, the variable (`environment: MESHWATCH_EVALUATE_INTERVAL: ...`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from meshwatch.errors import Problem, SpecError
from meshwatch.spec.source import Document, FieldPath, format_path, parse_stream


class EnvironmentProblem(Problem):
    """A problem in a `MESHWATCH_*` variable: it has a name, not a line."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


def in_file_order(problem: Problem) -> tuple[bool, int]:
    """Problems of the file by line, then those of the environment."""
    return isinstance(problem, EnvironmentProblem), problem.line


def read_config(config_file: Path) -> tuple[Document | None, list[Problem]]:
    """The config's one document and the problems of its YAML (a duplicate key, ...).

    Problems that leave a document (duplicate keys) are reported together with the
    validation problems; unreadable or malformed YAML stops here. An empty file is
    no document (every default).
    """
    file = str(config_file)
    try:
        text = config_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([Problem(file, 1, "", f"cannot read config: {exc}")]) from exc
    documents, problems = parse_stream(text, file)
    # The spec reader unwraps a top-level list into documents (OpenSLO's shape); a config
    # file is one mapping, so a list is reported once, as such.
    listed = [p for p in problems if p.message.startswith("a spec document must be a mapping")]
    if listed or any(doc.root.start_mark.column > 0 for doc in documents[:1]):
        line = listed[0].line if listed else documents[0].line
        raise SpecError([Problem(file, line, "", "config must be a mapping, not a list")])
    if len(documents) > 1:
        problems.append(Problem(file, documents[1].line, "", "config must be one document"))
    if not documents or len(documents) > 1:
        if problems:
            raise SpecError(problems)
        return None, []
    return documents[0], problems


def problem(
    loc: tuple[int | str, ...], message: str, document: Document | None, env: Mapping[str, str]
) -> Problem:
    path: FieldPath = tuple(loc)
    variable = _variable(path, env)
    if variable is not None or document is None:
        return EnvironmentProblem("environment", 0, variable or format_path(path), message)
    return Problem(document.file, document.line_of(path), format_path(path), message)


def _variable(path: FieldPath, env: Mapping[str, str]) -> str | None:
    """The `MESHWATCH_*` variable behind `path` when the environment set its field (env wins).

    `MESHWATCH_ENVOY` sets all of `envoy`; `MESHWATCH_ENVOY__ADMIN_URL` only one key, so a
    problem with `envoy.rds_path` is then named `MESHWATCH_ENVOY__RDS_PATH`.
    """
    if not path or not isinstance(path[0], str):
        return None
    names = {name.upper() for name in env}
    top = f"MESHWATCH_{path[0].upper()}"
    if top in names:
        return top
    if not any(name.startswith(f"{top}__") for name in names):
        return None
    keys = [str(part).upper() for part in path]
    return "MESHWATCH_" + "__".join(keys)
