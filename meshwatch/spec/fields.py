"""Field types the spec models share."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator


def _as_text(value: Any) -> Any:
    """A YAML scalar as the text Sloth and Kubernetes make of it: `true` -> "true",
    `0.2` -> "0.2", `5` -> "5". Lists and mappings are left for pydantic to refuse."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return value


Text = Annotated[str, BeforeValidator(_as_text)]
TextMap = dict[str, Text]  # labels and annotations: scalar values become text


def _null_as_list(value: Any) -> Any:
    return [] if value is None else value


def _null_as_map(value: Any) -> Any:
    return {} if value is None else value


T = TypeVar("T")
# Optional lists and mappings that published specs leave empty (`alertPolicies:` with no value).
OptionalList = Annotated[list[T], BeforeValidator(_null_as_list)]
OptionalMap = Annotated[dict[str, T], BeforeValidator(_null_as_map)]
