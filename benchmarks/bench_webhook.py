"""`webhook`: Alertmanager webhook ingestion by a real `meshwatch serve`, SQLite and PostgreSQL.

Load: `WORKERS` (16) concurrent clients (one keep-alive connection each, coroutines of one
asyncio loop writing raw HTTP/1.1: `benchmarks.webhook_client`, cheap enough to leave the
server the CPU it needs on two shared cores; the client's own CPU per alert is reported),
each POSTing version-4 payloads of 1 alert (what Alertmanager sends for many small groups;
the goal case) and then of 10 alerts (one larger group) with unique fingerprints to
http://127.0.0.1:<port>/api/v1/alerts/alertmanager for `SECONDS` seconds, after a short
warm-up. The server is a real `python -m meshwatch serve` subprocess (uvicorn, one process,
bearer token, migrated store).

value    = acknowledged (2xx) alerts per second; params: p50_ms / p99_ms per delivery,
           sent / acknowledged / stored alerts; `stored` counts the acknowledged fingerprints
           found in the database afterwards and must equal `acknowledged` (nothing lost).
baseline = the same load, same client, against a trivial FastAPI app served by uvicorn the same
           way that validates the same payload model and stores nothing (the cost of
           the HTTP stack and validation alone). ratio = value / baseline: the share of the
           bare stack's throughput left after auth and the commit. `serve` handles a valid
           delivery inside its HTTP protocol (`api/front_door.py`, `api/door_webhook.py`:
           no ASGI task, no framework, validation straight from bytes), so the ratio can
           pass 1. `server_cpu_ms_per_alert` (and its baseline) is the figure a loaded
           machine distorts least; `client_cpu_ms_per_alert` is the load client's.

With 16 clients each waiting for its answer, throughput is at most 16 / latency, and a
latency holds at least one commit (an fsync on SQLite, the WAL flush behind one round trip
on PostgreSQL): 2,000/s needs commit + turnaround <= 8 ms. The machine's fsync (1-4 ms median,
up to 10 ms p90 when shared; `fsync_ms_p50`/`_p90`, measured after each run) and its run queue
decide much of that; the server's part is its CPU
per alert (times 16 per commit) and the batching (`store.alert_ingest`: one commit for the
clients the last one answered).

Goal (DESIGN.md): >= 2,000 acknowledged alerts/s with one alert per delivery from 16 clients,
p99 < 50 ms, 0 lost; `goal_met` is reported on every line, the 10-alert lines for comparison.
Concurrent deliveries share one transaction (the store's group commit), so one fsync serves
many acknowledgements.

Environment knobs: MESHWATCH_BENCH_WEBHOOK_SECONDS (default 10), ..._WORKERS (16),
..._ALERTS (comma-separated alerts per delivery, default "1,10"). PostgreSQL is a fresh
database on 127.0.0.1:5432, created and dropped by the run; it is skipped with a note in
params when the server is unreachable.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import select

from benchmarks.result import Result
from benchmarks.webhook_client import burst
from meshwatch.api.alertmanager import AlertmanagerWebhook
from meshwatch.store import make_engine
from meshwatch.store.tables import AlertRow
from tests.support.burst import BurstResult, percentile
from tests.support.postgres import PostgresUnavailable, fresh_database
from tests.support.serve import TOKEN, WEBHOOK_PATH, ServeProcess

ROOT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("MESHWATCH_BENCH_WEBHOOK_SECONDS", "10"))
WORKERS = int(os.environ.get("MESHWATCH_BENCH_WEBHOOK_WORKERS", "16"))
ALERTS_PER_DELIVERY = tuple(
    int(n) for n in os.environ.get("MESHWATCH_BENCH_WEBHOOK_ALERTS", "1,10").split(",")
)
GOAL_ALERTS_PER_S = 2000
GOAL_P99_MS = 50
WARMUP_SECONDS = 1.0


def baseline_app() -> FastAPI:
    """The bare stack: same framework, server and payload model; no auth, no store."""
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(WEBHOOK_PATH)
    def accept(payload: AlertmanagerWebhook) -> dict[str, int]:
        return {"received": len(payload.alerts), "new": len(payload.alerts)}

    return app


class BaselineProcess(ServeProcess):
    """`uvicorn --factory benchmarks.bench_webhook:baseline_app`, started like meshwatch serve."""

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "benchmarks.bench_webhook:baseline_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load(server: ServeProcess, prefix: str, alerts: int) -> BurstResult:
    token = server.token or ""
    common = {"token": token, "workers": WORKERS, "alerts": alerts}
    burst(server.port, duration=WARMUP_SECONDS, prefix=f"w{prefix}", **common)  # type: ignore[arg-type]
    cpu_before, client_before = _cpu_seconds(server.pid), _client_cpu_seconds()
    result = burst(server.port, duration=SECONDS, prefix=prefix, **common)  # type: ignore[arg-type]
    server.cpu_seconds = _cpu_seconds(server.pid) - cpu_before  # type: ignore[attr-defined]
    server.client_cpu_seconds = _client_cpu_seconds() - client_before  # type: ignore[attr-defined]
    return result


def _fsync_ms(workdir: Path, samples: int = 50) -> dict[str, float]:
    """This disk's fsync latency right after the run (ms): the floor of every commit."""
    path = workdir / "fsync-probe"
    times = []
    with path.open("wb") as probe:
        for _ in range(samples):
            probe.write(b"x" * 4096)
            probe.flush()
            began = time.perf_counter()
            os.fsync(probe.fileno())
            times.append((time.perf_counter() - began) * 1000)
    path.unlink()
    return {
        "fsync_ms_p50": round(percentile(times, 50), 2),
        "fsync_ms_p90": round(percentile(times, 90), 2),
    }


def _stored(url: str, fingerprints: set[str]) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            stored = set(conn.execute(select(AlertRow.fingerprint)).scalars())
    finally:
        engine.dispose()
    return len(fingerprints & stored)


def _summary(result: BurstResult, server: ServeProcess) -> dict[str, float | int]:
    latencies = [d.seconds * 1000 for d in result.acknowledged] or [float("nan")]
    acknowledged = len(result.acknowledged_fingerprints())
    cpu_seconds: float = server.cpu_seconds  # type: ignore[attr-defined]
    client_seconds: float = server.client_cpu_seconds  # type: ignore[attr-defined]
    return {
        "client_cpu_ms_per_alert": round(1000 * client_seconds / max(acknowledged, 1), 4),
        # Server CPU per acknowledged alert: what the machine's load cannot distort much.
        "server_cpu_ms_per_alert": round(1000 * cpu_seconds / max(acknowledged, 1), 4),
        "alerts_per_server_cpu_s": round(acknowledged / cpu_seconds, 1) if cpu_seconds else 0,
        "alerts_per_s": acknowledged / result.elapsed,
        "p50_ms": round(percentile(latencies, 50), 3),
        "p99_ms": round(percentile(latencies, 99), 3),
        "mean_ms": round(statistics.fmean(latencies), 3),
        "sent": len(result.sent_fingerprints()),
        "acknowledged": acknowledged,
        "deliveries": len(result.deliveries),
        "failed_deliveries": len(result.deliveries) - len(result.acknowledged),
    }


@contextmanager
def _database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'meshwatch.db'}"
    else:
        with fresh_database("bench") as url:
            yield url


def _measure(kind: str, workdir: Path, alerts: int, baseline: dict[str, float | int]) -> Result:
    params: dict[str, object] = {
        "store": kind,
        "seconds": SECONDS,
        "workers": WORKERS,
        "alerts_per_delivery": alerts,
    }
    try:
        with _database(kind, workdir) as url:
            config = {"database_url": url}
            serve_dir = workdir / f"{kind}-{alerts}"
            with ServeProcess(serve_dir, config=config, log_level="warning") as server:
                result = _load(server, prefix=f"{kind[:2]}{alerts}", alerts=alerts)
            measured = _summary(result, server)
            stored = _stored(url, result.acknowledged_fingerprints())
    except PostgresUnavailable as exc:
        params["skipped"] = str(exc)
        return Result("webhook", 0.0, "alerts/s", "fastapi-no-store", 1.0, True, params)
    acknowledged = int(measured["acknowledged"])
    params.update({k: v for k, v in measured.items() if k != "alerts_per_s"})
    params.update(
        stored=stored,
        lost=acknowledged - stored,
        baseline_p50_ms=baseline["p50_ms"],
        baseline_alerts_per_server_cpu_s=baseline["alerts_per_server_cpu_s"],
        baseline_server_cpu_ms_per_alert=baseline["server_cpu_ms_per_alert"],
        # > 1: meshwatch spends less server CPU per acknowledged alert than the bare stack
        cpu_ratio=round(
            float(baseline["server_cpu_ms_per_alert"])
            / max(float(measured["server_cpu_ms_per_alert"]), 1e-9),
            3,
        ),
        baseline_p99_ms=baseline["p99_ms"],
        cpus=os.cpu_count(),
        **_fsync_ms(workdir),
        load_average_1m=round(os.getloadavg()[0], 2),
        goal=f"alerts/s >= {GOAL_ALERTS_PER_S} and p99_ms < {GOAL_P99_MS} and lost == 0",
        goal_met=float(measured["alerts_per_s"]) >= GOAL_ALERTS_PER_S
        and float(measured["p99_ms"]) < GOAL_P99_MS
        and acknowledged == stored,
    )
    return Result(
        "webhook",
        float(measured["alerts_per_s"]),
        "alerts/s",
        "fastapi-no-store",
        float(baseline["alerts_per_s"]),
        True,
        params,
    )


def run() -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="meshwatch-bench-webhook-") as tmp:
        workdir = Path(tmp)
        env = {"PYTHONPATH": str(ROOT)}
        results = []
        for alerts in ALERTS_PER_DELIVERY:
            with BaselineProcess(workdir / f"baseline-{alerts}", token=TOKEN, env=env) as bare:
                loaded = _load(bare, prefix=f"ba{alerts}", alerts=alerts)
                baseline = _summary(loaded, bare)
            results += [
                _measure(kind, workdir, alerts, baseline) for kind in ("sqlite", "postgresql")
            ]
        return results
