"""The remediation audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from meshwatch.api.deps import StoreDep
from meshwatch.api.schemas import ActionOut

router = APIRouter(prefix="/api/v1", tags=["actions"])


@router.get("/actions", summary="Remediation plans and their outcome, newest first")
def list_actions(
    store: StoreDep,
    target: Annotated[str | None, Query(description="Only this route/target")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ActionOut]:
    return [ActionOut.of(a) for a in store.actions.list_actions(target=target, limit=limit)]
