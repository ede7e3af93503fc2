"""The SLO page of a remediated SLO shows the loop, in a real headless Chromium (item 13).

A remediated SLO with 40 minutes of history (evaluated every 30 s, coverage as the engine
measures it) and the audit log of one incident: shift (applied), hold (rejected), restore
(applied), rollback (applied). The page must draw the route weights as step lines with
every action marked, start its charts where the data starts (not 7 days back, with 40
minutes squeezed against the right edge) and say how little data the period figures rest
on. The old page had no weights chart and drew the 7 d range whatever the data.
Each backend's SLI and burn rate over time come from the stored backend history (what the
loop measured each cycle): v2 fails half its requests for five minutes, v1 stays healthy;
the page draws one line per backend and window and marks v2's points past the objective and
the loop's factor, and the API answers the same counts.
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
    Counts,
    MeshSource,
    RatioSLI,
    RemediationPolicy,
    Selector,
    SLOStatus,
    State,
    Window,
)
from meshwatch.settings import Settings
from meshwatch.store import (
    ActionPlan,
    ActionState,
    BackendPoint,
    Store,
    make_engine,
    upgrade,
)
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


def _backends(at: datetime) -> list[BackendPoint]:
    """v2 fails half its requests from minute 10 to 15.5 (1m window; the 5m one lags)."""
    minute = (at - BEGIN) / timedelta(minutes=1)
    points = []
    for backend in ("v1", "v2"):
        failing = backend == "v2" and 10 <= minute < 15.5
        counts = {"1m": Counts(300.0 if failing else 0.0, 600.0)}
        counts["5m"] = Counts(1500.0 if failing else 1.0, 3000.0)
        points.append(BackendPoint(SLO_.id, backend, at, counts))
    return points


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('loop') / 'meshwatch.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    for i in range(81):
        at = BEGIN + timedelta(seconds=30 * i)
        store.save_cycle([_status(at)], [], at, backends=_backends(at))
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
    # each backend's SLI (1m) and burn rate (1m solid, 5m dashed), from backend history
    sli = dom[dom.index('data-kind="backend-sli"') :].split("</svg>")[0]
    lines = re.findall(r'class="backend-line" data-backend="(\w+)" data-window="(\w+)"', sli)
    assert set(lines) == {("v1", "1m"), ("v2", "1m")}
    bad = set(re.findall(r'class="pt bad" data-backend="(\w+)"', sli))
    assert bad == {"v2"}  # 50 % errors is far below 99.9 %; v1 never is
    burn = dom[dom.index('data-kind="backend-burn"') :].split("</svg>")[0]
    lines = re.findall(r'class="backend-line" data-backend="(\w+)" data-window="(\w+)"', burn)
    assert set(lines) == {("v1", "1m"), ("v1", "5m"), ("v2", "1m"), ("v2", "5m")}
    values = {
        (b, w, round(float(v), 6))
        for b, w, v in re.findall(
            r'class="pt bad" data-backend="(\w+)" data-window="(\w+)"[^>]*data-value="([^"]+)"',
            burn,
        )
    }
    assert values == {("v2", "1m", 500.0), ("v2", "5m", 500.0)}  # 0.5 / 0.001, past 14.4x
    assert "acts at 14.4x" in burn
    # 8 five-minute buckets of 40 minutes per line (the last point of each)
    assert len(re.findall(r'data-backend="v1" data-window="1m" cx', sli)) == 9


def test_the_api_answers_each_backends_counts(base_url: str) -> None:
    import httpx

    start, end = BEGIN.isoformat(), (NOW + timedelta(seconds=1)).isoformat()
    answer = httpx.get(
        f"{base_url}/api/v1/slos/{SLO_.id}/backends/history",
        params={"start": start, "end": end},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["target"] == "local_route/svc/main" and body["windows"] == ["1m", "5m"]
    assert body["factor"] == 14.4 and body["objective"] == SLO_.target
    series = {b["backend"]: b["points"] for b in body["backends"]}
    assert sorted(series) == ["v1", "v2"] and len(series["v2"]) == 81
    failing = series["v2"][21]  # minute 10.5
    assert failing["windows"]["1m"] == {
        "requests": 600.0,
        "errors": 300.0,
        "sli": 0.5,
        "burn_rate": pytest.approx(500.0),
    }
    assert series["v1"][21]["windows"]["1m"]["burn_rate"] == 0.0
    stepped = httpx.get(
        f"{base_url}/api/v1/slos/{SLO_.id}/backends/history",
        params={"start": start, "end": end, "step": 300},
    ).json()
    assert [p["samples"] for p in stepped["backends"][0]["points"]] == [10] * 8 + [1]
    missing = httpx.get(f"{base_url}/api/v1/slos/nope/backends/history")
    assert missing.status_code == 404
    backwards = httpx.get(
        f"{base_url}/api/v1/slos/{SLO_.id}/backends/history", params={"start": end, "end": start}
    )
    assert backwards.status_code == 422
