"""Which actuators `serve` builds, and the refusal of policies whose actuator is not set up."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshwatch.remediate.registry import named_actuators, unconfigured
from meshwatch.settings import KubernetesSettings, Settings
from meshwatch.spec import load_text


def spec(actuator: str, target: str) -> str:
    return f"""\
apiVersion: meshwatch/v1
kind: ServiceLevels
service: reviews
slos:
  - name: availability
    objective: 99.9
    window: 30d
    sli:
      mesh: {{kind: istio, service: reviews}}
    remediation:
      actuator: {actuator}
      target: {target}
      backends: [{{name: v1}}, {{name: v2}}]
"""


ISTIO = spec("istio", "prod/reviews#primary")
GATEWAY = spec("gateway", "shop/web#main")
LINKERD = spec("linkerd", "shop/web")
ENVOY = spec("envoy", "local_route/reviews/main")
NOOP = spec("noop", "anything")
KUBE = "`kubernetes:` section"


@pytest.mark.parametrize(
    ("text", "envoy", "kubernetes", "needs"),
    [
        pytest.param(ISTIO, True, False, KUBE, id="istio-without-kubernetes"),
        pytest.param(GATEWAY, True, False, KUBE, id="gateway-without-kubernetes"),
        pytest.param(LINKERD, True, False, KUBE, id="linkerd-without-kubernetes"),
        pytest.param(ENVOY, False, True, "`envoy:` section", id="envoy-without-envoy"),
    ],
)
def test_unconfigured_actuators_are_named_at_the_spec_line(
    text: str, envoy: bool, kubernetes: bool, needs: str
) -> None:
    slos = load_text(text, "slos/reviews.yaml").slos
    (problem,) = unconfigured(slos, envoy=envoy, kubernetes=kubernetes)
    where = "slos/reviews.yaml:5: reviews-availability.remediation.actuator:"
    assert str(problem).startswith(where)
    assert "is not configured" in problem.message and needs in problem.message


@pytest.mark.parametrize(
    ("text", "envoy", "kubernetes"),
    [
        pytest.param(ISTIO, False, True, id="istio-with-kubernetes"),
        pytest.param(ENVOY, True, False, id="envoy-with-envoy"),
        pytest.param(NOOP, False, False, id="noop-needs-nothing"),
    ],
)
def test_configured_actuators_pass(text: str, envoy: bool, kubernetes: bool) -> None:
    assert unconfigured(load_text(text, "s.yaml").slos, envoy=envoy, kubernetes=kubernetes) == []


def test_named_actuators() -> None:
    slos = load_text(ISTIO, "a.yaml").slos + load_text(NOOP, "b.yaml").slos
    assert named_actuators(slos) == {"istio", "noop"}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param({}, None, id="absent-means-not-configured"),
        pytest.param({"kubernetes": {}}, KubernetesSettings(), id="empty-means-default-chain"),
        pytest.param(
            {"kubernetes": {"kubeconfig": "/etc/kube/config", "context": "prod"}},
            KubernetesSettings(kubeconfig=Path("/etc/kube/config"), context="prod"),
            id="kubeconfig-and-context",
        ),
    ],
)
def test_kubernetes_settings(
    values: dict[str, object], expected: KubernetesSettings | None
) -> None:
    assert Settings(**values).kubernetes == expected  # type: ignore[arg-type]


def test_kubernetes_settings_refuse_unknown_keys() -> None:
    with pytest.raises(ValueError, match=r"kubernetes\.namespace"):
        Settings(kubernetes={"namespace": "x"})  # type: ignore[arg-type]
