"""Manual control of the remediation loop, per target: list, hold, resume, roll back.

Targets are route ids as the policy spells them and may contain slashes (an Envoy target is
`<route_config>/<virtual_host>/<route>`, a Kubernetes one `namespace/name#rule`): the path
parameter takes the rest of the path, so `POST /api/v1/targets/local_route/svc/main/hold`
holds `local_route/svc/main`. URL-encode `#` as `%23`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from meshwatch.api.deps import ServicesDep, Writer
from meshwatch.api.schemas import ActionOut
from meshwatch.errors import ActuatorError, UnknownTargetError
from meshwatch.remediate.control import RemediationControl, TargetStatus

router = APIRouter(prefix="/api/v1", tags=["remediation"])

_WRITE_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "No bearer token"},
    403: {"description": "Wrong token"},
    404: {"description": "No remediation policy targets this route"},
}


class TargetOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str
    slo_id: str
    actuator: str
    dry_run: bool = Field(description="Plans on this target are recorded, not applied.")
    held: bool = Field(description="A manual hold keeps the loop from changing this target.")
    weights: dict[str, int] | None = Field(description="As last read from the data plane.")
    baseline: dict[str, int] = Field(description="The weights restore and rollback aim at.")
    decision: str = Field(description="The planner's last decision (none, shift, frozen, ...).")
    reason: str
    decided_at: datetime | None
    error: str = Field(description="The last error reading the data plane, if any.")
    alerting: list[str] = Field(
        default_factory=list,
        description="Backends with a firing page alert from Alertmanager, as the loop knows them.",
    )

    @classmethod
    def of(cls, target: TargetStatus) -> TargetOut:
        return cls(
            target=target.target,
            slo_id=target.slo_id,
            actuator=target.actuator,
            dry_run=target.dry_run,
            held=target.held,
            weights=dict(target.weights) if target.weights is not None else None,
            baseline=dict(target.baseline),
            decision=target.decision,
            reason=target.reason,
            decided_at=target.decided_at,
            error=target.error,
            alerting=list(target.alerting),
        )


class TargetCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str = Field(default="api", max_length=200, description="Who asks (for the audit log).")
    reason: str = Field(default="", max_length=2000)


CommandBody = Annotated[TargetCommand | None, Body()]


def _control(services: ServicesDep) -> RemediationControl:
    if services.remediation is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no remediation policies loaded")
    return services.remediation


@router.get("/targets", summary="Routes the remediation loop drives: weights, hold, last decision")
def list_targets(services: ServicesDep) -> list[TargetOut]:
    if services.remediation is None:
        return []
    return [TargetOut.of(t) for t in services.remediation.targets()]


def _set_hold(
    services: ServicesDep, target: str, held: bool, command: TargetCommand | None
) -> TargetOut:
    command = command or TargetCommand()
    control = _control(services)
    try:
        answer = control.set_hold(
            target, held, by=command.by, reason=command.reason, now=services.clock()
        )
    except UnknownTargetError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    return TargetOut.of(answer)


@router.post(
    "/targets/{target:path}/hold",
    summary="Hold the loop on a target: no automatic change until resumed",
    dependencies=[Writer],
    responses=_WRITE_RESPONSES,
)
def hold_target(target: str, services: ServicesDep, command: CommandBody = None) -> TargetOut:
    return _set_hold(services, target, True, command)


@router.post(
    "/targets/{target:path}/resume",
    summary="Release a manual hold",
    dependencies=[Writer],
    responses=_WRITE_RESPONSES,
)
def resume_target(target: str, services: ServicesDep, command: CommandBody = None) -> TargetOut:
    return _set_hold(services, target, False, command)


@router.post(
    "/targets/{target:path}/rollback",
    summary="Put the target back on its baseline weights and retry policy now",
    description=(
        "Recorded in the audit log as an action of kind `rollback` (dry-run when the policy "
        "or the master switch says so). The loop may act again afterwards if a backend still "
        "burns: hold the target first to keep it off."
    ),
    dependencies=[Writer],
    responses={**_WRITE_RESPONSES, 502: {"description": "The data plane could not be read"}},
)
def rollback_target(target: str, services: ServicesDep, command: CommandBody = None) -> ActionOut:
    control = _control(services)
    command = command or TargetCommand()
    try:
        action_id = control.rollback(
            target, by=command.by, reason=command.reason, now=services.clock()
        )
    except UnknownTargetError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except ActuatorError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, detail=str(exc)) from exc
    action = services.store.actions.get_action(action_id)
    if action is None:  # written a moment ago in the same store
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, detail="action not found")
    return ActionOut.of(action)
