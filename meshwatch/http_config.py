"""`prometheus_http_config:`: how meshwatch reaches a Prometheus that needs credentials.

The keys and their meaning are those of Prometheus's own `http_config` (the block of a
scrape config or of promtool's `--http.config.file`), so users paste what they already
have: `authorization`, `basic_auth`, `tls_config`, `http_headers`, `proxy_url`. Keys that
Prometheus has but meshwatch does not implement (oauth2, sigv4, proxy_connect_header, ...)
are refused by name instead of being ignored.

Secrets are `SecretStr` (masked in every repr, log and error); `*_file` keys name files that
are read again on every request, as Prometheus does, so rotated tokens and passwords are
picked up without a restart. Relative paths are relative to the `--config` file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

# Headers the client sets itself, or that `authorization`/`basic_auth` own; Prometheus
# refuses these in http_headers too.
RESERVED_HEADERS = frozenset(
    {
        "authorization",
        "host",
        "content-encoding",
        "content-length",
        "content-type",
        "user-agent",
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "www-authenticate",
        "accept-encoding",
        "transfer-encoding",
        "upgrade",
        "te",
        "trailer",
    }
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _one_of(owner: str, value: object, file: object, key: str) -> None:
    if value is not None and file is not None:
        raise ValueError(f"{owner}: at most one of {key} and {key}_file")


class Authorization(_Strict):
    """`Authorization: <type> <credentials>` on every request."""

    type: str = Field(
        default="Bearer", description="The scheme; `Basic` is refused (use basic_auth)."
    )
    credentials: SecretStr | None = None
    credentials_file: Path | None = Field(
        default=None, description="Read on every request (rotated tokens); whitespace trimmed."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.type.strip().lower() == "basic":
            raise ValueError("authorization: type Basic is not allowed, use basic_auth")
        if not self.type.strip() or " " in self.type.strip():
            raise ValueError("authorization: type must be one word, e.g. Bearer")
        _one_of("authorization", self.credentials, self.credentials_file, "credentials")
        return self


class BasicAuth(_Strict):
    """HTTP basic authentication; the password may come from a file."""

    username: str
    password: SecretStr | None = None
    password_file: Path | None = Field(
        default=None, description="Read on every request; whitespace trimmed."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        _one_of("basic_auth", self.password, self.password_file, "password")
        return self


class TLSConfig(_Strict):
    """How the server is verified and how meshwatch presents itself (client certificate)."""

    ca_file: Path | None = Field(default=None, description="CA bundle (PEM) to verify against.")
    cert_file: Path | None = Field(default=None, description="Client certificate (PEM).")
    key_file: Path | None = Field(default=None, description="Key of the client certificate.")
    server_name: str | None = Field(
        default=None, description="Name expected in the server's certificate (and sent as SNI)."
    )
    insecure_skip_verify: bool = Field(
        default=False, description="Do not verify the server's certificate at all."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("tls_config: cert_file and key_file go together")
        return self


class HeaderValues(_Strict):
    """One header's values: plain, secret, or read from files (on every request)."""

    values: list[str] = Field(default_factory=list)
    secrets: list[SecretStr] = Field(default_factory=list)
    files: list[Path] = Field(default_factory=list)


class PrometheusHTTPConfig(_Strict):
    """Prometheus's `http_config`, the parts meshwatch implements."""

    authorization: Authorization | None = None
    basic_auth: BasicAuth | None = None
    tls_config: TLSConfig = Field(default_factory=TLSConfig)
    http_headers: dict[str, HeaderValues] = Field(
        default_factory=dict, description="e.g. X-Scope-OrgID: {values: [tenant-a]} for Mimir."
    )
    proxy_url: str | None = Field(default=None, description="HTTP(S) proxy for every request.")

    @field_validator("http_headers")
    @classmethod
    def _headers(cls, headers: dict[str, HeaderValues]) -> dict[str, HeaderValues]:
        for name in headers:
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"http_headers: {name} is reserved")
        return headers

    @field_validator("proxy_url")
    @classmethod
    def _proxy(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("proxy_url must be an http:// or https:// URL")
        return url

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.authorization is not None and self.basic_auth is not None:
            raise ValueError("at most one of basic_auth and authorization")
        return self


_FILE_KEYS = (
    ("authorization", "credentials_file"),
    ("basic_auth", "password_file"),
    ("tls_config", "ca_file"),
    ("tls_config", "cert_file"),
    ("tls_config", "key_file"),
)


def resolve_paths(section: object, base: Path) -> object:
    """The raw `prometheus_http_config` mapping with its relative file names under `base`."""
    if not isinstance(section, dict):
        return section
    out: dict[str, Any] = dict(section)
    for block, key in _FILE_KEYS:
        inner = out.get(block)
        if isinstance(inner, dict) and isinstance(inner.get(key), str):
            out[block] = {**inner, key: str(base / inner[key])}
    headers = out.get("http_headers")
    if isinstance(headers, dict):
        out["http_headers"] = {name: _header_files(spec, base) for name, spec in headers.items()}
    return out


def _header_files(spec: object, base: Path) -> object:
    if not isinstance(spec, dict) or not isinstance(spec.get("files"), list):
        return spec
    return {**spec, "files": [str(base / f) if isinstance(f, str) else f for f in spec["files"]]}
