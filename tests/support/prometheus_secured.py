"""A real Prometheus that demands credentials: `--web.config.file` with TLS and basic auth.

    pki = make_pki(workdir / "pki")
    with SecuredPrometheus(binary, workdir, pki, users={"meshwatch": "pw"}, config=...) as prom:
        prom.url            # https://127.0.0.1:<port>
        prom.query("up")    # the test's own client presents the credentials

Prometheus re-reads its web config on every request, so `set_users()` rotates the accepted
passwords at once. With `client_ca=True` it also demands a client certificate (mTLS).
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import bcrypt
import httpx

from tests.support.prometheus_run import PrometheusError, PrometheusProcess
from tests.support.tls import PKI


def web_config(pki: PKI, users: dict[str, str], *, client_ca: bool) -> str:
    """Prometheus's web config (JSON is YAML): TLS with `pki`'s server cert, bcrypt users."""
    tls: dict[str, Any] = {"cert_file": str(pki.server_cert), "key_file": str(pki.server_key)}
    if client_ca:
        tls["client_auth_type"] = "RequireAndVerifyClientCert"
        tls["client_ca_file"] = str(pki.ca_cert)
    hashed = {
        name: bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        for name, password in users.items()
    }
    return json.dumps({"tls_server_config": tls, "basic_auth_users": hashed}, indent=2)


class SecuredPrometheus(PrometheusProcess):
    """PrometheusProcess behind TLS and basic auth; readiness and queries authenticate."""

    def __init__(
        self,
        binary: str,
        workdir: Path,
        pki: PKI,
        *,
        users: dict[str, str],
        config: str | None = None,
        client_ca: bool = False,
    ) -> None:
        self.web_config_path = workdir / "web.yml"
        web = f"--web.config.file={self.web_config_path}"
        super().__init__(binary, workdir, config=config, extra_args=(web,))
        self.pki = pki
        self.users = dict(users)
        self.client_ca = client_ca

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def prepare(self) -> None:
        super().prepare()
        self.web_config_path.write_text(web_config(self.pki, self.users, client_ca=self.client_ca))

    def set_users(self, users: dict[str, str]) -> None:
        """Accept only these passwords from now on (Prometheus reads the file per request)."""
        self.users = dict(users)
        self.prepare()

    def client(self) -> httpx.Client:
        """A client that passes: the test CA, the first user, the client certificate."""
        name, password = next(iter(self.users.items()))
        return httpx.Client(verify=self.ssl_context(), auth=(name, password), timeout=30)

    def ssl_context(self, *, client_cert: bool = True) -> ssl.SSLContext:
        """Trusts the test CA; presents the client certificate unless told not to."""
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        if client_cert:
            context.load_cert_chain(str(self.pki.client_cert), str(self.pki.client_key))
        return context

    def is_ready(self) -> bool:
        with self.client() as client:
            return client.get(f"{self.url}{self.ready_path}", timeout=1).status_code == 200

    def api(self, path: str, params: dict[str, str] | None = None, method: str = "GET") -> Any:
        with self.client() as client:
            response = client.request(
                method,
                f"{self.url}/api/v1/{path}",
                params=params if method == "GET" else None,
                data=params if method != "GET" else None,
            )
        payload = response.json()
        if payload.get("status") != "success":
            raise PrometheusError(f"{payload.get('errorType')}: {payload.get('error')}")
        return payload["data"]
