"""The embedded scraper: fetch `/metrics` targets, parse the wanted families, feed the store.

I/O edge of the embedded engine. The scheduler calls `Scraper.scrape_once(now)` every scrape
interval; nothing runs on its own and no thread outlives a call. Targets are fetched
concurrently with the injected `httpx.Client` (tests pass one built on `httpx.MockTransport`
or talk to a local server); each is parsed for `store.wanted` only and fed to the store with
`job`/`instance` labels, as Prometheus would add them. A failing target (connection refused,
timeout, non-2xx status, malformed wanted line) is recorded in its `TargetHealth` and logged;
it never stops the cycle for the other targets.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

import httpx

from meshwatch.collectors.exposition import Sample, parse_wanted
from meshwatch.collectors.exposition_proto import CONTENT_TYPE as PROTOBUF
from meshwatch.collectors.exposition_proto import is_native_name, parse_wanted_proto
from meshwatch.collectors.scrape_store import ScrapeStore

log = logging.getLogger(__name__)

ACCEPT = "text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1"
# when an SLO follows a native histogram: only the protobuf exposition carries those
ACCEPT_NATIVE = (
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;"
    "q=1,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


@dataclass(frozen=True, slots=True)
class ScrapeTarget:
    """One `/metrics` endpoint, e.g. `http://127.0.0.1:15000/stats/prometheus` (Envoy admin)."""

    url: str
    job: str = "meshwatch-scrape"

    @property
    def instance(self) -> str:
        """`host:port`, the `instance` label Prometheus would give this target."""
        url = httpx.URL(self.url)
        port = url.port or (443 if url.scheme == "https" else 80)
        return f"{url.host}:{port}"


@dataclass(frozen=True, slots=True)
class TargetHealth:
    """How scraping one target goes, for meshwatch's own /metrics and the API."""

    url: str
    job: str
    up: bool = False
    scrapes_total: int = 0
    failures_total: int = 0
    last_scrape: datetime | None = None
    last_success: datetime | None = None
    last_error: str = ""
    last_duration_seconds: float = 0.0
    last_samples: int = 0


@dataclass(frozen=True, slots=True)
class _Fetched:
    text: str
    openmetrics: bool
    seconds: float
    protobuf: bytes | None = None  # the body, when the target answered in protobuf

    def samples(self, wanted: frozenset[str]) -> list[Sample]:
        if self.protobuf is not None:
            return parse_wanted_proto(self.protobuf, wanted)
        return parse_wanted(self.text, wanted, openmetrics=self.openmetrics)


class Scraper:
    """Scrapes `targets` into `store` when asked; keeps per-target health."""

    def __init__(
        self,
        store: ScrapeStore,
        targets: Sequence[ScrapeTarget],
        client: httpx.Client,
        *,
        timeout: float = 5.0,
        max_workers: int = 8,
        max_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self._store = store
        self._targets = tuple(targets)
        self._client = client
        self._timeout = timeout  # seconds for the whole fetch, body included
        self._max_bytes = max_bytes
        self._max_workers = max(1, min(max_workers, len(self._targets)))
        self._health = {t.url: TargetHealth(url=t.url, job=t.job) for t in self._targets}
        self._native = False  # whether this cycle asks for the protobuf exposition

    def scrape_once(self, now: datetime) -> Mapping[str, TargetHealth]:
        """Scrape every target once; samples are stamped `now` (UTC-aware). Never raises."""
        if not self._targets:
            return {}
        wanted = self._store.wanted
        self._native = any(is_native_name(name) for name in wanted)
        with ThreadPoolExecutor(self._max_workers, thread_name_prefix="meshwatch-scrape") as pool:
            fetched = list(pool.map(self._fetch, self._targets))
        for target, result in zip(self._targets, fetched, strict=True):
            if isinstance(result, str):
                self._failed(target, now, result)
                continue
            try:
                samples = result.samples(wanted)
                self._store.observe(
                    target.url, samples, now, {"job": target.job, "instance": target.instance}
                )
            except Exception as error:  # one target's bad exposition must not stop the cycle
                self._failed(target, now, f"{type(error).__name__}: {error}")
                continue
            health = self._health[target.url]
            self._health[target.url] = replace(
                health,
                up=True,
                scrapes_total=health.scrapes_total + 1,
                last_scrape=now,
                last_success=now,
                last_error="",
                last_duration_seconds=result.seconds,
                last_samples=len(samples),
            )
        return self.health()

    def _fetch(self, target: ScrapeTarget) -> _Fetched | str:
        """The exposition text, or why it could not be had (never raises)."""
        try:
            return self._get(target)
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"
        except Exception as error:  # e.g. httpx.InvalidURL: a bad target, not a bad cycle
            log.exception("unexpected error scraping %s", target.url)
            return f"{type(error).__name__}: {error}"

    def _get(self, target: ScrapeTarget) -> _Fetched | str:
        started = time.perf_counter()
        headers = {"Accept": ACCEPT_NATIVE if self._native else ACCEPT}
        with self._client.stream("GET", target.url, headers=headers, timeout=self._timeout) as resp:
            if resp.status_code != httpx.codes.OK:
                return f"HTTP {resp.status_code}"
            chunks, size = [], 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > self._max_bytes:
                    return f"exposition larger than {self._max_bytes} bytes"
                if time.perf_counter() - started > self._timeout:
                    return f"scrape took longer than {self._timeout:g} s"
                chunks.append(chunk)
            encoding = resp.encoding or "utf-8"
            content_type = resp.headers.get("content-type", "")
        if content_type.startswith(PROTOBUF.split(";", 1)[0]):
            body = b"".join(chunks)
            return _Fetched("", False, time.perf_counter() - started, protobuf=body)
        try:
            text = b"".join(chunks).decode(encoding)
        except (UnicodeDecodeError, LookupError) as error:
            return f"undecodable body: {error}"
        openmetrics = content_type.startswith("application/openmetrics-text")
        return _Fetched(text, openmetrics, time.perf_counter() - started)

    def _failed(self, target: ScrapeTarget, now: datetime, error: str) -> None:
        log.warning("scrape of %s failed: %s", target.url, error)
        health = self._health[target.url]
        self._health[target.url] = replace(
            health,
            up=False,
            scrapes_total=health.scrapes_total + 1,
            failures_total=health.failures_total + 1,
            last_scrape=now,
            last_error=error,
            last_samples=0,
        )

    def health(self) -> Mapping[str, TargetHealth]:
        """Health per target URL."""
        return dict(self._health)
