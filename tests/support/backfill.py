"""30 days of Istio-style history in a real Prometheus, plus a live exporter of the same families.

`History` is a deterministic traffic profile: every `step` seconds each service serves
`rps x step` requests, of which a known share fail (a base error ratio, raised during
incidents), and a fixed share lands in each latency bucket. `History.counts()` tells exactly
how many errors/requests the profile holds in a window, so tests can hold Prometheus and
meshwatch to known answers (within `increase()`'s extrapolation).

`backfill()` writes the profile as OpenMetrics text and turns it into TSDB blocks with
`promtool tsdb create-blocks-from openmetrics --max-block-duration=24h` (a duration in
seconds, not days; 30 d in a few seconds). Start Prometheus on that data directory with a
retention above the history's age (40 d), or it deletes the blocks within a minute.

`LiveExporter` serves the same metric families on 127.0.0.1 from a thread, counting from
when it started, with an error ratio that tests can change while it runs.
"""

from __future__ import annotations

import dataclasses
import http.server
import math
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from tests.support.exporter import metrics_handler
from tests.support.http_thread import ThreadedServer

REQUESTS = "istio_requests_total"
DURATION = "istio_request_duration_milliseconds"
SERVICE_LABEL = "destination_service_name"
VERSION_LABEL = "destination_version"
CODE_LABEL = "response_code"
ERROR_CODE = "503"
OK_CODE = "200"

# cumulative share of requests at or under each bucket bound (milliseconds)
LATENCY_BUCKETS: tuple[tuple[float, float], ...] = (
    (25.0, 0.50),
    (50.0, 0.80),
    (100.0, 0.95),
    (250.0, 0.99),
    (500.0, 0.995),
    (1000.0, 0.999),
)
_MEAN_LATENCY_MS = 40.0


@dataclass(frozen=True, slots=True)
class Incident:
    """A stretch of time during which a service fails `error_ratio` of its requests."""

    start: datetime
    duration: timedelta
    error_ratio: float

    def covers(self, ts: int) -> bool:
        begin = int(self.start.timestamp())
        return begin < ts <= begin + int(self.duration.total_seconds())


@dataclass(frozen=True, slots=True)
class Traffic:
    """One Istio service (destination) and its steady load."""

    service: str
    rps: float = 10.0
    error_ratio: float = 0.005
    version: str = "v1"
    incidents: tuple[Incident, ...] = ()

    def ratio_at(self, ts: int) -> float:
        for incident in self.incidents:
            if incident.covers(ts):
                return incident.error_ratio
        return self.error_ratio


@dataclass(frozen=True, slots=True)
class History:
    """`length` of samples every `step` seconds, ending at `end` (aligned down to `step`)."""

    end: datetime
    traffic: tuple[Traffic, ...]
    length: timedelta = timedelta(days=30)
    step: int = 60
    histogram_services: tuple[str, ...] = field(default=())

    @property
    def end_ts(self) -> int:
        return int(self.end.timestamp()) // self.step * self.step

    @property
    def start_ts(self) -> int:
        return self.end_ts - int(self.length.total_seconds())

    def timestamps(self) -> range:
        """Sample times; the first sample holds zero (the counters' creation)."""
        return range(self.start_ts, self.end_ts + 1, self.step)

    def increments(self, traffic: Traffic, ts: int) -> tuple[int, int]:
        """(ok, errors) served in the step that ends at `ts`."""
        if ts <= self.start_ts:
            return 0, 0
        total = round(traffic.rps * self.step)
        errors = round(total * traffic.ratio_at(ts))
        return total - errors, errors

    def counts(self, service: str, start: datetime, end: datetime) -> tuple[int, int]:
        """(errors, total) the profile served in (start, end], summed exactly step by step."""
        traffic = next(t for t in self.traffic if t.service == service)
        lo, hi = start.timestamp(), end.timestamp()
        errors = total = 0
        for ts in self.timestamps():
            if lo < ts <= hi:
                ok, bad = self.increments(traffic, ts)
                errors += bad
                total += ok + bad
        return errors, total

    def write_openmetrics(self, out: TextIO) -> None:
        """The whole profile as one OpenMetrics exposition with timestamps (seconds)."""
        out.write(f"# HELP {REQUESTS.removesuffix('_total')} Requests (synthetic history).\n")
        out.write(f"# TYPE {REQUESTS.removesuffix('_total')} counter\n")
        for traffic in self.traffic:
            for code, index in ((OK_CODE, 0), (ERROR_CODE, 1)):
                labels = labels_text(traffic, code)
                value = 0
                lines = []
                for ts in self.timestamps():
                    value += self.increments(traffic, ts)[index]
                    lines.append(f"{REQUESTS}{{{labels}}} {value} {ts}\n")
                out.writelines(lines)
        histogram = [t for t in self.traffic if t.service in self.histogram_services]
        if histogram:
            out.write(f"# HELP {DURATION} Request duration (synthetic history).\n")
            out.write(f"# TYPE {DURATION} histogram\n")
            for traffic in histogram:
                self._write_histogram(out, traffic)
        out.write("# EOF\n")

    def _write_histogram(self, out: TextIO, traffic: Traffic) -> None:
        labels = labels_text(traffic, None)
        bounds = [*(f"{b:g}" for b, _ in LATENCY_BUCKETS), "+Inf"]
        shares = [*(s for _, s in LATENCY_BUCKETS), 1.0]
        for bound, share in zip(bounds, shares, strict=True):
            value = 0
            lines = []
            for ts in self.timestamps():
                ok, bad = self.increments(traffic, ts)
                value += math.floor((ok + bad) * share)
                lines.append(f'{DURATION}_bucket{{{labels},le="{bound}"}} {value} {ts}\n')
            out.writelines(lines)
        for suffix in ("count", "sum"):
            value = 0
            lines = []
            for ts in self.timestamps():
                ok, bad = self.increments(traffic, ts)
                value += (ok + bad) * (1 if suffix == "count" else int(_MEAN_LATENCY_MS))
                lines.append(f"{DURATION}_{suffix}{{{labels}}} {value} {ts}\n")
            out.writelines(lines)


def labels_text(traffic: Traffic, code: str | None) -> str:
    """The exporter's labels of `traffic`'s series (with `code`, for the request counter)."""
    parts = [
        'reporter="destination"',
        f'{SERVICE_LABEL}="{traffic.service}"',
        f'{VERSION_LABEL}="{traffic.version}"',
    ]
    if code is not None:
        parts.append(f'{CODE_LABEL}="{code}"')
    return ",".join(parts)


def create_blocks(
    promtool: str, source: Path, data_dir: Path, *, max_block: str = "24h", timeout: float = 300
) -> None:
    """`promtool tsdb create-blocks-from openmetrics` of `source` into `data_dir`, blocks of
    at most `max_block`; RuntimeError with promtool's stderr when it fails."""
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            promtool,
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            f"--max-block-duration={max_block}",
            str(source),
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"promtool failed ({proc.returncode}): {proc.stderr[-2000:]}")


def backfill(history: History, data_dir: Path, promtool: str, workdir: Path) -> Path:
    """Write `history` as OpenMetrics, create 24 h blocks into `data_dir`; return the .om file."""
    source = workdir / "history.om"
    with source.open("w") as out:
        history.write_openmetrics(out)
    create_blocks(promtool, source, data_dir)
    return source


def default_history(now: datetime | None = None) -> History:
    """The shared fixture's profile: 30 d ending 1 h ago, an incident on day 20, one idle service.

    - checkout: 10 req/s, 0.5 % errors, 10 % errors for 2 h on day 20, latency histogram;
    - cart: 5 req/s, 1 % errors, never an incident;
    - idle: series exist but no request is ever served (Prometheus answers NaN, not `[]`).

    Samples every 2 min keep promtool at a few seconds; a 5 m window still holds two or three.
    """
    end = (now or datetime.now(UTC)) - timedelta(hours=1)
    start = end - timedelta(days=30)
    incident = Incident(start + timedelta(days=20), timedelta(hours=2), 0.10)
    return History(
        end=end,
        traffic=(
            Traffic("checkout", rps=10.0, error_ratio=0.005, incidents=(incident,)),
            Traffic("cart", rps=5.0, error_ratio=0.01),
            Traffic("idle", rps=0.0, error_ratio=0.0),
        ),
        step=120,
        histogram_services=("checkout",),
    )


# --- live exporter ----------------------------------------------------------------------


@dataclass(slots=True)
class _LiveSeries:
    traffic: Traffic
    error_ratio: float
    ok: float = 0.0
    errors: float = 0.0
    buckets: list[float] = field(default_factory=list)


class LiveExporter(ThreadedServer):
    """Istio-style counters on http://127.0.0.1:<port>/metrics, growing with wall-clock time."""

    def __init__(
        self, traffic: Sequence[Traffic], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._series = {
            t.service: _LiveSeries(t, t.error_ratio, buckets=[0.0] * (len(LATENCY_BUCKETS) + 1))
            for t in traffic
        }
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set_error_ratio(self, service: str, ratio: float) -> None:
        with self._lock:
            self._advance()
            self._series[service].error_ratio = ratio

    def set_rate(self, service: str, rps: float) -> None:
        """Serve `rps` requests/s from now on (0: the service is idle, its series stay)."""
        with self._lock:
            self._advance()
            series = self._series[service]
            series.traffic = dataclasses.replace(series.traffic, rps=rps)

    def served(self, service: str) -> tuple[float, float]:
        """(errors, requests) this exporter has served for `service` so far: the traffic
        generator's own count, to hold what meshwatch measures against."""
        with self._lock:
            self._advance()
            series = self._series[service]
            return series.errors, series.errors + series.ok

    def render(self) -> str:
        with self._lock:
            self._advance()
            return "".join(self._lines())

    def _advance(self) -> None:
        now = self._clock()
        elapsed, self._last = now - self._last, now
        shares = [*(s for _, s in LATENCY_BUCKETS), 1.0]
        for series in self._series.values():
            served = series.traffic.rps * elapsed
            series.errors += served * series.error_ratio
            series.ok += served * (1 - series.error_ratio)
            for i, share in enumerate(shares):
                series.buckets[i] += served * share

    def _lines(self) -> Iterator[str]:
        yield f"# TYPE {REQUESTS} counter\n"
        for s in self._series.values():
            yield f"{REQUESTS}{{{labels_text(s.traffic, OK_CODE)}}} {math.floor(s.ok)}\n"
            yield f"{REQUESTS}{{{labels_text(s.traffic, ERROR_CODE)}}} {math.floor(s.errors)}\n"
        yield f"# TYPE {DURATION} histogram\n"
        bounds = [*(f"{b:g}" for b, _ in LATENCY_BUCKETS), "+Inf"]
        for s in self._series.values():
            labels = labels_text(s.traffic, None)
            for bound, value in zip(bounds, s.buckets, strict=True):
                yield f'{DURATION}_bucket{{{labels},le="{bound}"}} {math.floor(value)}\n'
            yield f"{DURATION}_count{{{labels}}} {math.floor(s.buckets[-1])}\n"
            yield f"{DURATION}_sum{{{labels}}} {math.floor(s.buckets[-1] * _MEAN_LATENCY_MS)}\n"

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        return metrics_handler(self.render)
