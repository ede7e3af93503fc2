"""A `requests.Session` that speaks to Prometheus as its `http_config` says.

Credentials, passwords and header values that come from files are read on every request
(Prometheus does the same), so a rotated token or a projected service-account token is used
as soon as it is on disk. CA bundles and client certificates are loaded for every new
connection. A file that cannot be read is a `CollectorError` naming the file, never its
content; secret values are only ever placed in request headers.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from meshwatch.errors import CollectorError
from meshwatch.http_config import PrometheusHTTPConfig

NO_RETRIES = Retry(total=0, connect=0, read=0, status=0, redirect=0, raise_on_status=False)


def read_secret_file(path: Path, what: str) -> str:
    """The file's text without surrounding whitespace; the error names the file only."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        message = f"prometheus_http_config: cannot read {what} {path}: {reason}"
        raise CollectorError(message) from None


def request_headers(config: PrometheusHTTPConfig) -> dict[str, str]:
    """The headers `config` adds to one request, files read now.

    Several values of one header are joined with ", " (HTTP's list form), in the order
    values, secrets, files.
    """
    headers: dict[str, str] = {}
    for name, spec in config.http_headers.items():
        parts = [*spec.values, *(s.get_secret_value() for s in spec.secrets)]
        parts += [read_secret_file(f, f"http_headers.{name} file") for f in spec.files]
        if parts:
            headers[name] = ", ".join(parts)
    auth = config.authorization
    if auth is not None:
        credentials = _value(
            auth.credentials, auth.credentials_file, "authorization.credentials_file"
        )
        headers["Authorization"] = f"{auth.type.strip()} {credentials}".rstrip()
    basic = config.basic_auth
    if basic is not None:
        password = _value(basic.password, basic.password_file, "basic_auth.password_file")
        token = base64.b64encode(f"{basic.username}:{password}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    return headers


def _value(secret: SecretStr | None, file: Path | None, what: str) -> str:
    if file is not None:
        return read_secret_file(file, what)
    return secret.get_secret_value() if secret is not None else ""


class ConfiguredAuth(requests.auth.AuthBase):
    """Sets the configured headers on every request (files read each time)."""

    def __init__(self, config: PrometheusHTTPConfig) -> None:
        self._config = config

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.update(request_headers(self._config))
        return request

    def __repr__(self) -> str:
        return "ConfiguredAuth(<secrets hidden>)"


class TLSAdapter(HTTPAdapter):
    """No urllib3 retries; with `server_name`, that name is sent as SNI and verified."""

    def __init__(self, server_name: str | None) -> None:
        self._server_name = server_name
        super().__init__(max_retries=NO_RETRIES)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._server_name:
            kwargs["server_hostname"] = self._server_name
            kwargs["assert_hostname"] = self._server_name
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        if self._server_name:
            kwargs["server_hostname"] = self._server_name
            kwargs["assert_hostname"] = self._server_name
        return super().proxy_manager_for(proxy, **kwargs)


def session_for(config: PrometheusHTTPConfig | None) -> requests.Session:
    """A session with auth, headers, TLS and proxy from `config` (None: plain defaults)."""
    session = requests.Session()
    if config is None:
        return session
    tls = config.tls_config
    if tls.insecure_skip_verify:
        session.verify = False
    elif tls.ca_file is not None:
        session.verify = str(tls.ca_file)
    if tls.cert_file is not None and tls.key_file is not None:
        session.cert = (str(tls.cert_file), str(tls.key_file))
    if config.proxy_url is not None:
        session.proxies = {"http": config.proxy_url, "https": config.proxy_url}
    session.auth = ConfiguredAuth(config)
    adapter = TLSAdapter(tls.server_name)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def mount_for(session: requests.Session, url: str, config: PrometheusHTTPConfig | None) -> None:
    """Mount the TLS adapter on `url` itself (a client that mounts its own there loses it)."""
    session.mount(url, TLSAdapter(config.tls_config.server_name if config else None))
