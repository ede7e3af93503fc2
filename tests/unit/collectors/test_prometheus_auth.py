"""`prometheus_http_config`: Prometheus's http_config keys, validated; headers built per request."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import ValidationError

from meshwatch.collectors.prometheus_auth import ConfiguredAuth, request_headers, session_for
from meshwatch.collectors.prometheus_http import connect
from meshwatch.errors import CollectorError, SpecError
from meshwatch.http_config import PrometheusHTTPConfig
from meshwatch.settings import load_settings

SECRET = "s3cret-value-never-shown"


def config(**values: Any) -> PrometheusHTTPConfig:
    return PrometheusHTTPConfig.model_validate(values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param(
            {"basic_auth": {"username": "u", "password": "p"}, "authorization": {}},
            "at most one of basic_auth and authorization",
            id="basic-and-authorization",
        ),
        pytest.param(
            {"authorization": {"credentials": "a", "credentials_file": "/f"}},
            "at most one of credentials and credentials_file",
            id="credentials-twice",
        ),
        pytest.param(
            {"basic_auth": {"username": "u", "password": "p", "password_file": "/f"}},
            "at most one of password and password_file",
            id="password-twice",
        ),
        pytest.param(
            {"authorization": {"type": "Basic", "credentials": "x"}},
            "use basic_auth",
            id="authorization-basic",
        ),
        pytest.param({"tls_config": {"cert_file": "/c"}}, "go together", id="cert-without-key"),
        pytest.param(
            {"http_headers": {"Authorization": {"values": ["x"]}}}, "reserved", id="reserved-header"
        ),
        pytest.param({"proxy_url": "socks5://p:1080"}, "http://", id="proxy-scheme"),
        pytest.param({"oauth2": {"client_id": "x"}}, "Extra inputs", id="not-implemented-key"),
    ],
)
def test_invalid_http_config_is_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        config(**values)


def test_secrets_are_masked_everywhere_pydantic_shows_them() -> None:
    parsed = config(
        basic_auth={"username": "u", "password": SECRET},
        http_headers={"X-Token": {"secrets": [SECRET]}},
    )
    assert SECRET not in repr(parsed) and SECRET not in str(parsed)
    assert SECRET not in parsed.model_dump_json()
    with pytest.raises(ValidationError) as caught:
        config(basic_auth={"username": "u", "password": SECRET, "password_file": "/f"})
    assert SECRET not in str(caught.value)


def test_headers_join_values_secrets_and_files(tmp_path: Path) -> None:
    (tmp_path / "tenant").write_text("  tenant-from-file\n")
    parsed = config(
        http_headers={
            "X-Scope-OrgID": {
                "values": ["a"],
                "secrets": ["b"],
                "files": [str(tmp_path / "tenant")],
            }
        },
        authorization={"credentials": SECRET},
    )
    assert request_headers(parsed) == {
        "X-Scope-OrgID": "a, b, tenant-from-file",
        "Authorization": f"Bearer {SECRET}",
    }


def test_basic_auth_header() -> None:
    headers = request_headers(config(basic_auth={"username": "me", "password": "pw"}))
    assert headers == {"Authorization": "Basic " + base64.b64encode(b"me:pw").decode()}


def test_files_are_read_on_every_request(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("one\n")
    auth = ConfiguredAuth(config(authorization={"type": "Token", "credentials_file": str(token)}))
    first = auth(requests.Request("GET", "http://127.0.0.1/").prepare())
    token.write_text("two")  # a rotated token
    second = auth(requests.Request("GET", "http://127.0.0.1/").prepare())
    assert (first.headers["Authorization"], second.headers["Authorization"]) == (
        "Token one",
        "Token two",
    )
    assert "one" not in repr(auth)


def test_an_unreadable_file_names_the_file_not_its_content(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(CollectorError, match=r"cannot read basic_auth.password_file .*nope"):
        request_headers(config(basic_auth={"username": "u", "password_file": str(missing)}))


def test_session_carries_tls_and_proxy(tmp_path: Path) -> None:
    session = session_for(
        config(
            tls_config={"ca_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem"},
            proxy_url="http://proxy.internal:3128",
        )
    )
    assert session.verify == "/ca.pem"
    assert session.cert == ("/c.pem", "/k.pem")
    assert session.proxies == {
        "http": "http://proxy.internal:3128",
        "https": "http://proxy.internal:3128",
    }
    assert session_for(config(tls_config={"insecure_skip_verify": True})).verify is False


def test_connect_keeps_the_configured_adapter_on_the_url() -> None:
    client = connect(
        "https://127.0.0.1:9/prom/",
        http_config=config(tls_config={"server_name": "prometheus.internal"}),
    )
    adapter = client._session.get_adapter("https://127.0.0.1:9/prom/api/v1/query")
    assert adapter.poolmanager.connection_pool_kw["server_hostname"] == "prometheus.internal"


def test_settings_resolve_files_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "meshwatch.yaml").write_text(
        "prometheus_url: https://prometheus:9090\n"
        "prometheus_http_config:\n"
        "  basic_auth: {username: u, password_file: secrets/pw}\n"
        "  tls_config: {ca_file: /abs/ca.pem, cert_file: c.pem, key_file: k.pem}\n"
        "  http_headers: {X-Scope-OrgID: {files: [tenant]}}\n"
    )
    settings = load_settings(tmp_path / "meshwatch.yaml")
    http = settings.prometheus_http_config
    assert http is not None and http.basic_auth is not None
    assert http.basic_auth.password_file == tmp_path / "secrets" / "pw"
    assert http.tls_config.ca_file == Path("/abs/ca.pem")
    assert http.tls_config.cert_file == tmp_path / "c.pem"
    assert http.http_headers["X-Scope-OrgID"].files == [tmp_path / "tenant"]


def test_settings_errors_name_the_key_not_the_secret(tmp_path: Path) -> None:
    (tmp_path / "meshwatch.yaml").write_text(
        "prometheus_http_config:\n"
        f"  basic_auth: {{username: u, password: {SECRET}, password_file: x}}\n"
    )
    with pytest.raises(SpecError) as caught:
        load_settings(tmp_path / "meshwatch.yaml")
    text = str(caught.value)
    assert "prometheus_http_config.basic_auth" in text and SECRET not in text
