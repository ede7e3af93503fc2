"""The SLO page of a remediated SLO shows the loop, in a real headless Chromium (item 13).

A remediated SLO with 40 minutes of history (evaluated every 30 s, coverage as the engine
measures it) and the audit log of one incident: shift (applied), hold (rejected), restore
(applied), rollback (applied). The page must draw the route weights as step lines with
every action marked, start its charts where the data starts (not 7 days back, with 40
minutes squeezed against the right edge) and say how little data the period figures rest
on. The old page had no weights chart and drew the 7 d range whatever the data.
Not covered here (not built): each backend's SLI and burn rate over time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from meshwatch.api.app import create_app
from meshwatch.engine.runtime import Runtime
from meshwatch.model import (
    SLO,
    Backend,
    MeshSource,
    RatioSLI,
    RemediationPolicy,
    Selector,
    SLOStatus,
    State,
    Window,
)
from meshwatch.settings import Settings
from meshwatch.store import ActionPlan, ActionState, Store, make_engine, upgrade
from tests.integration.test_status_page_chromium import Chromium, chromium  # noqa: F401
from tests.support import png
from tests.support.app_thread import serving

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BEGIN = NOW - timedelta(minutes=40)
SLO_ = SLO(
    service="shop",
    name="availability",
    objective=99.9,
    window=Window.rolling(timedelta(days=30)),
    sli=RatioSLI(total=Selector("envoy_cluster_upstream_rq_total")),
    mesh=MeshSource("envoy", "shop", "envoy_cluster_name"),
    remediation=RemediationPolicy(
        actuator="envoy",
        target="local_route/svc/main",
        backends=(
            Backend("v1", RatioSLI(total=Selector("v1_total"))),
            Backend("v2", RatioSLI(total=Selector("v2_total"))),
        ),
        dry_run=False,
    ),
)
MOVES = (  # minutes after BEGIN, kind, state, weights before, weights after
    (12, "shift", ActionState.APPLIED, {"v1": 50, "v2": 50}, {"v1": 90, "v2": 10}),
    (15, "hold", ActionState.REJECTED, {"v1": 90, "v2": 10}, {"v1": 90, "v2": 10}),
    (24, "restore", ActionState.APPLIED, {"v1": 90, "v2": 10}, {"v1": 70, "v2": 30}),
    (33, "rollback", ActionState.APPLIED, {"v1": 70, "v2": 30}, {"v1": 50, "v2": 50}),
)


def _status(at: datetime) -> SLOStatus:
    minute = (at - BEGIN) / timedelta(minutes=1)
    failing = 10 <= minute < 14
    burn = 40.0 if failing else 0.5
    return SLOStatus(
        slo_id=SLO_.id,
        service=SLO_.service,
        slo=SLO_.name,
        at=at,
        state=State.WARNING if failing else State.OK,
        reason="",
        objective=SLO_.target,
        period_sli=0.9995 - 0.0001 * min(minute, 14) / 14,
        budget_remaining=1.0 - 0.004 * min(minute, 14),
        throughput=20.0,
        sli={"5m": 1 - burn * SLO_.error_budget},
        burn_rate={"5m": burn},
        requests={"5m": 6000.0},
        latency={"p99": 97.9279},
        coverage=(at - BEGIN) / timedelta(days=30),
    )


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('loop') / 'meshwatch.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    store.history.save_statuses([_status(BEGIN + timedelta(seconds=30 * i)) for i in range(81)])
    for minute, kind, state, before, after in MOVES:
        at = BEGIN + timedelta(minutes=minute)
        plan = ActionPlan(
            slo_id=SLO_.id,
            target="local_route/svc/main",
            actuator="envoy",
            kind=kind,
            reason=f"{kind} for the test",
            dry_run=False,
            weights_before=before,
            weights_after=after,
        )
        store.actions.complete_action(store.actions.create_action(plan, at), state, "", at)
    app = create_app(Settings(), store=store, runtime=Runtime(slos=(SLO_,)), clock=lambda: NOW)
    with serving(app) as url:
        yield url
    store.close()


def test_the_page_shows_the_loop(
    chromium: Chromium,  # noqa: F811
    base_url: str,
    tmp_path: Path,
) -> None:
    url = f"{base_url}/slos/{SLO_.id}?range=24h"
    shot = chromium.screenshot(url, tmp_path / "loop.png", 1280, 1700)
    assert png.size(shot) == (1280, 1700) and shot.stat().st_size > 30_000
    dom = chromium.dom(url)
    weights = dom[dom.index('data-kind="weights"') :].split("</svg>")[0]
    assert set(re.findall(r'class="weights" data-backend="(\w+)"', weights)) == {"v1", "v2"}
    kinds = re.findall(r'class="action action-(\w+)" data-kind="\w+"', weights)
    assert kinds == ["shift", "hold", "restore", "rollback"]
    assert 'data-kind="hold" data-at' in weights and 'data-applied="false"' in weights
    # v2 (sorted second) steps 50 -> 10 -> 30 -> 50 %: four levels in its step line
    v2 = re.search(r'data-backend="v2" points="([^"]+)"', weights)
    assert v2 is not None
    levels = [float(p.split(",")[1]) for p in v2.group(1).split()]
    assert len(set(levels)) == 3 and levels[0] == levels[-1]
    # the charts start where the 40 minutes of data start, not 24 hours back
    budget = dom[dom.index('data-kind="budget"') :].split("</svg>")[0]
    first_label = re.findall(r">(\d{4}-\d\d-\d\d \d\d:\d\d)</text>", budget)[0]
    assert first_label == "2026-11-23 11:19"  # one 5 min step before the oldest point
    assert "40 min of 30d" in dom and "low coverage" in dom
    assert "97.9 ms" in dom and "97.9279" not in dom
