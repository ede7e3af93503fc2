"""Service settings: a YAML `--config` file plus `MESHWATCH_*` environment variables.

Built once by the CLI (never at import). Environment variables win over the file, so a
Helm chart can ship the file in a ConfigMap and secrets in the environment. With neither,
meshwatch starts on the embedded defaults: SQLite in the working directory, no SLOs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from meshwatch.errors import Problem, SpecError
from meshwatch.http_config import PrometheusHTTPConfig, resolve_paths
from meshwatch.settings_durations import Duration, Seconds
from meshwatch.settings_file import in_file_order, problem, read_config
from meshwatch.slo.calendar import check_zone
from meshwatch.slo.report_periods import check_report_period
from meshwatch.spec.source import Document

WEBHOOK_MAX_BODY_BYTES = 32 * 1024 * 1024
"""Default webhook body limit; see tests/integration/test_webhook_limits.py for the measure."""

B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
"""RFC 6750 section 2.1: the characters a bearer token may have (ASCII only)."""


class ScrapeTarget(BaseModel):
    """A `/metrics` endpoint the embedded scrape collector reads (Envoy admin, sidecar, app)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Name used in meshwatch's own health metrics.")
    url: str = Field(description="Full URL, e.g. http://127.0.0.1:9901/stats/prometheus.")


class WebhookTarget(BaseModel):
    """Where notifications are POSTed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    url: str
    format: Literal["json", "slack"] = Field(
        default="json", description="`json`: meshwatch's documented body; `slack`: {text, blocks}."
    )
    secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key; the signature is sent in X-Meshwatch-Signature."
    )
    timeout_seconds: Seconds = 5.0


class EnvoySettings(BaseModel):
    """The Envoy the `envoy` actuator drives: its file-based RDS and its admin API."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rds_path: Path = Field(
        description="The RDS file Envoy watches (path_config_source with watched_directory)."
    )
    admin_url: str = Field(description="Envoy's admin address, e.g. http://127.0.0.1:9901.")
    confirm_timeout_seconds: Seconds = Field(
        default=5.0, description="How long to wait for Envoy to serve a new route version."
    )


class KubernetesSettings(BaseModel):
    """The Kubernetes API the `istio`, `gateway` and `linkerd` actuators patch routes through.

    `kubernetes: {}` is the default chain: the pod's service account, then $KUBECONFIG,
    then ~/.kube/config.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kubeconfig: Path | None = Field(
        default=None,
        description="A kubeconfig file; unset: in-cluster service account, $KUBECONFIG, "
        "~/.kube/config.",
    )
    context: str | None = Field(
        default=None, description="The kubeconfig context to use; unset: its current context."
    )


class ScheduledReport(BaseModel):
    """A report written on a cron schedule (APScheduler's persistent job store)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    cron: str = Field(description="Five-field cron expression, UTC, e.g. `0 8 * * MON`.")
    period: str = Field(
        default="7d",
        description="A duration (`1h`, `36h`, `7d`, `90d`), `calendar-week`, `calendar-month` "
        "or `calendar-quarter` (the last complete one before the run).",
    )
    format: Literal["html", "md", "json", "csv"] = "html"
    directory: Path | None = None
    webhooks: list[str] = Field(default_factory=list, description="Names of webhook targets.")
    time_zone: str | None = Field(
        default=None,
        description="IANA time zone whose local midnight starts calendar periods "
        "(`Europe/Berlin`); unset: `report_time_zone`.",
    )

    @field_validator("period")
    @classmethod
    def _valid_period(cls, value: str) -> str:
        return check_report_period(value, allow_interval=False)

    @field_validator("time_zone")
    @classmethod
    def _valid_zone(cls, value: str | None) -> str | None:
        return None if value is None else check_zone(value)


class Settings(BaseSettings):
    """Everything `meshwatch serve` needs; every field has a working default."""

    model_config = SettingsConfigDict(
        env_prefix="MESHWATCH_", extra="forbid", env_nested_delimiter="__"
    )

    database_url: str = Field(
        default="sqlite:///./meshwatch.db",
        description="SQLAlchemy URL; PostgreSQL as postgresql+psycopg://user@host/db.",
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="Bearer token required for every write to the API (RFC 6750 b64token "
        "characters: letters, digits, -._~+/ and trailing =). Unset: writes are refused.",
    )
    specs: list[Path] = Field(default_factory=list, description="SLO spec files or folders.")
    sloth_period: str = Field(
        default="30d",
        description="SLO period of Sloth-format specs (Sloth's spec has no period field), "
        "e.g. 30d, 28d or calendar-month.",
    )
    prometheus_url: str | None = Field(
        default=None, description="Read SLIs from this Prometheus; unset = scrape collector."
    )
    prometheus_http_config: PrometheusHTTPConfig | None = Field(
        default=None,
        description="Credentials, TLS, headers and proxy for prometheus_url, as in "
        "Prometheus's own http_config.",
    )
    prometheus_timeout: Duration = Field(
        default=timedelta(seconds=5),
        description="Longest one Prometheus query may take (each attempt, and Prometheus's "
        "own query timeout); raise it for many SLOs (10,000: ~25 MB, ~30 s on a small one).",
    )
    scrape_targets: list[ScrapeTarget] = Field(default_factory=list)
    evaluate_interval: Duration = Field(default=timedelta(seconds=30))
    scrape_interval: Duration = Field(default=timedelta(seconds=5))
    retention_interval: Duration = Field(default=timedelta(hours=1))
    snapshot_interval: Duration = Field(
        default=timedelta(minutes=1),
        description="How often the embedded scraper's windows are saved to the store "
        "(also on a graceful stop); a restart resumes them.",
    )
    ready_max_age_factor: float = Field(
        default=3.0,
        description="/readyz fails when the last evaluation is older than this x interval.",
    )
    webhooks: list[WebhookTarget] = Field(default_factory=list)
    reports: list[ScheduledReport] = Field(default_factory=list)
    report_directory: Path = Field(default=Path("reports"))
    min_coverage: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="Share of an SLO period (ratio) below which budget figures say they rest "
        "on too little data (page, API, reports).",
    )
    report_time_zone: str = Field(
        default="UTC",
        description="IANA time zone whose local midnight starts the calendar-week, "
        "calendar-month and calendar-quarter report periods (`Europe/Berlin`).",
    )
    grafana_url: str | None = None
    envoy: EnvoySettings | None = Field(
        default=None, description="Enables the `envoy` actuator for remediation policies."
    )
    kubernetes: KubernetesSettings | None = Field(
        default=None,
        description="Enables the `istio`, `gateway` and `linkerd` actuators (`{}`: in-cluster).",
    )
    max_body_bytes: int = Field(
        default=1_048_576, description="Largest accepted request body (except the webhook)."
    )
    webhook_max_body_bytes: int = Field(
        default=WEBHOOK_MAX_BODY_BYTES,
        ge=1024,
        description="Largest Alertmanager webhook body: room for the 10,000 alerts a "
        "delivery may carry (a real Alertmanager sends a whole group in one body).",
    )
    webhook_max_concurrent: int = Field(
        default=512,
        ge=1,
        description="Webhook deliveries in progress at once (each holds its connection and "
        "~16 KiB, no thread); more get 503 + Retry-After. Keep it under the open-files limit.",
    )
    webhook_max_queued_alerts: int = Field(
        default=20_000,
        ge=1,
        description="Alerts waiting for the store's group commit; more get 503 + Retry-After.",
    )
    remediation_enabled: bool = Field(
        default=False, description="Master switch: when false every plan is recorded as dry-run."
    )
    leader_election: bool = Field(
        default=True,
        description="On PostgreSQL, only the replica holding an advisory lock runs the jobs "
        "that act (evaluate, remediate, notify, reports); the others serve the API.",
    )
    leader_lock_key: int = Field(
        default=0x6D776C64, ge=0, description="Advisory lock key shared by the replicas."
    )
    leader_check_interval: Duration = Field(
        default=timedelta(seconds=2), description="How often followers try to take the lock."
    )

    @field_validator("report_time_zone")
    @classmethod
    def _valid_report_zone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("api_token")
    @classmethod
    def _usable_token(cls, value: SecretStr | None) -> SecretStr | None:
        # An empty token must not be "set": it would make every write depend on how a
        # blank header is parsed. Unset the key to refuse writes instead.
        if value is not None:
            check_token_syntax(value.get_secret_value())
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first: it overrides values from the --config file (passed as init).
        return env_settings, init_settings


def check_token_syntax(token: str) -> None:
    """ValueError unless `token` is a non-empty RFC 6750 b64token (what a client can send)."""
    if not token.strip():
        raise ValueError(
            "api_token is empty or whitespace; set a real token or unset it (writes refused)"
        )
    if not B64TOKEN.fullmatch(token):
        raise ValueError(
            "api_token must be an RFC 6750 b64token: letters, digits, - . _ ~ + / "
            "and trailing = only"
        )


def load_settings(
    config_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from `config_file` (YAML) and the environment; SpecError names every problem.

    Problems in the file point at the line of the offending key
    (`meshwatch.yaml:7: evaluate_interval: ...`), problems in a variable name it
    (`environment: MESHWATCH_EVALUATE_INTERVAL: ...`). `environ` defaults to `os.environ`
    and only serves to tell which variable a value came from.
    """
    document: Document | None = None
    values: dict[str, Any] = {}
    found: list[Problem] = []
    if config_file is not None:
        document, found = read_config(config_file)
        values = dict(document.data) if document is not None else {}
        specs = values.get("specs")
        if isinstance(specs, list):
            base = config_file.parent
            values["specs"] = [str(base / p) if isinstance(p, str) else p for p in specs]
        http_config = values.get("prometheus_http_config")
        if isinstance(http_config, dict):
            values["prometheus_http_config"] = resolve_paths(http_config, config_file.parent)
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        env = os.environ if environ is None else environ
        found += [problem(err["loc"], err["msg"], document, env) for err in exc.errors()]
        raise SpecError(sorted(found, key=in_file_order)) from exc
    if found:
        raise SpecError(found)
    return settings
