"""The OpenSLO specification's own rules, checked on the raw document before its shape.

They hold whether or not the rest of the document is valid, so they are read from the
data as written: a document with a shape error still gets these problems reported, and
features meshwatch does not have yet are named as such next to every other problem.
"""

from __future__ import annotations

import re
from typing import Any

from meshwatch.spec.problems import Problems
from meshwatch.spec.source import Document, FieldPath

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_NAME = 63
MAX_DESCRIPTION = 1050
UTC_ZONES = frozenset(("UTC", "Etc/UTC", "Z", "GMT", "Etc/GMT"))
NOT_YET = "is not supported yet (planned in issue 16)"


def check_name(value: Any, doc: Document, path: FieldPath, problems: Problems) -> bool:
    """A name as OpenSLO requires it: a DNS label (RFC 1123), at most 63 characters."""
    if not isinstance(value, str):
        return False  # the shape check reports it
    if len(value) <= MAX_NAME and DNS_LABEL.match(value):
        return True
    problems.error(
        doc,
        path,
        f"invalid name {_short(value)!r}: OpenSLO names are DNS labels (RFC 1123): at most "
        f"{MAX_NAME} lowercase letters, digits and '-', starting and ending with a letter "
        "or digit",
    )
    return False


def check_document(doc: Document, problems: Problems) -> None:
    """Names, description lengths and the kind's own rules, on the raw data."""
    data = doc.data
    metadata = data.get("metadata")
    if isinstance(metadata, dict):
        check_name(metadata.get("name"), doc, ("metadata", "name"), problems)
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return
    _check_descriptions(spec, doc, ("spec",), problems)
    kind = data.get("kind")
    if kind == "SLO":
        _check_slo(spec, doc, problems)
    elif kind == "AlertPolicy":
        check_policy(spec, doc, ("spec",), problems)


def _check_descriptions(node: Any, doc: Document, path: FieldPath, problems: Problems) -> None:
    """Every `description` under `node` (inline SLIs, policies and conditions included)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str) and len(value) > MAX_DESCRIPTION:
                problems.error(
                    doc,
                    (*path, key),
                    f"description is {len(value)} characters; OpenSLO allows at most "
                    f"{MAX_DESCRIPTION}",
                )
            else:
                _check_descriptions(value, doc, (*path, key), problems)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _check_descriptions(value, doc, (*path, index), problems)


def _check_slo(spec: dict[str, Any], doc: Document, problems: Problems) -> None:
    service = spec.get("service")
    check_name(service, doc, ("spec", "service"), problems)
    for index, item in enumerate(_list(spec.get("alertPolicies"))):
        inline = item.get("spec") if isinstance(item, dict) else None
        if isinstance(inline, dict):
            check_policy(inline, doc, ("spec", "alertPolicies", index, "spec"), problems)


def check_policy(spec: dict[str, Any], doc: Document, path: FieldPath, problems: Problems) -> None:
    """An AlertPolicy has exactly one condition and at least one notification target."""
    conditions = _list(spec.get("conditions"))
    if len(conditions) != 1:
        problems.error(
            doc,
            (*path, "conditions"),
            f"an AlertPolicy has exactly one condition (found {len(conditions)})",
        )
    if not _list(spec.get("notificationTargets")):
        problems.error(
            doc,
            (*path, "notificationTargets"),
            "an AlertPolicy needs at least one notification target (OpenSLO requires one; "
            "meshwatch itself routes alerts through Alertmanager)",
        )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _short(value: str) -> str:
    return value if len(value) <= 80 else f"{value[:77]}..."
