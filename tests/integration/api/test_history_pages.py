"""Raw status history is paged, never unbounded (issue 17 item 6).

`GET /api/v1/slos/{id}/history` without `step` returned every stored row: a day at 5 s is
17,280 rows (4.7 MB, 10 s per request, unauthenticated). Now a raw read returns at most
`limit` points (default 1,000) and a `Link: <...>; rel="next"` header while more remain;
following the links yields every point exactly once.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from meshwatch.model import State
from meshwatch.store import Store
from tests.integration.api.conftest import NOW, make_slo, make_status

ROWS = 2_500


def test_raw_history_is_paged_and_the_pages_cover_every_point(
    client: TestClient, store: Store
) -> None:
    slo = make_slo("checkout", "availability")
    start = NOW - timedelta(hours=6)
    store.history.save_statuses(
        [make_status(slo, State.OK, at=start + timedelta(seconds=5 * n)) for n in range(ROWS)]
    )
    path = f"/api/v1/slos/{slo.id}/history"
    first = client.get(path, params={"start": start.isoformat()})
    assert first.status_code == 200
    assert len(first.json()) == 1000
    seen = [p["at"] for p in first.json()]
    link = first.headers.get("link")
    pages = 1
    while link:
        url = link.split(">", 1)[0].lstrip("<")
        assert link.endswith('rel="next"')
        page = client.get(url)
        assert page.status_code == 200
        seen += [p["at"] for p in page.json()]
        link = page.headers.get("link")
        pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == ROWS
    assert seen == sorted(seen)


def test_limit_is_bounded(client: TestClient) -> None:
    path = "/api/v1/slos/checkout-availability/history"
    assert client.get(path, params={"limit": 10_001}).status_code == 422
    assert client.get(path, params={"limit": 10}).status_code == 200
