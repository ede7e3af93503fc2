"""`prometheus_http_config` against a real Prometheus that demands basic auth, TLS and mTLS.

One Prometheus, started with `--web.config.file`: its certificate is signed by a CA made
for this module (tests.support.tls), it requires a client certificate from that CA and a
bcrypt-hashed basic-auth password. It scrapes a live Istio-style exporter every second.
The collector's client, `meshwatch serve` (a real process) and `meshwatch report` read it
with the settings a user would write; wrong credentials fail with a reason that names no
secret, and a password file rotated on disk is used from the next request on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from meshwatch.cli import app
from meshwatch.collectors.prometheus_http import PrometheusQuerier, RetryPolicy, connect
from meshwatch.errors import CollectorError
from meshwatch.http_config import PrometheusHTTPConfig
from tests.support.backfill import LiveExporter, Traffic
from tests.support.binaries import require_binary
from tests.support.process import wait_for
from tests.support.prometheus_run import prometheus_config
from tests.support.prometheus_secured import SecuredPrometheus
from tests.support.serve import ServeProcess, live_ratio_spec
from tests.support.tls import PKI, SERVER_NAME, make_pki

pytestmark = pytest.mark.integration

USER = "meshwatch"
PASSWORD = "pw-4f1c9b27-never-logged"  # looked for in every output below
SCRAPE_SECONDS = 1.0
EVALUATE_SECONDS = 2.0
ONE_TRY = RetryPolicy(attempts=1, timeout=10.0)


@dataclass(frozen=True)
class Secured:
    prometheus: SecuredPrometheus
    pki: PKI
    workdir: Path

    def http_config(self, **overrides: Any) -> dict[str, Any]:
        """Settings that pass: basic auth, the test CA, the client certificate."""
        config: dict[str, Any] = {
            "basic_auth": {"username": USER, "password": PASSWORD},
            "tls_config": {
                "ca_file": str(self.pki.ca_cert),
                "cert_file": str(self.pki.client_cert),
                "key_file": str(self.pki.client_key),
            },
        }
        config.update(overrides)
        return config

    def querier(self, config: dict[str, Any], url: str | None = None) -> PrometheusQuerier:
        client = connect(
            url or self.prometheus.url,
            timeout=ONE_TRY.timeout,
            http_config=PrometheusHTTPConfig.model_validate(config),
        )
        return PrometheusQuerier(client, policy=ONE_TRY)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    binary = require_binary("prometheus", "/usr/bin/prometheus")
    workdir = tmp_path_factory.mktemp("prometheus-auth")
    pki = make_pki(workdir / "pki")
    live = LiveExporter([Traffic("live", rps=100.0, error_ratio=0.2)]).start()
    prom = SecuredPrometheus(
        binary,
        workdir / "prometheus",
        pki,
        users={USER: PASSWORD},
        config=prometheus_config(
            scrape_targets=[live.target], scrape_interval=f"{SCRAPE_SECONDS:g}s"
        ),
        client_ca=True,
    )
    try:
        with prom:
            prom.wait_for('istio_requests_total{destination_service_name="live"}', count=2)
            yield Secured(prom, pki, workdir)
    finally:
        live.stop()


def test_plain_clients_are_refused(secured: Secured) -> None:
    """The server really demands TLS, a client certificate and the password."""
    url = f"{secured.prometheus.url}/api/v1/query"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, params={"query": "up"})  # not our CA
    no_client_cert = secured.prometheus.ssl_context(client_cert=False)
    with pytest.raises(httpx.HTTPError):  # no client certificate: handshake refused
        httpx.get(url, params={"query": "up"}, verify=no_client_cert, auth=(USER, PASSWORD))
    with_cert = secured.prometheus.ssl_context()
    assert httpx.get(url, params={"query": "up"}, verify=with_cert).status_code == 401


def test_querier_reads_with_basic_auth_and_mtls(secured: Secured) -> None:
    samples = secured.querier(secured.http_config()).instant(
        'sum(istio_requests_total{destination_service_name="live"})'
    )
    assert len(samples) == 1 and samples[0].value > 0


def _wrong_password(secured: Secured) -> dict[str, Any]:
    return {"basic_auth": {"username": USER, "password": "wrong-" + PASSWORD}}


def _unknown_ca(secured: Secured) -> dict[str, Any]:
    return {"tls_config": {}}


def _no_client_certificate(secured: Secured) -> dict[str, Any]:
    return {"tls_config": {"ca_file": str(secured.pki.ca_cert)}}


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        pytest.param(_wrong_password, "HTTP Status Code 401", id="wrong-password"),
        pytest.param(_unknown_ca, "CERTIFICATE_VERIFY_FAILED", id="unknown-ca"),
        pytest.param(_no_client_certificate, "Prometheus unavailable", id="no-client-cert"),
    ],
)
def test_wrong_credentials_fail_without_naming_the_secret(
    secured: Secured, overrides: Callable[[Secured], dict[str, Any]], reason: str
) -> None:
    with pytest.raises(CollectorError) as caught:
        secured.querier(secured.http_config(**overrides(secured))).instant("up")
    assert reason in str(caught.value)
    assert PASSWORD not in str(caught.value) and PASSWORD not in repr(caught.value)


def test_server_name_is_what_is_verified(secured: Secured) -> None:
    """`server_name` is sent as SNI and checked against the certificate, not the URL host."""
    config = secured.http_config()
    by_name = {**config, "tls_config": {**config["tls_config"], "server_name": SERVER_NAME}}
    assert secured.querier(by_name).instant("up")
    wrong = {**config, "tls_config": {**config["tls_config"], "server_name": "other.test"}}
    with pytest.raises(CollectorError, match=r"other\.test|hostname|match"):
        secured.querier(wrong).instant("up")


def test_a_rotated_password_file_is_read_again(secured: Secured, tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")  # trailing newline trimmed, as Prometheus does
    querier = secured.querier(
        secured.http_config(basic_auth={"username": USER, "password_file": str(password_file)})
    )
    assert querier.instant("up")
    rotated = PASSWORD + "-rotated"
    secured.prometheus.set_users({USER: rotated})
    try:
        with pytest.raises(CollectorError, match="401"):
            querier.instant("up")
        password_file.write_text(rotated)
        assert querier.instant("up")  # same client, no restart: the file is read again
    finally:
        secured.prometheus.set_users({USER: PASSWORD})


def test_a_bearer_token_file_must_be_readable(secured: Secured, tmp_path: Path) -> None:
    missing = tmp_path / "token"
    config = secured.http_config()
    del config["basic_auth"]
    config["authorization"] = {"credentials_file": str(missing)}
    expected = f"cannot read authorization.credentials_file {missing}"
    with pytest.raises(CollectorError, match=re.escape(expected)):
        secured.querier(config).instant("up")


def _contains_secret(text: str) -> bool:
    return PASSWORD in text


def test_serve_evaluates_from_the_secured_prometheus(secured: Secured, tmp_path: Path) -> None:
    (tmp_path / "live.yaml").write_text(live_ratio_spec())
    config = {
        "database_url": f"sqlite:///{tmp_path / 'meshwatch.db'}",
        "specs": [str(tmp_path / "live.yaml")],
        "prometheus_url": secured.prometheus.url,
        "prometheus_http_config": secured.http_config(),  # the password inline: a SecretStr
        "evaluate_interval": EVALUATE_SECONDS,
    }
    serve = ServeProcess(tmp_path / "serve", config=config, log_level="debug")
    with serve:
        status_url = f"{serve.url}/api/v1/slos/live-availability/status"

        def evaluated() -> bool:
            status = httpx.get(status_url, timeout=5).json()
            return status["state"] != "unknown" and status["burn_rate"]

        # a few evaluation cycles on a loaded machine; each needs one scrape behind it
        wait_for(evaluated, 15 * (EVALUATE_SECONDS + SCRAPE_SECONDS), "an evaluation", 0.2)
        status = httpx.get(status_url, timeout=5).json()
        assert status["state"] == "breached", status  # 20 % errors against a 1 % budget
        # a report written by the service (the scheduled path) reads the same Prometheus
        run = httpx.post(
            f"{serve.url}/api/v1/reports",
            json={"period": "7d"},
            headers=serve.headers(),
            timeout=60,
        )
        assert run.status_code == 201, run.text
        detail = httpx.get(f"{serve.url}/api/v1/reports/{run.json()['id']}", timeout=10).json()
        report = json.loads(detail["content"])
        assert report["source"] == "prometheus" and report["slos"][0]["requests"] > 0, report
        outputs = {
            path: httpx.get(f"{serve.url}{path}", timeout=10).text
            for path in ("/readyz", "/api/v1/slos", "/", "/slos/live-availability", "/metrics")
        }
        outputs["report"] = detail["content"]
    outputs["log"] = serve.log(10**7)
    assert "evaluated 1 SLOs" in outputs["log"]
    leaked = [where for where, text in outputs.items() if _contains_secret(text)]
    assert not leaked, leaked


def test_serve_reports_wrong_credentials_as_unknown(secured: Secured, tmp_path: Path) -> None:
    (tmp_path / "live.yaml").write_text(live_ratio_spec())
    wrong = "wrong-" + PASSWORD
    config = {
        "database_url": f"sqlite:///{tmp_path / 'meshwatch.db'}",
        "specs": [str(tmp_path / "live.yaml")],
        "prometheus_url": secured.prometheus.url,
        "prometheus_http_config": secured.http_config(
            basic_auth={"username": USER, "password": wrong}
        ),
        "evaluate_interval": EVALUATE_SECONDS,
    }
    with ServeProcess(tmp_path / "serve", config=config, log_level="debug") as serve:
        status_url = f"{serve.url}/api/v1/slos/live-availability/status"

        def refused() -> bool:
            answer = httpx.get(status_url, timeout=5)
            return answer.status_code == 200 and "401" in answer.json()["reason"]

        wait_for(refused, 15 * EVALUATE_SECONDS, "the refused evaluation", 0.2)
        status = httpx.get(status_url, timeout=5).json()
        ready = httpx.get(f"{serve.url}/readyz", timeout=5).text
    assert status["state"] == "unknown"
    for text in (json.dumps(status), ready, serve.log(10**7)):
        assert wrong not in text


def test_report_cli_reads_the_secured_prometheus(secured: Secured, tmp_path: Path) -> None:
    (tmp_path / "live.yaml").write_text(live_ratio_spec())
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "password").write_text(PASSWORD)
    http_config = secured.http_config(
        basic_auth={"username": USER, "password_file": "secrets/password"}  # relative: config dir
    )
    config = tmp_path / "meshwatch.yaml"
    config.write_text(
        json.dumps(
            {
                "database_url": f"sqlite:///{tmp_path / 'cli.db'}",
                "specs": ["live.yaml"],
                "prometheus_url": secured.prometheus.url,
                "prometheus_http_config": http_config,
            }
        )
    )
    args = ["report", "--period", "7d", "--format", "json", "--config", str(config)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["source"] == "prometheus"
    (slo,) = report["slos"]
    assert slo["requests"] > 0 and slo["errors"] > 0, slo
    assert PASSWORD not in result.output
