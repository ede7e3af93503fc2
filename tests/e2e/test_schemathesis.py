"""Property-based API fuzzing: no generated input makes a running `meshwatch serve` answer 5xx.

schemathesis reads /openapi.json from a real `meshwatch serve` (uvicorn, SQLite, the example
SLOs of rules/slos loaded, two of them evaluated) and, for every operation, generates valid
and invalid inputs (paths, query strings, bodies, headers). Each case is sent twice: with the
bearer token (writes are accepted) and without (401). The store is up, so a 503 would be a
bug too. The example count is kept modest so the module runs in well under a minute.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis import APIOperation, Case, GenerationMode

from tests.support.serve import TOKEN, ServeProcess

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 25
UNREACHABLE_KUBECONFIG = {
    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
    "users": [{"name": "u", "user": {"token": "t"}}],
    "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
    "current-context": "x",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    workdir = tmp_path_factory.mktemp("schemathesis")
    # The examples' policies name envoy and istio: serve refuses unconfigured actuators, so
    # both are configured, towards closed ports (their routes stay frozen, unread).
    kubeconfig = workdir / "kubeconfig"
    kubeconfig.write_text(json.dumps(UNREACHABLE_KUBECONFIG))
    config = {
        "database_url": f"sqlite:///{workdir / 'meshwatch.db'}",
        "specs": [str(ROOT / "rules" / "slos")],
        "envoy": {"rds_path": str(workdir / "rds.yaml"), "admin_url": "http://127.0.0.1:9"},
        "kubernetes": {"kubeconfig": str(kubeconfig)},
        "evaluate_interval": timedelta(seconds=1).total_seconds(),
        "scrape_interval": timedelta(seconds=1).total_seconds(),
        "max_body_bytes": 65536,
    }
    with ServeProcess(workdir, config=config, log_level="warning") as serve:
        deadline = time.monotonic() + 30
        while httpx.get(f"{serve.url}/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, f"never ready: {serve.log()}"
            time.sleep(0.2)
        yield serve


def operations(url: str) -> list[APIOperation]:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def check_operation(
    operation: APIOperation, mode: GenerationMode, served: ServeProcess
) -> set[tuple[bool, int]]:
    """Run hypothesis over one operation; a 5xx (with or without the token) fails it.

    Returns the (authorized, status) pairs seen.
    """
    seen: set[tuple[bool, int]] = set()

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def check(case: Case) -> None:
        for authorized in (True, False):
            headers = {"Authorization": f"Bearer {TOKEN}"} if authorized else {}
            if not authorized and case.headers:
                # the OpenAPI document declares the bearer scheme, so schemathesis makes up
                # a token of its own; "without the token" means without any
                case.headers = {
                    k: v for k, v in case.headers.items() if k.lower() != "authorization"
                }
            response = case.call(base_url=served.url, headers=headers, timeout=30)
            seen.add((authorized, response.status_code))
            if operation.path == "/readyz" and response.status_code == 503:
                continue  # documented "not ready" (e.g. an evaluation late on a busy machine)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} (token: {authorized}) -> "
                f"{response.status_code}: {response.text[:500]}\n{served.log(1500)}"
            )
            if not authorized and case.method.upper() == "POST":
                assert response.status_code in (400, 401, 404, 405, 413, 422), response.text

    try:
        check()
    except hypothesis.errors.Unsatisfiable:
        # Nothing to make invalid (no parameters, no body): only the valid run applies.
        assert mode is GenerationMode.NEGATIVE, operation.label
    return seen


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(GenerationMode.POSITIVE, id="valid-inputs"),
        pytest.param(GenerationMode.NEGATIVE, id="invalid-inputs"),
    ],
)
def test_no_server_error(mode: GenerationMode, served: ServeProcess) -> None:
    found = operations(served.url)
    assert {op.path for op in found} >= {"/api/v1/alerts/alertmanager", "/readyz"}
    statuses = {op.label: check_operation(op, mode, served) for op in found}
    webhook = statuses["POST /api/v1/alerts/alertmanager"]
    # The generator really reached the store (valid payloads) and the validation (invalid).
    expected = (True, 200) if mode is GenerationMode.POSITIVE else (True, 422)
    assert expected in webhook, webhook
    assert (False, 401) in webhook, webhook
