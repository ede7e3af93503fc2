"""Alertmanager webhook payload, version 4 (what Alertmanager 0.25+ POSTs to a receiver).

Only the fields meshwatch relies on are required; everything else Alertmanager adds in
newer versions (`notification_reason`, `routeLabels`, ...) is accepted and ignored, because
a receiver that 4xxes on a new optional field loses alerts (Alertmanager does not retry 4xx).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


def storable_text(text: str, where: str) -> str:
    """`text`, or ValueError when no store can keep it as sent.

    PostgreSQL refuses NUL in text and JSON, and a lone surrogate (JSON allows `\\ud800`)
    cannot be encoded as UTF-8, so SQLite would store it and every later read would fail.
    Either is a 422 naming the field, never a 503 that Alertmanager retries forever.
    """
    if "\x00" in text:
        raise ValueError(f"{where} contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{where} contains a lone UTF-16 surrogate") from None
    return text


class AlertIn(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = Field(min_length=1, max_length=64)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must carry a time zone (RFC 3339)")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("timestamp is outside 0001-01-01..9999-12-31 in UTC") from None

    @field_validator("labels", "annotations")
    @classmethod
    def _storable_mapping(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            storable_text(key, f"key {key!r}")
            storable_text(text, f"[{key!r}]")
        return value

    @field_validator("fingerprint", "generator_url")
    @classmethod
    def _storable(cls, value: str) -> str:
        return storable_text(value, "value")

    @property
    def resolved_at(self) -> datetime | None:
        """endsAt when the alert is resolved; Alertmanager sends the zero time while firing."""
        if self.status != "resolved" or self.ends_at is None or self.ends_at <= ZERO_TIME:
            return None
        return self.ends_at


class AlertmanagerWebhook(BaseModel):
    """The whole group Alertmanager delivers: firing and resolved alerts together."""

    model_config = ConfigDict(
        extra="ignore",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "version": "4",
                    "groupKey": '{}:{alertname="MeshwatchErrorBudgetBurn"}',
                    "truncatedAlerts": 0,
                    "status": "firing",
                    "receiver": "meshwatch",
                    "groupLabels": {"alertname": "MeshwatchErrorBudgetBurn"},
                    "commonLabels": {"alertname": "MeshwatchErrorBudgetBurn"},
                    "commonAnnotations": {},
                    "externalURL": "http://127.0.0.1:9093",
                    "alerts": [
                        {
                            "status": "firing",
                            "labels": {
                                "alertname": "MeshwatchErrorBudgetBurn",
                                "meshwatch_service": "checkout",
                                "meshwatch_slo": "availability",
                                "severity": "page",
                            },
                            "annotations": {"summary": "checkout availability burning 14.4x"},
                            "startsAt": "2026-11-25T09:02:37Z",
                            "endsAt": "0001-01-01T00:00:00Z",
                            "generatorURL": "http://127.0.0.1:9090/graph",
                            "fingerprint": "2176cc11c49efaf4",
                        }
                    ],
                }
            ]
        },
    )

    version: Literal["4"]
    group_key: str = Field(alias="groupKey")
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    alerts: list[AlertIn] = Field(max_length=10_000)
