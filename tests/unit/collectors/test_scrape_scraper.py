"""The scraper's I/O edge with httpx.MockTransport: good, failing and malformed targets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from meshwatch.collectors.scrape import Scraper, ScrapeTarget
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.model import Counts, Matcher, RatioSLI, Selector

T0 = datetime(2026, 11, 1, tzinfo=UTC)
SLI = RatioSLI(
    total=Selector("req_total", (Matcher("job", "=", "app"),)),
    bad=Selector("req_total", (Matcher("code", "=~", "5.."), Matcher("job", "=", "app"))),
)
MIN = timedelta(minutes=1)


def _handler(counter: list[int]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        n = counter[0]
        path = request.url.path
        if path == "/good":
            body = (
                "# TYPE req_total counter\n"
                f'req_total{{code="200"}} {90 * n}\nreq_total{{code="500"}} {10 * n}\n'
            )
            return httpx.Response(
                200, text=body, headers={"content-type": "text/plain; version=0.0.4"}
            )
        if path == "/om":
            body = (
                f'# TYPE req counter\nreq_total{{code="200"}} {5 * n} 1.5\n'
                'req_created{code="200"} 1.0\n# EOF\n'
            )
            return httpx.Response(
                200,
                text=body,
                headers={"content-type": "application/openmetrics-text; version=1.0.0"},
            )
        if path == "/error":
            return httpx.Response(503, text="unavailable")
        if path == "/refused":
            raise httpx.ConnectError("connection refused", request=request)
        if path == "/slow":
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(200, text='req_total{code="200" 5\n')  # malformed wanted line

    return httpx.MockTransport(handle)


def test_one_bad_target_never_stops_the_cycle_and_health_is_recorded() -> None:
    counter = [0]
    store = ScrapeStore()
    store.track_sli(SLI)
    targets = [
        ScrapeTarget("http://127.0.0.1:9000/good", job="app"),
        *(
            ScrapeTarget(f"http://127.0.0.1:9000/{p}", job="bad")
            for p in ("error", "refused", "slow", "broken")
        ),
    ]
    with httpx.Client(transport=_handler(counter)) as client:
        scraper = Scraper(store, targets, client, timeout=0.5)
        for step in range(3):
            counter[0] = step
            health = scraper.scrape_once(T0 + timedelta(seconds=step))
    assert store.counts(SLI, [MIN], T0 + timedelta(seconds=2)) == {
        MIN: Counts(errors=20.0, total=200.0)
    }
    good = health["http://127.0.0.1:9000/good"]
    assert (good.up, good.scrapes_total, good.failures_total, good.last_samples) == (True, 3, 0, 2)
    errors = {url.rsplit("/", 1)[1]: h.last_error for url, h in health.items() if not h.up}
    assert errors == {
        "error": "HTTP 503",
        "refused": "ConnectError: connection refused",
        "slow": "ReadTimeout: timed out",
        "broken": "ExpositionError: exposition line 1: not a sample line: "
        "'req_total{code=\"200\" 5'",
    }
    assert all(h.failures_total == 3 for h in health.values() if not h.up)


def test_openmetrics_responses_and_target_labels() -> None:
    counter = [0]
    total = Selector(
        "req_total", (Matcher("instance", "=", "127.0.0.1:80"), Matcher("job", "=", "om"))
    )
    store = ScrapeStore()
    store.track(total)
    with httpx.Client(transport=_handler(counter)) as client:
        scraper = Scraper(store, [ScrapeTarget("http://127.0.0.1/om", job="om")], client)
        for step in range(2):
            counter[0] = step
            scraper.scrape_once(T0 + timedelta(seconds=step))
    assert store.increase(total, MIN, T0 + timedelta(seconds=1)) == 5.0


def test_health_is_kept_per_target() -> None:
    """What `serve` exports as meshwatch_scrape_failures_total{target} (api/metrics.py)."""
    counter = [1]
    store = ScrapeStore()
    store.track_sli(SLI)
    good, bad = "http://127.0.0.1:9000/good", "http://127.0.0.1:9000/error"
    with httpx.Client(transport=_handler(counter)) as client:
        scraper = Scraper(store, [ScrapeTarget(good, job="app"), ScrapeTarget(bad)], client)
        scraper.scrape_once(T0)
    health = scraper.health()
    assert (health[good].up, health[good].scrapes_total, health[good].failures_total) == (
        True,
        1,
        0,
    )
    assert health[good].job == "app" and health[good].last_success == T0
    assert (health[bad].up, health[bad].scrapes_total, health[bad].failures_total) == (
        False,
        1,
        1,
    )
    assert health[bad].job == "meshwatch-scrape" and health[bad].last_error


def test_no_targets_is_a_no_op() -> None:
    with httpx.Client(transport=_handler([0])) as client:
        assert Scraper(ScrapeStore(), [], client).scrape_once(T0) == {}


def test_oversized_bodies_and_invalid_urls_are_target_failures() -> None:
    big = httpx.MockTransport(lambda request: httpx.Response(200, text="req_total 1\n" * 1000))
    store = ScrapeStore()
    store.track(Selector("req_total"))
    targets = [ScrapeTarget("http://127.0.0.1:9000/big"), ScrapeTarget("http://[::1/metrics")]
    with httpx.Client(transport=big) as client:
        health = Scraper(store, targets, client, max_bytes=1000).scrape_once(T0)
    assert health["http://127.0.0.1:9000/big"].last_error == "exposition larger than 1000 bytes"
    assert health["http://[::1/metrics"].last_error.startswith("InvalidURL")
